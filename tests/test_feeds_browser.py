"""The Feeds panel and a changed watch, in headless Chromium: a feed added in the Library tab is
polled by the server's scheduler from a real HTTP server on 127.0.0.1; a question watched from the
chat is marked changed in the sidebar when the feed brings a new figure. Takes the README's
screenshot of both (docs/feeds.png)."""

from __future__ import annotations

import pytest
from conftest import ROOT, free_port, make_library, serve_in_thread
from helpers import ARGS, CHROMIUM, SECRET, TIMEOUT, fetch_settings, item

from tests.feedserver import FeedServer, Route, rss

pytestmark = pytest.mark.browser
QUESTION = "How many drones were intercepted near Kamen?"
SCREENSHOT = ROOT / "docs" / "feeds.png"


@pytest.fixture
def site(tmp_path, embedder):
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings
    from ui.server import create_app
    from ui.settings import ServeSettings

    library = make_library(tmp_path / "home", embedder, fetch=fetch_settings(min_every=1.0))
    port = free_port()
    app = create_app(pipeline=Pipeline(RagSettings(index=library.settings), library=library),
                     serve=ServeSettings(port=port), secret=SECRET)
    with FeedServer() as feeds, serve_in_thread(app, port) as url:
        yield url, feeds
    app.state.stream.stop()
    app.state.jobs.stop(5)


@pytest.fixture
def page(site):
    from playwright.sync_api import sync_playwright

    url, _ = site
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = chromium.new_context(viewport={"width": 1440, "height": 1000})
        context.set_default_timeout(TIMEOUT)
        elsewhere: list[str] = []
        context.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:")) else elsewhere.append(r.url))
        yield context.new_page()
        context.close()
        chromium.close()
    assert elsewhere == [], "the page called another host"


def test_a_feed_added_in_the_library_is_polled_and_a_watched_question_changes(site, page):
    url, feeds = site
    feeds.routes["/feed.xml"] = Route(etag='"1"', body=rss([item(feeds, 1)]))
    page.goto(url)
    page.wait_for_selector("#nr-question textarea")
    page.click("button[role=tab]:has-text('Library')")
    page.fill("#nr-feed-url input", f"{feeds.url}/feed.xml")
    page.fill("#nr-feed-every input", "2s")
    page.click("#nr-feed-add")
    page.wait_for_selector("#nr-feed-report:has-text('its first poll is queued')")
    row = page.locator("#nr-feeds tr.nr-feed-ok")
    row.wait_for()
    page.wait_for_function("() => document.querySelector('#nr-feeds .nr-feed-totals').innerText"
                           ".startsWith('in all: 1 new, 0 updated')")
    assert row.locator("b").inner_text() == "Test Wire"
    # the first poll found the article; the next ones (every 2 s) a 304
    assert row.locator(".nr-feed-result").inner_text().split("\n")[0] in {"1 new, 0 updated, 0 failed",
                                                                          "not modified (304)"}
    assert f"{feeds.url}/feed.xml" in row.locator(".nr-id").inner_text()

    page.click("button[role=tab]:has-text('Chat')")
    page.fill("#nr-question textarea", QUESTION)
    page.click("#nr-ask")
    page.wait_for_selector("#nr-chat .nr-direct:has-text('13 drones')")
    page.click("#nr-watch")
    watched = page.locator("#nr-watch-list label")
    watched.first.wait_for()
    assert watched.first.inner_text() == f"{QUESTION} — 13 drones"
    assert page.inner_text("#nr-watch-note") == f"Watching “{QUESTION}”: no change yet."

    # the feed brings the same report with a new figure: the scheduler polls, the watch changes
    feeds.routes["/feed.xml"] = Route(etag='"2"', body=rss([item(feeds, 1, figure=40)]))
    page.wait_for_function("(q) => [...document.querySelectorAll('#nr-watch-list label')]"
                           ".some((l) => l.innerText.startsWith('● ' + q))", arg=QUESTION)
    assert watched.first.inner_text() == f"● {QUESTION} — 41 drones"
    page.wait_for_selector("#nr-watch-note:has-text('new in the answer line: 41 drones')")
    assert page.inner_text("#nr-watch-note") == f"{QUESTION}: new in the answer line: 41 drones"
    page.click("button[role=tab]:has-text('Library')")  # the feed's totals: the update
    page.wait_for_function("() => document.querySelector('#nr-feeds .nr-feed-totals').innerText"
                           ".startsWith('in all: 1 new, 1 updated')")
    page.screenshot(path=str(SCREENSHOT))
    page.click("button[role=tab]:has-text('Chat')")
    watched.first.click()  # asks it again: the new answer, and the mark is gone
    page.wait_for_selector("#nr-chat .nr-direct:has-text('41 drones')")
    page.wait_for_function("(q) => document.querySelector('#nr-watch-list label').innerText === q + ' — 41 drones'",
                           arg=QUESTION)
