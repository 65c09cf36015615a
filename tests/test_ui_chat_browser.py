"""The chat as a fact-checker uses it (issue 28), in headless Chromium on a desktop and two phone
screens (360 and 430 px wide): the phone layout (opens at the top, nothing covers a control, the
answer shown from its first line, Sources before Settings), example questions from the library,
one card per article, answers about the library from its catalog, filters as chips kept in the
page address, the Library's full-text search and overview, article pages without boilerplate, a
removed article's page, and axe-core (from npm, injected into the page) finding no serious or
critical accessibility violation on the chat, an answer, the Library tab and an article page.

One server and one browser for the module (a library of the samples and four dated articles of
two outlets, the Gozo Gazette ones sharing page boilerplate); a fresh browser context per test.
Every wait is for a state, never for a time.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import SEEDS, free_port, make_library, serve_in_thread
from helpers import (
    ARGS,
    CHROMIUM,
    DRONES,
    SECRET,
    TIMEOUT,
    answers,
    ask,
    date_filter,
    flat,
    open_link,
    settled,
)

from ui.app import WIDE
from ui.examples import library_examples
from ui.views import when_ts

pytestmark = pytest.mark.browser

SCREENS = {"desktop": {"width": 1440, "height": 900}, "phone-360": {"width": 360, "height": 740},
           "phone-430": {"width": 430, "height": 932}}
AXE_JS = Path(sys.executable).parent.parent / "node_modules" / "axe-core" / "axe.min.js"
BOT = "#nr-chat .message.bot"
NEWSLETTER = "SIGN UP FOR THE GAZETTE NEWSLETTER: the island's news every morning"
TEMPLATE = "Gazette email {{ #verifyErrors }} {{ message }} {{ /verifyErrors }} Something went wrong."
ARTICLES = [
    ("reopens.md", "Harbour reopens after the storm", "Gozo Gazette", "2024-02-11",
     "The harbour of Mgarr reopened on Sunday. Ferries resumed at noon, ten days after the storm."),
    ("budget.md", "Council budget passes", "Gozo Gazette", "2024-01-15",
     "The Gozo council passed its budget by seven votes to two."),
    ("festa.md", "Festa fireworks light up Nadur", "Gozo Gazette", "2024-01-20",
     "The Nadur festa fireworks lasted 25 minutes on Saturday night."),
    ("storm.md", "Storm closes Mgarr harbour", "Malta Maritime Review", "2024-02-01",
     "A storm closed the harbour of Mgarr on Thursday night. Ferries stayed in port at Mgarr and Cirkewwa."),
    ("notice.md", "Old ferry notice", "Malta Maritime Review", "2023-12-01",
     "The winter ferry timetable starts in December."),
]
KURSK = ("The ministry has released preliminary footage showing the drones being intercepted mid-air, with several "
         "explosions visible in the night sky over the Kursk and Belgorod regions.")
INTERACTIVE = "button, a[href], input:not([type=hidden]), textarea, select, summary, [role=button], [role=tab]"

# Every visible control, scrolled into view one after another, must be what the pointer finds at
# its centre. Skipped: the closed sidebar's contents (off screen until opened), copies Gradio keeps
# for measuring (visually hidden, out of the tab order), what is not drawn (a closed <details>).
COVERED_JS = """(selector) => {
  const found = [];
  for (const e of document.querySelectorAll(selector)) {
    if (e.closest('.visually-hidden, [aria-hidden=true], #nr-sidebar:not(.open) .sidebar-content')) continue;
    if (e.getAttribute('tabindex') === '-1' && !e.matches('a[href], input, textarea')) continue;
    let r = e.getBoundingClientRect();  // (what a closed <details> holds is not drawn: not visible)
    if (r.width < 2 || r.height < 2 || !e.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    e.scrollIntoView({block: 'center', inline: 'center'});
    r = e.getBoundingClientRect();
    const x = r.left + Math.min(r.width / 2, 40), y = r.top + r.height / 2;
    const top = document.elementFromPoint(x, y);
    if (!(top === e || e.contains(top) || (top && top.closest('label') && top.closest('label').contains(e)))) {
      found.push(`${e.tagName.toLowerCase()}#${e.id}.${String(e.className).slice(0, 30)} "${(e.innerText
        || e.getAttribute('aria-label') || '').trim().slice(0, 40)}" under ${top ? top.tagName.toLowerCase()
        + '#' + top.id + '.' + String(top.className).slice(0, 30) : 'nothing'}`);
    }
  }
  window.scrollTo(0, 0);
  return found;
}"""
# The first line of the newest answer: on screen, and what the pointer finds there is that answer
# (not the input box, not a part of the chat panel scrolled out of sight).
FIRST_LINE_JS = """() => {
  const bots = document.querySelectorAll('#nr-chat .message.bot');
  const answer = bots[bots.length - 1].querySelector('.nr-answer');
  const r = answer.getBoundingClientRect();
  const y = r.top + 12, x = r.left + 24;
  const top = document.elementFromPoint(x, y);
  return {top: Math.round(r.top), height: window.innerHeight, shown: y > 0 && y < window.innerHeight
          && !!top && answer.contains(top)};
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, embedder):
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings
    from ui.server import create_app
    from ui.settings import ServeSettings

    folder = tmp_path_factory.mktemp("chat-articles")
    for name, title, outlet, day, text in ARTICLES:
        boilerplate = f"\n\n{NEWSLETTER}\n\n{TEMPLATE}" if outlet == "Gozo Gazette" else ""
        (folder / name).write_text(f"---\ntitle: {title}\noutlet: {outlet}\ndate: {day}\n---\n{text}{boilerplate}\n")
    library = make_library(tmp_path_factory.mktemp("chat") / "home", embedder)
    report = library.ingest([SEEDS, folder])
    assert (report.added, report.boilerplate) == (7, 6)
    removed = library.remove(next(r.id for r in library.articles() if r.title == "Old ferry notice"))
    port = free_port()
    app = create_app(pipeline=Pipeline(RagSettings(index=library.settings), library=library),
                     serve=ServeSettings(port=port), secret=SECRET)
    with serve_in_thread(app, port) as url:
        yield url, library, removed


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=list(SCREENS))
def screen(request) -> str:
    return request.param


