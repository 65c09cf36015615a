"""The real chat in headless Chromium (Debian's ``chromium``, driven by Playwright's sync API).

One server per module (uvicorn in a thread, on the sample articles); a fresh browser context per
test, so each starts with empty localStorage. Every test also checks that the page never
requested anything from another host.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, make_library
from test_api import DRONES, WORLD_CUP, build, serve_in_thread

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
SCREENSHOT = ROOT / "docs" / "screenshot.png"
TIMEOUT = 60_000
BOT = "#nr-chat .message.bot"
QUOTE_55 = ("The Russian Air Defense Forces have intercepted 55 Ukrainian drones over Russian territory during "
            "the night, according to a late-breaking report from the Ministry of Defense of the Russian Federation.")
FILLER = " ".join(f"Item {i} of the council agenda concerned street lighting in district {i}." for i in range(90))
LONG_ARTICLE = (f"{FILLER}\n\nThe Marsaxlokk fish market sold 812 tonnes of bluefin tuna in March, its best month "
                "on record.\n\nTraders expect a quieter April.\n")
EVIL_ARTICLE = """---
title: 'Festival <img src=x onerror="window.__pwned=1"> report'
outlet: Gozo <b>Gazette</b>
date: 2024-03-09
---
The Zorblax festival drew 12,000 visitors <script>window.__pwned=2;document.title='pwned'</script> to the harbour.
Organisers said ${window.__pwned=3} the <img src=x onerror="window.__pwned=4"> fireworks ran late.
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    library = make_library(tmp_path_factory.mktemp("browser") / "home", embedder)
    assert library.ingest([SEEDS]).added == 2
    app, _, port = build(library)
    with serve_in_thread(app, port) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(TIMEOUT)
    elsewhere: list[str] = []
    context.on("request", lambda r: None if r.url.startswith((server, "data:", "blob:")) else elsewhere.append(r.url))
    page = context.new_page()
    page.goto(server)
    page.wait_for_selector("#nr-question textarea")
    yield page
    context.close()
    assert elsewhere == [], "the page called another host"


def ask(page, question: str) -> None:
    page.fill("#nr-question textarea", question)
    page.click("#nr-ask")


def last_answer(page):
    return page.locator(BOT).last


def record_bot_texts(page) -> None:
    """Remember every text the last assistant message shows, to see the answer arrive in parts."""
    page.evaluate("""() => { window.__texts = [];
        new MutationObserver(() => {
            const bots = document.querySelectorAll('#nr-chat .message.bot');
            if (bots.length) window.__texts.push(bots[bots.length - 1].innerText);
        }).observe(document.querySelector('#nr-chat'), {subtree: true, childList: true, characterData: true});
    }""")


def open_citation(page, selector: str):
    with page.context.expect_page() as opened:
        page.click(selector)
    article = opened.value
    article.wait_for_load_state()
    return article


def in_viewport(page, selector: str) -> bool:
    return page.evaluate("""(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight; }""", selector)


def upload(page, files: list[Path]) -> str:
    page.click("button[role=tab]:has-text('Library')")
    page.set_input_files("#nr-upload input[type=file]", [str(f) for f in files])
    page.wait_for_selector("#nr-upload :text('" + files[0].name + "')")
    page.click("#nr-ingest")
    page.wait_for_selector("#nr-report .nr-report")
    return page.inner_text("#nr-report")


# ---------------------------------------------------------------------------------------- tests


