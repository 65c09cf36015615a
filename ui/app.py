"""The Gradio chat: conversations in a sidebar, the cited answer streaming in beside its sources,
stop / regenerate / edit-and-resend, Markdown export; and the Library tab (``ui.library_tab``).

Only rendering and wiring live here: answering is ``Pipeline.stream``, HTML comes from
``ui.views`` / ``ui.sources``, the stored conversations are ``ui.conversations`` (kept in the
browser's localStorage through ``gr.BrowserState``, encrypted). Each exchange stores the question,
``Answer.to_dict()`` and the passages around its citations, so the chat and its citations come back
after a page reload without asking the index again.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

import gradio as gr

from index.errors import EmptyIndexError, NewsragError, StoreUnavailableError
from rag.answerers import ANSWERERS, DESCRIPTIONS
from rag.errors import LLMError
from rag.filters import make_filters
from rag.pipeline import Pipeline
from rag.types import Answer, Turn
from ui import conversations as convs
from ui import examples, export, library_tab, sources, views
from ui.jobs import Jobs
from ui.markup import user_error
from ui.settings import ServeSettings

log = logging.getLogger("newsrag.ui")

HISTORY_TURNS = 6  # earlier exchanges passed to the pipeline for follow-ups
CSS_PATH = Path(__file__).with_name("static") / "app.css"
# the export's one-time address, fetched as a download (nothing about the conversation is on disk)
DOWNLOAD_JS = ("(url) => { if (!url) return; const a = document.createElement('a'); a.href = url; "
               "a.download = ''; document.body.append(a); a.click(); a.remove(); }")
PRIVATE = {"api_visibility": "private"}
WIDE = 1024  # px: the conversations sidebar starts open, and the question box focused, on screens this wide
EXAMPLES = 3  # example question buttons (hidden when there are fewer questions)
# Runs once in the browser when the page loads. On a wide screen the sidebar opens and the question
# box takes the focus (without scrolling: a phone opens at the top, its keyboard closed). The chat
# keeps the newest question at the top of its panel and in the window, so an answer reads from its
# first line as it streams in (Gradio's own scrolling to the end is off). Each message is labelled
# for screen readers by its text (Gradio labels it with its raw HTML).
CLIENT_JS = rf"""() => {{
  if (window.innerWidth >= {WIDE}) {{
    document.querySelector('#nr-sidebar:not(.open) .toggle-button')?.click();
    document.querySelector('#nr-question textarea')?.focus({{preventScroll: true}});
  }}
  const chat = document.querySelector('#nr-chat');
  if (!chat) return;
  let questions = 0, pending = false;
  const label = (e) => (e.closest('.message').classList.contains('user') ? 'Question: ' : 'Answer: ')
      + e.innerText.replace(/\s+/g, ' ').trim().slice(0, 400);
  const tidy = () => {{
    pending = false;
    chat.querySelectorAll('.message [aria-label]:not(button), .message[aria-label]').forEach((e) => {{
      const want = label(e);
      if (e.getAttribute('aria-label') !== want) e.setAttribute('aria-label', want);
    }});
    // the upload area's label hides its visible text ("Drop File Here - or - Click to Upload")
    document.querySelectorAll('.upload-container[aria-label]').forEach((e) => e.removeAttribute('aria-label'));
    const rows = chat.querySelectorAll('.message-row.user-row');
    if (rows.length !== questions) {{
      questions = rows.length;
      const row = rows[rows.length - 1];
      const panel = chat.querySelector('.panel-wrap');
      if (row && panel) {{
        panel.scrollTop += row.getBoundingClientRect().top - panel.getBoundingClientRect().top - 8;
        const top = row.getBoundingClientRect().top;
        if (top < 0 || top > window.innerHeight * 0.6) window.scrollBy(0, top - 12);
      }}
    }}
  }};
  new MutationObserver(() => {{ if (!pending) {{ pending = true; requestAnimationFrame(tidy); }} }})
    .observe(document.body, {{childList: true, subtree: true, characterData: true, attributes: true,
                             attributeFilter: ['aria-label']}});
}}"""
# Writes the chat's filters into the page address, so a reload or a shared link keeps them.
URL_JS = """(outlets, since, until) => {
  const url = new URL(window.location.href);
  for (const key of ['source', 'since', 'until']) url.searchParams.delete(key);
  for (const name of outlets || []) url.searchParams.append('source', name);
  if ((since || '').trim()) url.searchParams.set('since', since.trim());
  if ((until || '').trim()) url.searchParams.set('until', until.trim());
  if (url.href !== window.location.href) window.history.replaceState(window.history.state, '', url.href);
}"""
# The chips of the active filters, drawn in the browser from the filter inputs as they change (a
# server round trip could answer after a later change and show stale chips); labels as
# ``views.filter_labels`` writes them in an answer's footer.
CHIPS_VALUE_JS = """(outlets, since, until) => ({chips: [
  ...(outlets || []).map((name) => ({kind: 'source', value: name, label: `Outlet: ${name}`})),
  ...((since || '').trim() ? [{kind: 'since', value: since.trim(), label: `From ${since.trim()}`}] : []),
  ...((until || '').trim() ? [{kind: 'until', value: until.trim(), label: `Until ${until.trim()}`}] : []),
]})"""
CHIPS_TEMPLATE = (
    '{{#if value.chips.length}}<div class="nr-chips" role="group" aria-label="Active filters">'
    '<span class="nr-chips-head">Only articles:</span>{{#each value.chips}}<span class="nr-chip">{{this.label}}'
    '<button type="button" class="nr-chip-x" data-kind="{{this.kind}}" data-value="{{this.value}}" '
    'aria-label="Remove the filter {{this.label}}" title="Remove this filter">×</button></span>{{/each}}</div>'
    "{{/if}}")
# A click on a filter chip's button asks the server to remove that filter.
CHIPS_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('.nr-chip-x');
  if (button) trigger('click', {kind: button.dataset.kind, value: button.dataset.value});
});
"""