@pytest.fixture
def context(browser, site, screen):
    url, _, _ = site
    # the article pages forbid scripts (CSP); axe is injected there by the test, as a tool
    context = browser.new_context(viewport=SCREENS[screen], bypass_csp=True)
    context.set_default_timeout(TIMEOUT)
    elsewhere: list[str] = []
    context.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:")) else elsewhere.append(r.url))
    yield context
    context.close()
    assert elsewhere == [], "the page called another host"


def open_chat(context, url: str):
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#nr-question textarea")
    page.wait_for_selector("#nr-conversations label")  # the stored conversations are restored
    page.wait_for_selector("#nr-examples button.nr-example")  # the examples, from the library
    if page.viewport_size["width"] >= WIDE:  # opened by the page's script once loaded, then slides in
        page.wait_for_selector("#nr-sidebar.open")
    settled(page)
    return page


def search(page, words: str) -> None:
    """Search the Library: one search, not one per letter typed (the last letter is typed: filling
    the box alone does not tell the app)."""
    page.fill("#nr-lib-q input", words[:-1])
    page.locator("#nr-lib-q input").press_sequentially(words[-1])


def covered(page) -> list[str]:
    settled(page)  # positions are read where things stay
    return page.evaluate(COVERED_JS, INTERACTIVE)