def test_the_answer_streams_in_with_citations_the_conflict_banner_and_sources(page):
    record_bot_texts(page)
    ask(page, DRONES)
    page.wait_for_selector(f"{BOT} .nr-conflict")
    texts = page.evaluate("window.__texts")
    assert "Searching the articles…" in texts
    # the first quoted sentence was on screen before the second arrived
    assert any("55 Ukrainian drones over Russian territory" in t and "64 Ukrainian drones" not in t for t in texts)

    answer = last_answer(page)
    banner = answer.locator(".nr-conflict").inner_text()
    assert re.sub(r"\s+", " ", banner).strip() == "⚠ Sources disagree 55 Ukrainian drones [1] vs 64 Ukrainian drones [2]"
    assert answer.locator(".nr-text a.nr-cite").all_inner_texts() == ["[1]", "[2]"]
    assert "Sources disagree" not in answer.locator(".nr-text").inner_text()  # said once, in the banner
    assert answer.locator(".nr-footer").inner_text().startswith("mode: extractive · ")
    assert "Answering mode: extractive" in page.inner_text("#nr-mode")

    cards = page.locator("#nr-sources .nr-card")
    assert cards.count() == 2
    first = cards.nth(0)
    assert first.locator(".nr-title").inner_text().startswith("Urgent Update: Russia Intercepts 55 Ukrainian Drones")
    meta = first.locator(".nr-meta").inner_text()
    assert meta.startswith("Miami News, KMIA · undated") and meta.endswith("disputed: 55 Ukrainian drones")
    assert first.locator("mark").inner_text() == QUOTE_55
    assert "This development marks one of the largest" in first.locator(".nr-passage").inner_text()
    assert cards.nth(1).locator("mark").inner_text().startswith(
        "The Russian Ministry of Defense has confirmed that its air defense forces intercepted and destroyed 64")

    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))


def test_clicking_a_citation_opens_the_article_at_the_highlighted_sentence(page):
    ask(page, DRONES)
    page.wait_for_selector(f"{BOT} a.nr-cite")
    article = open_citation(page, f"{BOT} .nr-text a.nr-cite >> nth=0")
    assert article.title().startswith("Urgent Update: Russia Intercepts 55 Ukrainian Drones")
    assert article.inner_text("mark#hl") == QUOTE_55
    assert in_viewport(article, "mark#hl")
    assert "Miami News, KMIA" in article.inner_text(".meta")
    # the card's link opens the same place
    card = open_citation(page, "#nr-sources .nr-card >> nth=1 >> .nr-open")
    assert card.inner_text("mark#hl").startswith("The Russian Ministry of Defense has confirmed")


def test_a_question_the_articles_do_not_answer_shows_the_refusal_and_the_closest_passages(page):
    page.click(f"#nr-examples button:has-text('{WORLD_CUP}')")
    page.wait_for_selector(f"{BOT} .nr-refused")
    answer = last_answer(page)
    assert answer.locator(".nr-notfound").inner_text() == "Not in the articles\nThe indexed articles do not answer this."
    assert answer.locator(".nr-closest li").count() == 3
    assert answer.locator(".nr-conflict").count() == 0 and answer.locator("a.nr-cite").count() == 0
    assert "Not in the articles: the closest passages" in page.inner_text("#nr-sources")
    assert page.locator("#nr-sources .nr-card-closest").count() == 3
    article = open_citation(page, f"{BOT} .nr-closest a >> nth=0")  # a passage opens highlighted too
    assert article.inner_text("mark#hl").strip()


def test_a_follow_up_keeps_the_conversation_and_a_reload_keeps_it_with_its_citations(page):
    ask(page, DRONES)
    page.wait_for_selector(f"{BOT} .nr-conflict")
    ask(page, "And how many in the other report?")
    page.wait_for_function("document.querySelectorAll('#nr-chat .message.bot .nr-footer').length == 2")
    assert "55 Ukrainian drones" in last_answer(page).inner_text()  # the history made it a follow-up
    page.wait_for_function("Object.keys(localStorage).some(k => k.includes('newsrag-conversation'))")
    page.wait_for_timeout(500)
    answers = page.locator(BOT).all_inner_texts()
    links = page.locator(f"{BOT} a.nr-cite").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    cards = page.inner_text("#nr-sources")

    page.reload()
    page.wait_for_function("document.querySelectorAll('#nr-chat .message.bot .nr-footer').length == 2")
    assert page.locator("#nr-chat .message.user").all_inner_texts() == [DRONES, "And how many in the other report?"]
    assert page.locator(BOT).all_inner_texts() == answers
    assert page.locator(f"{BOT} a.nr-cite").evaluate_all("links => links.map(a => a.getAttribute('href'))") == links
    assert page.inner_text("#nr-sources") == cards
    assert page.locator("#nr-sources .nr-sources-head").inner_text() == \
        "Sources for “And how many in the other report?”"
    article = open_citation(page, f"{BOT} >> nth=0 >> .nr-text a.nr-cite >> nth=0")
    assert article.inner_text("mark#hl") == QUOTE_55

    page.click("#nr-clear")
    page.wait_for_function("document.querySelectorAll('#nr-chat .message').length == 0")
    page.reload()
    page.wait_for_selector("#nr-sources .nr-empty")
    assert page.locator("#nr-chat .message").count() == 0