def theme() -> gr.themes.Base:
    """System fonts; text and buttons dark enough for WCAG AA contrast (4.5:1), which the default
    theme's subdued grey and primary blue are not (axe-core, tests/test_ui_browser.py)."""
    system = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"]
    return gr.themes.Default(primary_hue="blue", neutral_hue="slate", font=system,
                             font_mono=["ui-monospace", "SFMono-Regular", "monospace"]).set(
        body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300",
        color_accent="*primary_700",
        link_text_color="*primary_700", link_text_color_dark="*primary_300",
        button_primary_background_fill="*primary_700", button_primary_background_fill_dark="*primary_600",
        button_primary_background_fill_hover="*primary_800", button_primary_background_fill_hover_dark="*primary_700",
        button_cancel_background_fill="#b91c1c", button_cancel_background_fill_hover="#991b1b")


def passages_for(pipeline: Pipeline, answer: Answer) -> dict[str, dict]:
    """The text around each cited sentence (from its chunk), trimmed, keyed by ``str(n)``."""
    try:
        chunks = pipeline.library.chunks(sorted({c.location.chunk_id for c in answer.citations}))
    except NewsragError:
        return {}  # the cards fall back to the quote alone
    found = {}
    for c in answer.citations:
        chunk = chunks.get(c.location.chunk_id)
        if chunk is None:
            continue
        lo = max(chunk.start, c.location.start - sources.CONTEXT_CHARS - 1)
        hi = min(chunk.end, c.location.end + sources.CONTEXT_CHARS + 1)
        text = chunk.body_text[lo - chunk.start:hi - chunk.start]
        found[str(c.n)] = {"start": lo, "text": text}
    return found


def mode_html(mode: str) -> str:
    return (f'<div class="nr-mode">Answering mode: <b>{views.esc(mode)}</b> — '
            f'{views.esc(DESCRIPTIONS.get(mode, ""))}</div>')


def for_people(exc: Exception) -> str:
    """An error as the person at the chat needs it: what happened and what they can do."""
    if isinstance(exc, EmptyIndexError):
        return "The library is empty: add articles in the Library tab, then ask again."
    if isinstance(exc, StoreUnavailableError):
        return f"The article store cannot be reached right now; try again in a moment. ({exc})"
    if isinstance(exc, LLMError):
        return (f"The language model did not answer ({exc}). Choose the extractive mode under Settings "
                "to answer without it.")
    if isinstance(exc, NewsragError):
        return str(exc)
    return (f"Something went wrong on the server while answering ({type(exc).__name__}: {exc}); "
            "the server log has the details.")


