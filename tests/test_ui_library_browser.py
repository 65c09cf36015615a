"""The Library tab at 5,000 articles and the login page, in headless Chromium on a phone (390x844)
and a desktop (1440x900) screen.

One server per module, behind a login, on a synthetic library of 5,000 articles written straight
into Chroma (``eval.bench_library.fill``: one passage each, random vectors; the Library never reads
vectors). What the table must show is computed from the library itself with ``Library.browse``.
"""

from __future__ import annotations

import pytest
from conftest import free_port, make_library, serve_in_thread
from helpers import ARGS, CHROMIUM, SECRET, TIMEOUT, VIEWPORTS

from index.browse import ArticleQuery

pytestmark = pytest.mark.browser

USER, PASSWORD = "editor", "correct horse"
ARTICLES = 5000


@pytest.fixture(scope="module")
def site(tmp_path_factory, embedder):
    from eval.bench_library import fill
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings
    from ui.server import create_app
    from ui.settings import ServeSettings

    library = make_library(tmp_path_factory.mktemp("library-5000") / "home", embedder)
    fill(library, ARTICLES)
    port = free_port()
    app = create_app(pipeline=Pipeline(RagSettings(index=library.settings), library=library),
                     serve=ServeSettings(port=port, auth=(USER, PASSWORD)), secret=SECRET)
    with serve_in_thread(app, port) as url:
        yield url, library


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser, site):
    url, _ = site
    context = browser.new_context(viewport=VIEWPORTS[request.param])
    context.set_default_timeout(TIMEOUT)
    elsewhere: list[str] = []
    context.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:")) else elsewhere.append(r.url))
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()
    assert elsewhere == [], "the page called another host"


def log_in(page, url: str, password: str = PASSWORD) -> None:
    page.goto(url)
    page.wait_for_selector("input[type=password]")
    page.fill("input[data-testid=textbox]", USER)
    page.fill("input[type=password]", password)
    page.click("button:has-text('Login')")


def rows(page) -> list[str]:
    return page.locator("#nr-articles tbody .nr-title").all_inner_texts()


def pager_becomes(page, text: str) -> None:
    page.wait_for_function("(text) => document.querySelector('#nr-pager').innerText === text", arg=text)


def titles(library, **query) -> list[str]:
    return [r.display_title for r in library.browse(ArticleQuery.of(limit=50, **query)).articles]


def test_the_login_page_speaks_to_people_and_log_out_ends_the_session(page, site):
    url, _ = site
    page.goto(url)
    page.wait_for_selector("input[type=password]")
    text = page.inner_text("body")
    assert ("Welcome to newsrag: ask questions of the news articles and check every answer against its sources. "
            "Log in with the user name and password you were given.") in text
    assert "NEWSRAG_AUTH" not in text
    log_in(page, url, password="wrong password")
    page.wait_for_selector("text=Incorrect Credentials")
    log_in(page, url)
    page.wait_for_selector("#nr-question textarea")
    logout = page.locator("#nr-mode a.nr-logout")
    assert logout.inner_text() == "Log out"
    logout.click()
    page.wait_for_selector("input[type=password]")
    page.goto(url)  # the session is gone
    page.wait_for_selector("input[type=password]")


def test_the_library_of_5000_articles_pages_searches_filters_sorts_and_removes(page, site):
    url, library = site
    log_in(page, url)
    page.wait_for_selector("#nr-question textarea")
    total = library.browse(ArticleQuery()).total
    page.click("button[role=tab]:has-text('Library')")
    pager_becomes(page, f"Articles 1–50 of {total:,}, newest first")
    assert rows(page) == titles(library)
    assert page.locator("#nr-articles tbody tr").count() == 50
    assert f"Articles\n{total:,}" in page.inner_text("#nr-stats")
    assert page.is_disabled("#nr-prev")

    page.click("#nr-next")
    pager_becomes(page, f"Articles 51–100 of {total:,}, newest first")
    assert rows(page) == titles(library, offset=50)
    page.click("#nr-prev")
    pager_becomes(page, f"Articles 1–50 of {total:,}, newest first")

    page.locator("#nr-lib-q input").press_sequentially("harbour closes")
    found = library.browse(ArticleQuery.of(q="harbour closes"))
    assert 0 < found.total < total
    pager_becomes(page, f"Articles 1–{min(50, found.total)} of {found.total:,} matching, newest first")
    assert rows(page) == titles(library, q="harbour closes")

    page.click("#nr-lib-sort input")
    page.click("[role=option]:has-text('Oldest first')")
    pager_becomes(page, f"Articles 1–{min(50, found.total)} of {found.total:,} matching, oldest first")
    assert rows(page) == titles(library, q="harbour closes", sort="oldest")

    page.fill("#nr-lib-q input", "")
    page.locator("#nr-lib-since input").fill("2022-03-01")
    page.locator("#nr-lib-until input").fill("2022-03-31")
    page.locator("#nr-lib-until input").press("Enter")
    march = library.browse(ArticleQuery.of(since="2022-03-01", until="2022-03-31"))
    pager_becomes(page, f"Articles 1–{min(50, march.total)} of {march.total:,} matching, oldest first")
    assert rows(page) == titles(library, since="2022-03-01", until="2022-03-31", sort="oldest")
    dates = page.locator("#nr-articles tbody .nr-c-date").all_inner_texts()
    assert dates == sorted(dates) and all("2022-03-01" <= d <= "2022-03-31" for d in dates)

    gone = rows(page)[:2]
    for box in page.locator("#nr-articles tbody .nr-pick").all()[:2]:
        box.check()
    page.click("#nr-remove")
    page.wait_for_selector("#nr-report :text('Removed 2 articles (2 passages).')")
    pager_becomes(page, f"Articles 1–{min(50, march.total - 2)} of {march.total - 2:,} matching, oldest first")
    assert not set(gone) & set(rows(page))
    assert library.browse(ArticleQuery()).total == total - 2
