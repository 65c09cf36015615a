"""The Gradio chat: ask, watch the cited answer stream in, check each source; and the Library tab.

Only rendering and wiring live here: answering is ``Pipeline.stream``, uploads go through
``ui.uploads`` (shared with the API), HTML comes from ``ui.views``. Per-session state is the
conversation in ``gr.BrowserState`` (the browser's localStorage, encrypted): each exchange stores
the question, ``Answer.to_dict()`` and the passages around its citations, so the chat and its
citations come back after a page reload without asking the index again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import gradio as gr

from index.articles import SUPPORTED_SUFFIXES
from index.errors import NewsragError
from rag.answerers import ANSWERERS, DESCRIPTIONS
from rag.filters import make_filters
from rag.pipeline import Pipeline
from rag.types import Answer, Turn
from ui import uploads, views
from ui.settings import ServeSettings

log = logging.getLogger("newsrag.ui")

STATE_VERSION = 1
MAX_STORED = 30  # exchanges kept in the browser
HISTORY_TURNS = 6  # earlier exchanges passed to the pipeline for follow-ups
ARTICLE_COLUMNS = ["Title", "Outlet", "Date", "Chunks", "Id"]
CSS_PATH = Path(__file__).with_name("static") / "app.css"


def theme() -> gr.themes.Base:
    system = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"]
    return gr.themes.Default(primary_hue="blue", neutral_hue="slate", font=system,
                             font_mono=["ui-monospace", "SFMono-Regular", "monospace"])


def exchanges_of(state: object) -> list[dict]:
    """The stored exchanges, or none when the browser holds something else (an older format)."""
    if not isinstance(state, Mapping) or state.get("v") != STATE_VERSION:
        return []
    found = state.get("exchanges")
    if not isinstance(found, list):
        return []
    return [e for e in found if isinstance(e, Mapping) and isinstance(e.get("answer"), Mapping)
            and isinstance(e.get("question"), str)]


def stored(exchanges: list[dict]) -> dict:
    return {"v": STATE_VERSION, "exchanges": exchanges[-MAX_STORED:]}


def passages_for(pipeline: Pipeline, answer: Answer) -> dict[str, dict]:
    """The text around each cited sentence (from its chunk), trimmed, keyed by ``str(n)``."""
    try:
        chunks = pipeline.library.store.get_chunks(sorted({c.chunk_id for c in answer.citations}))
    except NewsragError:
        return {}  # the cards fall back to the quote alone
    found = {}
    for c in answer.citations:
        chunk = chunks.get(c.chunk_id)
        if chunk is None:
            continue
        lo = max(chunk.start, c.start - views.CONTEXT_CHARS - 1)
        hi = min(chunk.end, c.end + views.CONTEXT_CHARS + 1)
        text = chunk.body_text[lo - chunk.start:hi - chunk.start]
        found[str(c.n)] = {"start": lo, "text": text}
    return found


def user_error(exc: NewsragError) -> gr.Error:
    """Bad input, told in one line: no traceback in the server log, and the message (which can
    hold a file name) escaped, since Gradio renders it as HTML."""
    return gr.Error(views.esc(str(exc)), print_exception=False)


def mode_html(mode: str) -> str:
    return (f'<div class="nr-mode">Answering mode: <b>{views.esc(mode)}</b> — '
            f'{views.esc(DESCRIPTIONS.get(mode, ""))}</div>')


def build_blocks(*, pipeline: Pipeline, serve: ServeSettings, secret: str) -> gr.Blocks:
    library = pipeline.library
    default_mode = pipeline.settings.mode
    max_mb = library.settings.max_file_mb

    def outlet_choices() -> list[str]:
        try:
            return sorted({s for r in library.catalog().articles.values() for s in r.sources})
        except NewsragError:
            return []

    def restore(state):
        exchanges = exchanges_of(state)
        try:
            shown, panel = views.messages(exchanges), views.sources_html(exchanges[-1] if exchanges else None)
        except (KeyError, TypeError, ValueError):  # stored by another version: start afresh
            shown, panel, state = [], views.sources_html(None), stored([])
        return shown, panel, gr.update(choices=outlet_choices()), state

    def respond(question, state, mode, top_k, outlets, since, until):
        question = (question or "").strip()
        if not question:
            raise gr.Error("Type a question about the indexed articles first.", print_exception=False)
        exchanges = exchanges_of(state)
        shown = views.messages(exchanges) + [
            {"role": "user", "content": views.question_html(question)},
            {"role": "assistant", "content": views.partial_html("")}]
        yield shown, gr.skip(), gr.skip(), ""
        try:
            filters = make_filters(sources=outlets or None, since=since, until=until)
            history = [Turn.of({**e["answer"], "question": e["question"]}) for e in exchanges[-HISTORY_TURNS:]]
            text, answer = "", None
            for event in pipeline.stream(question, history=history, mode=mode or None,
                                         top_k=int(top_k) if top_k else None, filters=filters):
                if event.kind == "delta":
                    text += event.text
                    shown[-1] = {"role": "assistant", "content": views.partial_html(text)}
                    yield shown, gr.skip(), gr.skip(), gr.skip()
                elif event.kind == "answer":
                    answer = event.answer
        except NewsragError as exc:
            shown[-1] = {"role": "assistant", "content": views.error_html(str(exc))}
            yield shown, gr.skip(), gr.skip(), question
            raise user_error(exc) from exc
        except Exception as exc:  # a bug: say so, keep serving
            log.exception("answering %r failed", question)
            message = f"Internal error ({type(exc).__name__}: {exc}); the server log has the traceback."
            shown[-1] = {"role": "assistant", "content": views.error_html(message)}
            yield shown, gr.skip(), gr.skip(), question
            raise gr.Error(message) from exc
        exchange = {"question": question, "answer": answer.to_dict(), "passages": passages_for(pipeline, answer)}
        exchanges.append(exchange)
        yield views.messages(exchanges), views.sources_html(exchange), stored(exchanges), gr.skip()

    def show_sources(state, evt: gr.SelectData):
        exchanges = exchanges_of(state)
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        if isinstance(index, int) and 0 <= index // 2 < len(exchanges):
            return views.sources_html(exchanges[index // 2])
        return gr.skip()

    def library_view():
        try:
            records = library.articles()
            stats = library.stats()
        except NewsragError as exc:
            return [], gr.update(choices=[]), views.error_html(str(exc))
        rows = [[r.title, ", ".join(r.sources) or "—", views.when(r.published_at), r.n_chunks, r.id]
                for r in records]
        choices = [(f"{r.title[:80]} ({r.id})", r.id) for r in records]
        outlets = len({s for r in records for s in r.sources})
        items = [("Articles", stats["articles"]), ("Chunks", stats["chunks"]), ("Outlets", outlets),
                 ("Embedding model", stats["embed_model"]),
                 ("Chunk size", f"{stats['chunk_tokens']} word pieces, {stats['chunk_overlap']} sentence overlap"),
                 ("Store", stats["store"]), ("Collection", stats["collection"])]
        html = "".join(f"<dt>{views.esc(k)}</dt><dd>{views.esc(v)}</dd>" for k, v in items)
        return rows, gr.update(choices=choices, value=None), f'<dl class="nr-stats">{html}</dl>'

    def ingest(paths, progress=gr.Progress()):  # noqa: B008 (how Gradio asks for a progress bar)
        def tick(p):
            if p.chunks_total:
                progress((p.chunks_done, p.chunks_total), unit="chunks",
                         desc=f"Embedding: {p.articles_done}/{p.articles_total} articles")

        try:
            cache = Path(gr.utils.get_upload_folder())
            files = [uploads.from_upload_cache(p, cache=cache, max_bytes=library.settings.max_file_bytes)
                     for p in paths or []]
            report = uploads.ingest(library, files, max_files=serve.max_upload_files, progress=tick)
        except NewsragError as exc:
            raise user_error(exc) from exc
        lines = "".join(f"<li>{views.esc(f)}</li>" for f in report.failures)
        status = (f'<div class="nr-report{" nr-report-failed" if report.failures else ""}">'
                  f"{views.esc(report.summary())}{f'<ul>{lines}</ul>' if lines else ''}</div>")
        return (status, None, *library_view())

    def remove(article_id):
        if not article_id:
            raise gr.Error("Choose the article to remove first.", print_exception=False)
        try:
            record = library.remove(article_id)
        except NewsragError as exc:
            raise user_error(exc) from exc
        status = (f'<div class="nr-report">Removed “{views.esc(record.title)}” '
                  f"({record.n_chunks} chunks).</div>")
        return (status, *library_view())

    with gr.Blocks(title="newsrag", analytics_enabled=False) as demo:
        conversation = gr.BrowserState(stored([]), storage_key="newsrag-conversation", secret=secret)
        with gr.Row(elem_id="nr-header"):
            gr.HTML('<div class="nr-brand"><h1>newsrag</h1><p>Ask the news articles. Every sentence is '
                    'quoted from its source; click [n] to read it in place.</p></div>', js_on_load=None)
            mode_badge = gr.HTML(mode_html(default_mode), elem_id="nr-mode", js_on_load=None)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(elem_id="nr-chat", show_label=False, height=520,
                                         feedback_options=None, buttons=["copy"], layout="panel",
                                         group_consecutive_messages=False,
                                         placeholder="Ask a question about the indexed articles.")
                    with gr.Row():
                        question = gr.Textbox(placeholder="Ask about the articles…", show_label=False,
                                              scale=5, elem_id="nr-question", max_lines=4, autofocus=True)
                        ask_btn = gr.Button("Ask", variant="primary", scale=1, elem_id="nr-ask")
                    with gr.Row(elem_id="nr-examples"):
                        example_btns = [gr.Button(q, size="sm", variant="secondary") for q in serve.examples]
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
                    clear_btn = gr.Button("New conversation", size="sm", elem_id="nr-clear")
                with gr.Column(scale=2):
                    sources = gr.HTML(views.sources_html(None), elem_id="nr-sources", js_on_load=None)
            with gr.Tab("Library", id="library") as library_tab:
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2):
                        files = gr.File(file_count="multiple", file_types=list(SUPPORTED_SUFFIXES),
                                        label=f"Add articles: {' '.join(SUPPORTED_SUFFIXES)} — up to {max_mb:g} MB "
                                              f"each, {serve.max_upload_files} files at a time",
                                        elem_id="nr-upload")
                        ingest_btn = gr.Button("Ingest", variant="primary", elem_id="nr-ingest")
                        report = gr.HTML(elem_id="nr-report", js_on_load=None)
                    with gr.Column(scale=1):
                        stats = gr.HTML(elem_id="nr-stats", js_on_load=None)
                table = gr.Dataframe(headers=ARTICLE_COLUMNS, interactive=False, wrap=True, elem_id="nr-articles",
                                     type="array", column_widths=["44%", "18%", "12%", "8%", "18%"])
                with gr.Row():
                    pick = gr.Dropdown(choices=[], label="Article to remove", elem_id="nr-remove-pick", scale=4)
                    remove_btn = gr.Button("Remove", variant="stop", elem_id="nr-remove", scale=1)
        gr.HTML('<div class="nr-footer-links">HTTP API: <a href="docs" target="_blank">/docs</a> · '
                'health: <a href="healthz" target="_blank">/healthz</a></div>', js_on_load=None)

        private = {"api_visibility": "private"}
        ask_inputs = [question, conversation, mode, top_k, outlets, since, until]
        ask_outputs = [chatbot, sources, conversation, question]
        demo.load(restore, inputs=[conversation], outputs=[chatbot, sources, outlets, conversation], **private)
        question.submit(respond, ask_inputs, ask_outputs, **private)
        ask_btn.click(respond, ask_inputs, ask_outputs, **private)
        for btn, text in zip(example_btns, serve.examples, strict=True):
            btn.click(lambda text=text: text, None, question, queue=False, **private).then(
                respond, ask_inputs, ask_outputs, **private)
        chatbot.select(show_sources, [conversation], sources, queue=False, **private)
        clear_btn.click(lambda: ([], views.sources_html(None), stored([])), None,
                        [chatbot, sources, conversation], queue=False, **private)
        chatbot.clear(lambda: (views.sources_html(None), stored([])), None, [sources, conversation],
                      queue=False, **private)
        mode.change(mode_html, mode, mode_badge, queue=False, **private)
        library_outputs = [table, pick, stats]
        library_tab.select(library_view, None, library_outputs, **private)
        demo.load(library_view, None, library_outputs, **private)
        ingest_btn.click(ingest, files, [report, files, *library_outputs], concurrency_limit=1,
                         concurrency_id="library", **private).then(
            lambda: gr.update(choices=outlet_choices()), None, outlets, **private)
        remove_btn.click(remove, pick, [report, *library_outputs], concurrency_limit=1,
                         concurrency_id="library", **private).then(
            lambda: gr.update(choices=outlet_choices()), None, outlets, **private)
    demo.queue(default_concurrency_limit=serve.concurrency)
    return demo