def base_url(request: gr.Request | None) -> str | None:
    inner = getattr(request, "request", None)
    return str(inner.base_url) if inner is not None and hasattr(inner, "base_url") else None


def content_of(message: dict | None) -> str:
    """A chat message's content as one string (Gradio hands it back as a list of parts)."""
    content = (message or {}).get("content") or ""
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def question_of(message: dict | None) -> str:
    """The question a user message shows (its content is the escaped question)."""
    return html.unescape(content_of(message)).strip()


def build_blocks(*, pipeline: Pipeline, serve: ServeSettings, secret: str, jobs: Jobs,
                 exports: export.Exports, stream=None) -> gr.Blocks:
    library = pipeline.library
    default_mode = pipeline.settings.mode

    def outlet_choices() -> list[str]:
        try:
            return library.listing().outlets
        except NewsragError:
            return []

    def view(state: dict, request: gr.Request | None, panel: dict | None = None) -> tuple:
        """chatbot, sources, conversation list, name box, export button, stored state."""
        found = convs.exchanges(state)
        return (views.messages(found), sources.sources_html(panel or (found[-1] if found else None)),
                gr.update(choices=convs.choices(state), value=state["current"]),
                gr.update(value=convs.current(state)["title"] if found else ""),
                gr.update(interactive=bool(found)), state)

    def example_updates() -> list:
        """The example buttons: a question each (drawn from the library unless configured), the
        rest hidden."""
        try:
            questions = examples.examples(library, serve.examples)[:EXAMPLES]
        except NewsragError:
            questions = []
        return [gr.update(value=q, visible=True) for q in questions] + \
            [gr.update(visible=False)] * (EXAMPLES - len(questions))

    def chat_refresh() -> tuple:
        """What the chat shows of the library, after it changed: outlets to filter on, examples."""
        return gr.update(choices=outlet_choices()), *example_updates()

    def url_filters(request: gr.Request | None) -> tuple[list[str], str, str]:
        """The filters a page address carries (``?source=...&since=...&until=...``): outlets the
        library holds (by their names in it), the dates as written."""
        params = getattr(getattr(request, "request", None), "query_params", None)
        if params is None:
            return [], "", ""
        known = {o.casefold(): o for o in outlet_choices()}
        chosen = [known[n.strip().casefold()] for n in params.getlist("source") if n.strip().casefold() in known]
        return list(dict.fromkeys(chosen)), params.get("since", "")[:40], params.get("until", "")[:40]

    def restore(stored, request: gr.Request):
        try:
            state = convs.load(stored)
            shown = view(state, request)
        except (KeyError, TypeError, ValueError, AttributeError):  # stored by another version
            state = convs.load(None)
            shown = view(state, request)
        picked, first, last = url_filters(request)
        return (*shown, gr.update(choices=outlet_choices(), value=picked), first, last, *example_updates())

    def remove_filter(outlets, since, until, evt: gr.EventData):
        """A chip's button was clicked: that filter goes, the others stay."""
        kind, value = getattr(evt, "kind", None), getattr(evt, "value", None)
        if kind == "source":
            return [o for o in outlets or [] if o != value], gr.skip(), gr.skip()
        if kind == "since":
            return gr.skip(), "", gr.skip()
        if kind == "until":
            return gr.skip(), gr.skip(), ""
        return gr.skip(), gr.skip(), gr.skip()

    def respond(question, stored, mode, top_k, outlets, since, until, request: gr.Request):
        question = (question or "").strip()
        if not question:
            yield *[gr.skip()] * 6, *idle()
            raise user_error("Type a question about the articles first.")
        state = convs.load(stored)
        found = convs.exchanges(state)
        shown = views.messages(found) + [
            {"role": "user", "content": views.question_html(question)},
            {"role": "assistant", "content": views.partial_html("")}]
        yield shown, *[gr.skip()] * 7
        try:
            filters = make_filters(sources=outlets or None, since=since, until=until)
            history = [Turn.of({**e["answer"], "question": e["question"]}) for e in found[-HISTORY_TURNS:]]
            text, answer = "", None
            for event in pipeline.stream(question, history=history, mode=mode or None,
                                         top_k=int(top_k) if top_k else None, filters=filters):
                if event.kind == "delta":
                    text += event.text
                    shown[-1] = {"role": "assistant", "content": views.partial_html(text)}
                    yield shown, *[gr.skip()] * 7
                elif event.kind == "answer":
                    answer = event.answer
        except Exception as exc:  # ours, or a bug: say so in the chat, keep serving
            if not isinstance(exc, NewsragError):
                log.exception("answering %r failed", question)
            message = for_people(exc)
            shown[-1] = {"role": "assistant", "content": views.error_html(message)}
            yield shown, *[gr.skip()] * 5, *idle()
            raise user_error(message) from exc
        exchange = {"question": question, "answer": answer.to_dict(), "passages": passages_for(pipeline, answer)}
        yield *view(convs.append(state, exchange), request), *idle()

    def take(question):
        """The question leaves the box for the answer to come (the box is free for the next one)."""
        return (question or "").strip(), "", gr.update(visible=False), gr.update(visible=True)

    def idle():
        """Ask shown, Stop hidden: nothing is being answered."""
        return gr.update(visible=True), gr.update(visible=False)

    def stop(shown, pending):
        """Stopped: the partial answer stays, marked; the question goes back into the box."""
        shown = [{"role": m.get("role"), "content": content_of(m)} for m in shown or []]
        if shown and shown[-1]["role"] == "assistant":
            content = shown[-1]["content"]
            note = '<div class="nr-stopped">Stopped. Regenerate, or edit the question and ask again.</div>'
            if "nr-streaming" in content and content.endswith("</div>"):
                shown[-1] = {"role": "assistant", "content": content[:-len("</div>")] + note + "</div>"}
        return shown, pending, gr.update(visible=True), gr.update(visible=False)

    def regenerate(shown, stored, evt: gr.RetryData):
        """Ask the question of the retried answer again; it and any later exchange are dropped."""
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        shown = list(shown or [])
        at = next((i for i in range(min(index, len(shown) - 1), -1, -1) if shown[i].get("role") == "user"), None)
        if at is None:
            raise user_error("There is no question to regenerate.")
        state, _ = convs.truncate(stored, at // 2)
        return question_of(shown[at]), state, gr.update(visible=False), gr.update(visible=True)

    def edit(stored, evt: gr.EditData):
        """Ask an edited question in place of the original: it and every later exchange are replaced."""
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        state, _ = convs.truncate(stored, int(index) // 2)
        question = question_of({"content": evt.value})
        return question, state, gr.update(visible=False), gr.update(visible=True)

    def show_sources(stored, evt: gr.SelectData):
        found = convs.exchanges(convs.load(stored))
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        if isinstance(index, int) and 0 <= index // 2 < len(found):
            return sources.sources_html(found[index // 2])
        return gr.skip()

    def export_now(stored, request: gr.Request) -> str:
        """Only now, on the user's click, is the conversation written out: kept in memory for its
        one download by this session (``GET /exports/{key}``)."""
        conversation = convs.current(convs.load(stored))
        if not conversation["exchanges"]:
            raise user_error("Nothing to export yet: ask a question first.")
        text = export.conversation_markdown(conversation, base_url=base_url(request))
        key = exports.put(text, export.file_name(conversation["title"]),
                          owner=getattr(request, "username", None) if serve.auth else None)
        return f"exports/{key}"

    def new_conversation(stored, request: gr.Request):
        return view(convs.new(stored), request)

    def switch(conversation_id, stored, request: gr.Request):
        if not conversation_id:
            return (gr.skip(),) * 6
        try:
            return view(convs.select(stored, conversation_id), request)
        except NewsragError as exc:
            raise user_error(exc) from exc

    def rename(title, stored, request: gr.Request):
        try:
            return view(convs.rename(stored, title), request)
        except NewsragError as exc:
            raise user_error(exc) from exc

    def delete(stored, request: gr.Request):
        return (*view(convs.delete(stored), request), gr.update(visible=False))

    # only this browser's session: the login may be shared by several people
    login = '<a class="nr-logout" href="logout?all_session=false">Log out</a>' if serve.auth else ""
    # delete_cache: whatever Gradio keeps in its cache (under <home>/tmp, see ui.server.private_temp)
    # goes after an hour, and all of it when the server stops
    with gr.Blocks(title="newsrag", analytics_enabled=False, delete_cache=(600, 3600)) as demo:
        stored_state = gr.BrowserState({"v": convs.VERSION, "conversations": []},
                                       storage_key="newsrag-conversation", secret=secret)
        pending = gr.State("")
        with gr.Sidebar(label="Conversations", open=False, elem_id="nr-sidebar", width=280):
            new_btn = gr.Button("+ New conversation", size="sm", elem_id="nr-new")
            conversation_list = gr.Radio(choices=[], show_label=False, elem_id="nr-conversations",
                                         container=False)
            with gr.Accordion("Rename, delete, export", open=False, elem_id="nr-manage"):
                name = gr.Textbox(label="Name of this conversation", elem_id="nr-name", max_lines=1)
                with gr.Row():
                    rename_btn = gr.Button("Rename", size="sm", elem_id="nr-rename")
                    delete_btn = gr.Button("Delete", size="sm", variant="stop", elem_id="nr-delete")
                with gr.Row(visible=False, elem_id="nr-confirm-delete") as confirm_row:
                    confirm_btn = gr.Button("Delete it", size="sm", variant="stop", elem_id="nr-delete-yes")
                    keep_btn = gr.Button("Keep it", size="sm", elem_id="nr-delete-no")
                export_btn = gr.Button("Export as Markdown", size="sm", elem_id="nr-export",
                                       interactive=False)
                export_link = gr.Textbox(visible=False, elem_id="nr-export-link")
            gr.HTML('<p class="nr-side-note">Conversations are kept in this browser only.</p>', js_on_load=None)
            if stream is not None:
                from ui import watch_panel

                watches = watch_panel.build_sidebar(stream)
        with gr.Row(elem_id="nr-header"):
            gr.HTML('<div class="nr-brand"><h1>newsrag</h1><p>Ask the news articles. Every sentence is '
                    'quoted from its source; click [n] to read it in place.</p></div>', js_on_load=None,
                    min_width=300, scale=3)
            mode_badge = gr.HTML(mode_html(default_mode) + login, elem_id="nr-mode", js_on_load=None,
                                 min_width=260, scale=2)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False, elem_id="nr-chat-row"):
                with gr.Column(scale=3, min_width=320, elem_id="nr-chat-col"):
                    filter_chips = gr.HTML({"chips": []}, html_template=CHIPS_TEMPLATE, elem_id="nr-chips",
                                           js_on_load=CHIPS_JS)
                    chatbot = gr.Chatbot(elem_id="nr-chat", show_label=False, height="min(62vh, 640px)",
                                         feedback_options=None, buttons=["copy"], layout="panel",
                                         group_consecutive_messages=False, editable="user",
                                         render_markdown=False, autoscroll=False,
                                         placeholder="Ask a question about the indexed articles.")
                    with gr.Row(elem_id="nr-ask-row"):
                        question = gr.Textbox(placeholder="Ask about the articles…", label="Your question",
                                              show_label=False, scale=5, elem_id="nr-question", max_lines=4)
                        ask_btn = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="nr-ask")
                        stop_btn = gr.Button("Stop", variant="stop", scale=1, min_width=80, elem_id="nr-stop",
                                             visible=False)
                    with gr.Row(elem_id="nr-examples"):
                        example_btns = [gr.Button("", size="sm", variant="secondary", visible=False,
                                                  elem_classes=["nr-example"]) for _ in range(EXAMPLES)]
                        watch_btn = gr.Button("☆ Watch this question", size="sm", elem_id="nr-watch",
                                              visible=stream is not None)
                    with gr.Accordion("Settings: mode, passages, outlets, dates", open=False,
                                      elem_id="nr-settings"):
                        mode = gr.Dropdown(choices=[(f"{m} — {DESCRIPTIONS.get(m, '')}", m) for m in ANSWERERS],
                                           value=default_mode, label="Answering mode", elem_id="nr-mode-pick")
                        top_k = gr.Slider(1, 20, value=pipeline.settings.top_k, step=1,
                                          label="Passages given to the answerer (top-k)", elem_id="nr-top-k")
                        outlets = gr.Dropdown(choices=[], multiselect=True, label="Only these outlets",
                                              elem_id="nr-outlets")
                        with gr.Row():
                            since = gr.Textbox(label="Published on or after", placeholder="YYYY-MM-DD",
                                               elem_id="nr-since")
                            until = gr.Textbox(label="Published on or before", placeholder="YYYY-MM-DD",
                                               elem_id="nr-until")
                with gr.Column(scale=2, min_width=300, elem_id="nr-sources-col"):
                    sources_panel = gr.HTML(sources.EMPTY, elem_id="nr-sources", js_on_load=None)
            library_tab.build(library=library, serve=serve, jobs=jobs, stream=stream,
                              chat_refresh={"fn": chat_refresh, "outputs": [outlets, *example_btns]})
        gr.HTML('<div class="nr-footer-links">HTTP API: <a href="docs" target="_blank">/docs</a> · '
                'health: <a href="healthz" target="_blank">/healthz</a></div>', js_on_load=None)

        shown_outputs = [chatbot, sources_panel, conversation_list, name, export_btn, stored_state]
        demo.load(None, js=CLIENT_JS, **PRIVATE)
        demo.load(restore, [stored_state], [*shown_outputs, outlets, since, until, *example_btns], **PRIVATE)
        filter_inputs = [outlets, since, until]
        for box in filter_inputs:
            box.change(None, filter_inputs, filter_chips, js=CHIPS_VALUE_JS, queue=False, **PRIVATE)
            box.change(None, filter_inputs, None, js=URL_JS, queue=False, **PRIVATE)
        filter_chips.click(remove_filter, filter_inputs, filter_inputs, queue=False, **PRIVATE)
        settings_inputs = [stored_state, mode, top_k, outlets, since, until]
        busy = [ask_btn, stop_btn]
        answer_it = {"fn": respond, "inputs": [pending, *settings_inputs], "outputs": [*shown_outputs, *busy],
                     **PRIVATE}
        answering = []
        for trigger in (question.submit, ask_btn.click):
            answering.append(trigger(take, question, [pending, question, *busy], queue=False, **PRIVATE)
                             .then(**answer_it))
        for btn in example_btns:
            answering.append(btn.click(take, btn, [pending, question, *busy], queue=False, **PRIVATE)
                             .then(**answer_it))
        answering.append(chatbot.retry(regenerate, [chatbot, stored_state], [pending, stored_state, *busy],
                                       queue=False, **PRIVATE).then(**answer_it))
        answering.append(chatbot.edit(edit, [stored_state], [pending, stored_state, *busy], queue=False,
                                      **PRIVATE).then(**answer_it))
        if stream is not None:
            watch_panel.wire(stream=stream, listing=watches[0], note=watches[1], timer=watches[2], watch_btn=watch_btn,
                             stored_state=stored_state, take=take, answer_it=answer_it, pending=pending,
                             question=question, busy=busy, answering=answering)
        # cancel first; once the answer can no longer write, mark what it had written as stopped
        stop_btn.click(None, None, None, cancels=answering, queue=False, **PRIVATE).then(
            stop, [chatbot, pending], [chatbot, question, *busy], queue=False, **PRIVATE)
        chatbot.select(show_sources, [stored_state], sources_panel, queue=False, **PRIVATE)
        new_btn.click(new_conversation, [stored_state], shown_outputs, queue=False, **PRIVATE)
        conversation_list.input(switch, [conversation_list, stored_state], shown_outputs, queue=False, **PRIVATE)
        rename_btn.click(rename, [name, stored_state], shown_outputs, queue=False, **PRIVATE)
        name.submit(rename, [name, stored_state], shown_outputs, queue=False, **PRIVATE)
        delete_btn.click(lambda: gr.update(visible=True), None, confirm_row, queue=False, **PRIVATE)
        keep_btn.click(lambda: gr.update(visible=False), None, confirm_row, queue=False, **PRIVATE)
        confirm_btn.click(delete, [stored_state], [*shown_outputs, confirm_row], queue=False, **PRIVATE)
        export_btn.click(export_now, [stored_state], export_link, queue=False, **PRIVATE).then(
            None, export_link, None, js=DOWNLOAD_JS, queue=False, **PRIVATE)
        mode.change(lambda m: mode_html(m) + login, mode, mode_badge, queue=False, **PRIVATE)
    demo.queue(default_concurrency_limit=serve.concurrency)
    return demo
