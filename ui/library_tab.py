"""The Library tab: upload articles (with progress per file), what the library holds at a glance
(outlets with their articles and dates, the newest articles), browse it a page at a time (search in
titles, outlets and the full text, each article shown with the sentence that matched; outlet, date
range, order; all on the server), tick articles and remove them together, and the index statistics.

Paging and search are ``Library.browse`` (``index/browse.py``), shared with ``GET /api/articles``;
uploads are upload jobs (``ui.jobs``), like ``POST /api/articles``.
"""

from __future__ import annotations

import queue
import re
from pathlib import Path

import gradio as gr

from index.articles import SUPPORTED_SUFFIXES
from index.browse import ArticleQuery
from index.errors import NewsragError
from index.library import Library
from ui import library_view, uploads
from ui.jobs import Jobs
from ui.markup import user_error
from ui.settings import ServeSettings

PAGE_SIZE = 50
PRIVATE = {"api_visibility": "private"}
ALL_OUTLETS = ""
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def build(*, library: Library, serve: ServeSettings, jobs: Jobs, chat_refresh: dict, stream=None) -> None:
    """The tab and its events, inside the app's ``gr.Tabs``; uploads run as ``jobs`` (the API's);
    ``chat_refresh`` (an event's ``fn`` and ``outputs``: the chat's outlet filter and examples) runs
    when the library changes."""
    max_mb = library.settings.max_file_mb

    def listing(q, outlet, since, until, sort, offset):
        """Table, pager, statistics, outlet choices, the offset actually shown, the Previous and
        Next buttons."""
        try:
            query = ArticleQuery.of(q=q, sources=[outlet] if outlet else None, since=since, until=until,
                                    sort=sort, offset=max(0, int(offset or 0)), limit=PAGE_SIZE)
            page = library.browse(query)
            if page.total and not page.articles:  # past the end (articles were removed): the last page
                page = library.browse(ArticleQuery.of(q=q, sources=[outlet] if outlet else None, since=since,
                                                      until=until, sort=sort, limit=PAGE_SIZE,
                                                      offset=(page.total - 1) // PAGE_SIZE * PAGE_SIZE))
            outlets = library.listing().outlets
            stats = library_view.stats_html(library.stats(), len(outlets))
            held = library_view.overview_html(library.overview())
        except NewsragError as exc:
            return (library_view.report_html(str(exc), failed=True), "", *[gr.skip()] * 6)
        pick = gr.update(choices=[("All outlets", ALL_OUTLETS), *[(o, o) for o in outlets]])
        return (library_view.table_html(page, library.catalog().stories), library_view.pager_html(page), stats, pick,
                page.query.offset, gr.update(interactive=page.query.offset > 0),
                gr.update(interactive=page.last < page.total), held)

    def first_page(q, outlet, since, until, sort):
        return listing(q, outlet, since, until, sort, 0)

    def typed_date(q, outlet, since, until, sort):
        """Filter as a date is typed, once each box is empty or holds a whole YYYY-MM-DD (Enter
        filters at once, and says what is wrong with a bad date)."""
        if not all(DAY.fullmatch(d or "") or not (d or "").strip() for d in (since, until)):
            return (gr.skip(),) * 8
        return first_page(q, outlet, since, until, sort)

    def turn(step: int):
        def move(q, outlet, since, until, sort, offset):
            return listing(q, outlet, since, until, sort, max(0, int(offset or 0) + step * PAGE_SIZE))
        return move

    def ingest(paths):
        events: queue.Queue = queue.Queue()
        try:
            cache = Path(gr.utils.get_upload_folder())
            files = [uploads.from_upload_cache(p, cache=cache, max_bytes=library.settings.max_file_bytes)
                     for p in paths or []]
            # the API's upload job: one writer, resumed after a restart, files cleaned up after it
            job = jobs.submit(files, max_files=serve.max_upload_files,
                              listener=lambda kind, value: events.put((kind, value)))
        except NewsragError as exc:
            raise user_error(exc) from exc
        names = [f.name for f in files]
        owner = {str(k.path.resolve()): k.name for k in jobs.kept(job["id"])}
        latest, written = None, {}
        yield library_view.upload_html(names), gr.skip()
        while True:
            kind, value = events.get()
            if kind == "progress":
                latest = value
                if value.path:
                    name = owner.get(str(Path(value.path).resolve()))
                    if name and value.current:
                        written[name] = written.get(name, 0) + 1
                if events.empty():  # only the newest state is worth drawing
                    yield library_view.upload_html(names, latest=latest, written=written), gr.skip()
                continue
            if kind == "failed":
                message = str(value) if isinstance(value, NewsragError) else \
                    f"The upload failed ({type(value).__name__}: {value}); the server log has the details."
                yield library_view.report_html(message, failed=True), gr.skip()
                raise user_error(message)
            report, results = value
            chunks = {r.id: r.n_chunks for r in library.catalog().articles.values()}
            yield library_view.upload_html(names, results=results, chunks=chunks, summary=report.summary()), None
            return

    def remove(selected):
        if selected == "!cancel":
            return gr.skip()
        ids = (selected or "").split()
        if not ids:
            raise user_error("Tick the articles to remove first (the boxes at the start of each row).")
        try:
            removed = library.remove_many(ids)
        except NewsragError as exc:
            raise user_error(exc) from exc
        uploads.discard_unreferenced(library, [p for r in removed for p in uploads.origin_paths(library, r)])
        chunks = sum(r.n_chunks for r in removed)
        passages = f"{chunks} passage{'s' if chunks != 1 else ''}"
        what = f"“{removed[0].display_title}”" if len(removed) == 1 else f"{len(removed)} articles"
        text = f"Removed {what} ({passages})."
        return library_view.report_html(text)

    with gr.Tab("Library", id="library") as tab:
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=300):
                files = gr.File(file_count="multiple", file_types=list(SUPPORTED_SUFFIXES),
                                label=f"Add articles: {' '.join(SUPPORTED_SUFFIXES)} — up to {max_mb:g} MB "
                                      f"each, {serve.max_upload_files} files at a time", elem_id="nr-upload")
                ingest_btn = gr.Button("Ingest", variant="primary", elem_id="nr-ingest")
                status = gr.HTML(elem_id="nr-upload-status", js_on_load=None)
            with gr.Column(scale=1, min_width=260):
                stats = gr.HTML(elem_id="nr-stats", js_on_load=None)
        overview = gr.HTML(elem_id="nr-overview", js_on_load=None)
        if stream is not None:
            feeds_panel(library=library, serve=serve, jobs=jobs, stream=stream, tab=tab)
        with gr.Row(elem_id="nr-lib-filters", equal_height=True):
            q = gr.Textbox(label="Search titles, outlets and text", placeholder="e.g. drones Kursk", scale=3,
                           min_width=200, elem_id="nr-lib-q", max_lines=1)
            outlet = gr.Dropdown(choices=[("All outlets", ALL_OUTLETS)], value=ALL_OUTLETS, label="Outlet",
                                 scale=2, min_width=160, elem_id="nr-lib-outlet")
            since = gr.Textbox(label="From", placeholder="YYYY-MM-DD", scale=1, min_width=140,
                               elem_id="nr-lib-since", max_lines=1, elem_classes=["nr-day"])
            until = gr.Textbox(label="To", placeholder="YYYY-MM-DD", scale=1, min_width=140,
                               elem_id="nr-lib-until", max_lines=1, elem_classes=["nr-day"])
            sort = gr.Dropdown(choices=[("Newest first", "newest"), ("Oldest first", "oldest"),
                                        ("Title A–Z", "title"), ("Best match", "relevance")], value="newest",
                               label="Order", scale=1, min_width=170, elem_id="nr-lib-sort")
        table = gr.HTML(elem_id="nr-articles", js_on_load=library_view.SELECTION_JS)
        with gr.Row(elem_id="nr-lib-pager", equal_height=False):
            prev_btn = gr.Button("‹ Previous", size="sm", elem_id="nr-prev", interactive=False, scale=0,
                                 min_width=110)
            pager = gr.HTML(elem_id="nr-pager", js_on_load=None, min_width=180)
            next_btn = gr.Button("Next ›", size="sm", elem_id="nr-next", interactive=False, scale=0, min_width=90)
            remove_btn = gr.Button("Remove selected", size="sm", variant="stop", elem_id="nr-remove", scale=0,
                                   min_width=150)
        report = gr.HTML(elem_id="nr-report", js_on_load=None)
        offset = gr.State(0)
        selected = gr.Textbox(visible=False)

    filters = [q, outlet, since, until, sort]
    shown = [table, pager, stats, outlet, offset, prev_btn, next_btn, overview]
    # browsing is a few milliseconds of work: straight calls, not through the queue
    quick = {"queue": False, **PRIVATE}
    refresh = {"fn": listing, "inputs": [*filters, offset], "outputs": shown, **quick}
    tab.select(**refresh)
    q.input(first_page, filters, shown, trigger_mode="always_last", **quick)
    for box in (since, until):
        box.submit(first_page, filters, shown, **quick)
        box.input(typed_date, filters, shown, trigger_mode="always_last", **quick)
    for pick in (outlet, sort):
        pick.input(first_page, filters, shown, **quick)
    prev_btn.click(turn(-1), [*filters, offset], shown, **quick)
    next_btn.click(turn(+1), [*filters, offset], shown, **quick)
    ingest_btn.click(ingest, files, [status, files], concurrency_limit=1, concurrency_id="library",
                     **PRIVATE).then(**refresh).then(**chat_refresh, **PRIVATE)
    remove_btn.click(remove, selected, report, js=library_view.REMOVE_JS, concurrency_limit=1,
                     concurrency_id="library", **PRIVATE).then(**refresh).then(**chat_refresh, **PRIVATE)


def feeds_panel(*, library: Library, serve: ServeSettings, jobs: Jobs, stream, tab) -> None:
    """Feeds: add one (URL, interval, name), see each one's last and next poll, what it found and
    its last error; poll one now or remove it. The list refreshes itself every few seconds."""
    import time

    from index.feeds import DEFAULT_EVERY, parse_every, public_feed
    from ui.settings import is_loopback

    min_every = library.settings.fetch.min_every

    def shown():
        try:
            feeds = [public_feed(f) for f in stream.feeds.all()]
        except NewsragError as exc:
            return library_view.report_html(str(exc), failed=True), gr.skip()
        return (library_view.feeds_html(feeds, now=time.time()),
                gr.update(choices=[(f["name"], f["id"]) for f in feeds]))

    def add(url, every, name, request: gr.Request):
        if not is_loopback(serve.host) and not getattr(request, "username", None):
            raise user_error("Log in to add a feed.")
        try:
            feed = stream.feeds.add(url, every=parse_every((every or "").strip() or DEFAULT_EVERY, minimum=min_every),
                                    name=name)
            jobs.submit_feed(feed["id"])
        except NewsragError as exc:
            raise user_error(exc) from exc
        return *shown(), "", library_view.report_html(f"Added {feed['url']}; its first poll is queued.")

    def poll(fid):
        if not fid:
            raise user_error("Choose a feed first.")
        try:
            jobs.submit_feed(fid)
        except NewsragError as exc:
            raise user_error(exc) from exc
        return library_view.report_html("Poll queued; the list shows its result when it is done.")

    def remove(fid):
        if not fid:
            raise user_error("Choose a feed first.")
        try:
            feed = stream.feeds.remove(fid)
        except NewsragError as exc:
            raise user_error(exc) from exc
        return *shown(), library_view.report_html(f"Removed the feed {feed['name']}; its articles stay.")

    with gr.Accordion("Feeds: RSS, Atom, JSON Feed, sitemaps", open=True, elem_id="nr-feeds-panel"):
        with gr.Row(equal_height=True):
            url = gr.Textbox(label="Feed URL", placeholder="https://example.org/rss.xml", scale=4, min_width=260,
                             elem_id="nr-feed-url", max_lines=1)
            every = gr.Textbox(label="Every", value="30m", scale=1, min_width=90, elem_id="nr-feed-every", max_lines=1)
            name = gr.Textbox(label="Name (optional)", scale=2, min_width=140, elem_id="nr-feed-name", max_lines=1)
            add_btn = gr.Button("Add feed", variant="primary", scale=1, min_width=110, elem_id="nr-feed-add")
        table = gr.HTML(elem_id="nr-feeds", js_on_load=None)
        with gr.Row(equal_height=True):
            pick = gr.Dropdown(choices=[], label="Feed", scale=3, min_width=200, elem_id="nr-feed-pick")
            poll_btn = gr.Button("Poll now", size="sm", scale=0, min_width=110, elem_id="nr-feed-poll")
            remove_btn = gr.Button("Remove feed", size="sm", variant="stop", scale=0, min_width=130,
                                   elem_id="nr-feed-remove")
        feed_report = gr.HTML(elem_id="nr-feed-report", js_on_load=None)
        timer = gr.Timer(5.0)
    quick = {"queue": False, **PRIVATE}
    tab.select(shown, None, [table, pick], **quick)
    timer.tick(shown, None, [table, pick], **quick)
    add_btn.click(add, [url, every, name], [table, pick, url, feed_report], **quick)
    url.submit(add, [url, every, name], [table, pick, url, feed_report], **quick)
    poll_btn.click(poll, pick, feed_report, **quick)
    remove_btn.click(remove, pick, [table, pick, feed_report], **quick)
