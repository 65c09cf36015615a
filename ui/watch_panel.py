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


def note_html(stream, watching: dict | None = None) -> str:
    """What changed in each changed watch (the latest change), or what was just watched."""
    from ui.markup import esc

    try:
        changed = [w for w in stream.watches.all() if w["changed"] and w["history"]]
    except NewsragError:
        return ""
    items = "".join(f"<li><b>{esc(w['question'])}</b>: {esc('; '.join(w['history'][-1]['changes']))}</li>"
                    for w in changed)
    if items:
        return f'<ul class="nr-watch-changes">{items}</ul>'
    if watching is not None:
        return f'<div class="nr-watch-note">Watching “{esc(watching["question"])}”: no change yet.</div>'
    return ""


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
    # the list is a list of buttons: nothing stays selected, so a watch can be opened again
    def refresh(current):
        return gr.update(choices=choices(stream), value=None), note_html(stream)

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
        return gr.update(choices=choices(stream), value=None), note_html(stream, w)

    def open_watch(wid):
        """Ask a watched question again (its new answer in the chat) and mark its change seen."""
        try:
            w = stream.watches.seen(wid)
            text = note_html(stream)
        except NewsragError as exc:
            raise user_error(exc) from exc
        return (*take(w["question"]), gr.update(choices=choices(stream), value=None), text)

    timer.tick(refresh, listing, [listing, note], queue=False, **PRIVATE)
    watch_btn.click(watch, stored_state, [listing, note], **PRIVATE)
    answering.append(listing.input(open_watch, listing, [pending, question, *busy, listing, note], queue=False,
                                   **PRIVATE).then(**answer_it))