def test_an_uploaded_article_can_be_asked_about_opened_at_its_sentence_and_removed(page, tmp_path):
    path = tmp_path / "marsaxlokk-market.txt"
    path.write_text(LONG_ARTICLE)
    report = upload(page, [path])
    assert report.startswith("1 added, 0 updated, 0 unchanged, 0 failed (")
    assert "marsaxlokk-market" in page.inner_text("#nr-articles")
    assert "Articles\n3" in page.inner_text("#nr-stats")

    page.click("button[role=tab]:has-text('Chat')")
    ask(page, "How many tonnes of bluefin tuna did the Marsaxlokk fish market sell?")
    page.wait_for_selector(f"{BOT} .nr-footer")
    assert "812 tonnes of bluefin tuna" in last_answer(page).inner_text()
    article = open_citation(page, f"{BOT} .nr-text a.nr-cite >> nth=0")
    assert article.inner_text("mark#hl").startswith("The Marsaxlokk fish market sold 812 tonnes")
    assert article.evaluate("window.scrollY") > 500 and in_viewport(article, "mark#hl")

    page.click("button[role=tab]:has-text('Library')")
    page.click("#nr-remove-pick input")
    page.click("[role=option]:has-text('marsaxlokk-market')")
    page.click("#nr-remove")
    page.wait_for_selector("#nr-report :text('Removed “marsaxlokk-market”')")
    assert "marsaxlokk-market" not in page.inner_text("#nr-articles")


def test_article_text_is_shown_as_text_and_never_runs(page, tmp_path):
    path = tmp_path / "festival.md"
    path.write_text(EVIL_ARTICLE)
    assert upload(page, [path]).startswith("1 added")
    title = 'Festival <img src=x onerror="window.__pwned=1"> report'
    assert title in page.inner_text("#nr-articles") and "Gozo <b>Gazette</b>" in page.inner_text("#nr-articles")

    page.click("button[role=tab]:has-text('Chat')")
    ask(page, "How many visitors did the Zorblax festival draw?")
    page.wait_for_selector(f"{BOT} .nr-footer")
    shown = last_answer(page).inner_text()
    assert "12,000 visitors <script>window.__pwned=2;document.title='pwned'</script> to the harbour." in shown
    sources = page.inner_text("#nr-sources")
    assert title in sources and "Gozo <b>Gazette</b>" in sources and "<script>window.__pwned=2" in sources
    assert page.evaluate("window.__pwned") is None and page.title() == "newsrag"

    article = open_citation(page, f"{BOT} .nr-text a.nr-cite >> nth=0")
    body = article.inner_text(".body")
    assert "<script>window.__pwned=2" in body and '<img src=x onerror="window.__pwned=4">' in body
    assert "${window.__pwned=3}" in body
    assert article.title() == title
    assert article.evaluate("window.__pwned") is None
    assert article.evaluate("document.querySelectorAll('script, img').length") == 0


def test_a_bad_setting_is_shown_as_an_error_and_the_chat_keeps_working(page):
    page.click("#nr-settings button:has-text('Settings')")
    page.fill("#nr-since textarea, #nr-since input", "last week")
    ask(page, DRONES)
    page.wait_for_selector(f"{BOT} .nr-failed")
    message = "since='last week' is not a date: use YYYY-MM-DD, e.g. 2023-10-01."
    assert last_answer(page).inner_text().strip() == message
    page.wait_for_selector(f".toast-body:has-text(\"{message}\")")
    page.fill("#nr-since textarea, #nr-since input", "")
    ask(page, DRONES)
    page.wait_for_selector(f"{BOT} .nr-conflict")
    assert page.locator(f"{BOT} .nr-failed").count() == 0  # failed turns are not kept
