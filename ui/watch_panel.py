"""Watched questions in the chat: a "Watch this question" action under the answers, and the list
of watched questions in the sidebar, a changed one marked ● until it is opened again (asking it
shows the new answer). The watches themselves are ``rag.watches`` (``/api/watches`` is the same)."""

from __future__ import annotations

import gradio as gr

from index.errors import NewsragError
from ui import conversations as convs
from ui.markup import user_error

PRIVATE = {"api_visibility": "private"}
CHANGED = "● "


def choices(stream) -> list[tuple[str, str]]:
    out = []
    for w in stream.watches.all():
        latest = w["history"][-1] if w["history"] else None
        line = (latest or {}).get("direct") or ("not answered" if (latest or {}).get("status") == "refused" else "")
        label = f"{CHANGED if w['changed'] else ''}{w['question']}" + (f" — {line}" if line else "")
        out.append((label, w["id"]))
    return out


def note_html(stream, wid: str | None) -> str:
    from ui.markup import esc

    if not wid:
        return ""
    try:
        w = stream.watches.get(wid)
    except NewsragError:
        return ""
    latest = w["history"][-1] if w["history"] else None
    if not latest:
        return ""
    what = "; ".join(latest["changes"]) or "no change since it was watched"
    return f'<div class="nr-watch-note{" nr-watch-changed" if latest["changes"] else ""}">{esc(what)}</div>'


def build_sidebar(stream):
    """In the sidebar: the watched questions; returns (list, note, timer)."""
    with gr.Accordion("Watched questions", open=True, elem_id="nr-watches"):
        listing = gr.Radio(choices=choices(stream), show_label=False, elem_id="nr-watch-list", container=False)
        note = gr.HTML(elem_id="nr-watch-note", js_on_load=None)
        gr.HTML('<p class="nr-side-note">Answered again after every new article; ● marks a changed answer.</p>',
                js_on_load=None)
    return listing, note, gr.Timer(5.0)


def wire(*, stream, listing, note, timer, watch_btn, stored_state, take, answer_it, pending, question, busy,
         answering: list) -> None:
    def refresh(current):
        return gr.update(choices=choices(stream), value=current)

    def watch(stored):
        found = convs.exchanges(convs.load(stored))
        if not found:
            raise user_error("Ask a question first; then watch it to hear when its answer changes.")
        try:
            w = stream.watches.add(found[-1]["question"])
            if not w["history"]:
                w = stream.check(w["id"])
        except NewsragError as exc:
            raise user_error(exc) from exc
        gr.Info(f"Watching “{w['question']}”: it is answered again after every new article.")
        return gr.update(choices=choices(stream), value=w["id"]), note_html(stream, w["id"])

    def open_watch(wid):
        """Ask a watched question again (its new answer in the chat) and mark its change seen."""
        try:
            w = stream.watches.get(wid)
            text = note_html(stream, wid)
            stream.watches.seen(wid)
        except NewsragError as exc:
            raise user_error(exc) from exc
        return (*take(w["question"]), gr.update(choices=choices(stream), value=wid), text)

    timer.tick(refresh, listing, listing, queue=False, **PRIVATE)
    watch_btn.click(watch, stored_state, [listing, note], **PRIVATE)
    answering.append(listing.input(open_watch, listing, [pending, question, *busy, listing, note], queue=False,
                                   **PRIVATE).then(**answer_it))