def axe(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS} is missing: `make install-dev` installs axe-core from npm into .venv")
    page.add_script_tag(path=str(AXE_JS))
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`)""")
    return found


# ---------------------------------------------------------------------------------------- tests


def test_the_chat_opens_at_the_top_and_answers_from_the_first_line_with_one_card_per_article(context, site, screen):
    url, library, _ = site
    page = open_chat(context, url)
    assert page.evaluate("window.scrollY") == 0 and page.locator("h1:has-text('newsrag')").is_visible()
    assert covered(page) == []
    if screen != "phone-430":
        assert axe(page) == []

    # the examples are about what the library holds, its newest stories first
    examples = page.locator("#nr-examples button.nr-example:visible").all_inner_texts()
    assert examples == library_examples(library) == [
        "What do the articles say about Mgarr?", "What do the articles say about Nadur?",
        "Which outlets are in the library?"]
    page.locator("#nr-examples button", has_text=examples[0]).click()
    answers(page, 1)
    assert page.evaluate(FIRST_LINE_JS)["shown"], page.evaluate(FIRST_LINE_JS)
    # one card per article, each sentence cited from it listed under it
    cards = page.locator("#nr-sources .nr-card")
    cited = page.locator(f"{BOT} .nr-text a.nr-cite").all_inner_texts()
    assert len(cited) > cards.count() >= 2
    titles = cards.locator("header .nr-title").all_inner_texts()
    assert len(set(titles)) == len(titles)
    quotes = [cards.nth(i).locator(".nr-quote").count() for i in range(cards.count())]
    assert sum(quotes) == len(set(cited)) and max(quotes) >= 2
    for i in range(cards.count()):  # each quote of the card is its article's, linked to its sentence
        article = cards.nth(i).locator("header .nr-title").get_attribute("href")
        links = cards.nth(i).locator(".nr-quote .nr-open").evaluate_all("a => a.map(e => e.getAttribute('href'))")
        assert links and all(link.startswith(article + "?start=") for link in links)
    # a screen reader hears the answer's words, not its markup
    labels = page.locator("#nr-chat .message [aria-label]:not(button)").evaluate_all(
        "m => m.map(e => e.getAttribute('aria-label'))")
    assert labels[0] == f"Question: {examples[0]}" and labels[1].startswith("Answer: ")
    assert not any("<" in label for label in labels)
    if screen.startswith("phone"):  # the answer, then its sources, then the settings
        order = page.evaluate("""() => ['#nr-chat', '#nr-sources-col', '#nr-settings'].map(
            (s) => document.querySelector(s).getBoundingClientRect().top + window.scrollY)""")
        assert order == sorted(order), order
    assert covered(page) == []
    if screen != "phone-430":
        assert axe(page) == []

    # a question about the library is answered from its catalog, one line per outlet
    page.locator("#nr-examples button", has_text="Which outlets are in the library?").click()
    answers(page, 2)
    assert page.evaluate(FIRST_LINE_JS)["shown"], page.evaluate(FIRST_LINE_JS)
    lines = page.locator(f"{BOT} >> nth=-1").locator(".nr-s.nr-catalog").all_inner_texts()
    assert lines == ["The library holds 6 articles from 3 outlets, and 1 article without one, dated 2024-01-15 to "
                     "2024-02-11 (2 undated):", "Gozo Gazette: 3 articles, 2024-01-15 to 2024-02-11.",
                     "Malta Maritime Review: 1 article, 2024-02-01.", "Miami News, KMIA: 1 article, undated."]
    assert page.locator(f"{BOT} >> nth=-1").locator(".nr-footer").inner_text().startswith("mode: catalog · ")


def test_filters_are_chips_in_the_page_address_kept_on_reload_and_removable(context, site, screen):
    url, _, _ = site
    page = open_chat(context, f"{url}/?source={quote('Miami News, KMIA')}")
    chip = page.locator("#nr-chips .nr-chip", has_text="Outlet: Miami News, KMIA")
    chip.wait_for()
    ask(page, DRONES)
    answers(page, 1)
    answer = page.locator(BOT).last
    assert flat(answer.locator(".nr-footer").inner_text()).endswith("· 1 source · filtered: Outlet: Miami News, KMIA")
    assert "64 Ukrainian drones" not in answer.inner_text()  # the other outlet's report is not read
    assert page.locator("#nr-sources .nr-card").count() == 1
    assert page.evaluate(FIRST_LINE_JS)["shown"]
    assert covered(page) == []

    chip.locator(".nr-chip-x").click()  # removed: gone from the chips and from the address
    page.wait_for_function("!document.querySelector('#nr-chips .nr-chip')")
    page.wait_for_function("!new URL(location.href).searchParams.has('source')")

    date_filter(page, "since", "2024-02-01")  # waits for it in the page address
    page.reload()  # the address keeps the filter: a reload, or the link sent to a colleague
    page.wait_for_selector("#nr-chips .nr-chip:has-text('From 2024-02-01')")
    assert [flat(c) for c in page.locator("#nr-chips .nr-chip").all_inner_texts()] == ["From 2024-02-01 ×"]
    answers(page, 1)  # the conversation is kept too
    ask(page, "When did the storm close the Mgarr harbour?")
    answers(page, 2)
    footer = flat(page.locator(BOT).last.locator(".nr-footer").inner_text())
    assert footer.endswith("filtered: From 2024-02-01")
    assert page.locator("#nr-sources .nr-card .nr-meta").all_inner_texts() and all(
        m.split(" · ")[1] >= "2024-02-01" for m in page.locator("#nr-sources .nr-card .nr-meta").all_inner_texts())


def test_the_library_searches_the_full_text_and_shows_what_it_holds(context, site, screen):
    url, _, _ = site
    page = open_chat(context, url)
    page.click("button[role=tab]:has-text('Library')")
    page.wait_for_selector("#nr-pager .nr-pager")
    overview = page.locator("#nr-overview")
    assert flat(overview.locator(".nr-overview-head").inner_text()) == \
        "6 articles from 3 outlets, published 2024-01-15 to 2024-02-11 (2 undated)."
    assert [flat(r) for r in overview.locator(".nr-outlet-table tbody tr").all_inner_texts()] == [
        "Gozo Gazette 3 2024-01-15 to 2024-02-11", "Malta Maritime Review 1 2024-02-01",
        "Miami News, KMIA 1 undated", "No outlet named 1"]
    assert overview.locator(".nr-newest li .nr-title").all_inner_texts()[:2] == [
        "Harbour reopens after the storm", "Storm closes Mgarr harbour"]
    # the date boxes show their whole placeholder
    for box in ("#nr-lib-since input", "#nr-lib-until input"):
        room = page.locator(box).evaluate("""(e) => { const s = getComputedStyle(e);
            const c = document.createElement('canvas').getContext('2d'); c.font = s.font;
            return e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight)
                   - c.measureText(e.placeholder).width; }""")
        assert room >= 0, f"{box} cuts its placeholder by {-room:.0f} px"

    search(page, "drones Kursk")
    page.wait_for_function("document.querySelector('#nr-pager').innerText.includes('of 1 matching')")
    row = page.locator("#nr-articles tbody tr")
    assert row.locator(".nr-title").inner_text().startswith("Urgent Update: Russia Intercepts 55 Ukrainian Drones")
    match = row.locator(".nr-match a.nr-match-quote")
    assert match.inner_text() == KURSK and match.locator("mark").all_inner_texts() == ["drones", "Kursk"]
    article = open_link(page, match)
    assert article.inner_text("mark#hl") == KURSK
    article.close()

    search(page, "mgarr")  # the text, combined with an outlet
    page.wait_for_function("document.querySelector('#nr-pager').innerText.includes('of 2 matching')")
    page.click("#nr-lib-outlet input")
    page.click("[role=option]:has-text('Malta Maritime Review')")
    page.wait_for_function("document.querySelector('#nr-pager').innerText.includes('of 1 matching')")
    assert page.locator("#nr-articles tbody .nr-title").all_inner_texts() == ["Storm closes Mgarr harbour"]
    assert page.locator("#nr-articles tbody .nr-match mark").all_inner_texts() == ["Mgarr"]
    assert covered(page) == []
    if screen != "phone-430":
        assert axe(page) == []

    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))  # nothing is removed
    page.locator("#nr-articles tbody .nr-pick").first.check()
    page.click("#nr-remove")  # returns once the dialog is answered
    assert asked == ["Remove this article and its passages from the library?"]


def test_article_pages_show_clean_text_and_a_removed_one_says_so(context, site, screen):
    url, library, removed = site
    page = context.new_page()
    reopens = next(r for r in library.articles() if r.title == "Harbour reopens after the storm")
    body = library.article(reopens.id).body
    assert NEWSLETTER not in body and "verifyErrors" not in body  # boilerplate: neither stored nor indexed
    start = body.index("Ferries resumed")
    page.goto(f"{url}/articles/{reopens.id}?start={start}&end={start + 15}#hl")
    assert page.inner_text("mark#hl") == "Ferries resumed"
    text = page.inner_text(".body")
    assert "SIGN UP" not in text and "{{" not in text
    assert page.evaluate("""() => { const r = document.querySelector('mark#hl').getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight; }""")
    assert covered(page) == []
    assert axe(page) == []

    page.goto(f"{url}/articles/{removed.id}?start=0&end=10#hl")  # a citation stored before the removal
    assert page.inner_text("h1") == "Article removed"
    day = when_ts(library.removed(removed.id)["at"])
    assert flat(page.inner_text(".error")) == (
        f"“Old ferry notice” was removed from the library on {day}. What was quoted from it can no longer be "
        "shown here.")
    assert "newsrag articles" not in page.inner_text("body")
    assert axe(page) == []
    page.click("text=← Back to the chat")
    page.wait_for_selector("#nr-question textarea")
    assert re.fullmatch(rf"{re.escape(url)}/?", page.url)
