"""The real chat in headless Chromium (Debian's ``chromium``, driven by Playwright's sync API), on a
phone (390x844) and a desktop (1440x900) screen.

One server per module (uvicorn in a thread, on the sample articles); a fresh browser context per
test, so each starts with empty localStorage. Every test also checks that the page never
requested anything from another host. The stop test streams from a real llama.cpp server (the tiny
SmolLM2-135M-Instruct GGUF), started only for it.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, free_port, make_library, serve_in_thread, smollm2_gguf, stop, wait_for_port
from helpers import (
    ARGS,
    CHROMIUM,
    DRONES,
    SECRET,
    TIMEOUT,
    VIEWPORTS,
    WORLD_CUP,
    answers,
    ask,
    date_filter,
    flat,
    manage,
    open_link,
    settled,
    sidebar,
    written,
)
from playwright.sync_api import expect

from ui.app import WIDE

pytestmark = pytest.mark.browser

SCREENSHOTS = {"desktop": ROOT / "docs" / "screenshot.png", "phone": ROOT / "docs" / "screenshot-mobile.png"}
BOT = "#nr-chat .message.bot"
RYAZAN = "How many drones were shot down over the Ryazan region?"
UNTITLED_64 = 'Untitled — "The Russian Ministry of Defense has confirmed …"'
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
STORM = """---
title: Storm closes the Mgarr harbour
outlet: Malta Maritime Review
date: 2024-02-01
---
A storm closed the Mgarr harbour on Thursday night, stranding 40 ferries.
"""
REOPENS = """---
title: Mgarr harbour reopens
outlet: Gozo Gazette
date: 2024-02-11
---
The Mgarr harbour reopened on Sunday after the storm, ten days after it closed.
"""


@pytest.fixture(scope="module")
def llm_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder, llm_port):
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings
    from ui.server import create_app
    from ui.settings import ServeSettings

    library = make_library(tmp_path_factory.mktemp("browser") / "home", embedder)
    assert library.ingest([SEEDS]).added == 2
    settings = RagSettings(index=library.settings, llm_base_url=f"http://127.0.0.1:{llm_port}/v1",
                           llm_max_tokens=300)
    port = free_port()
    app = create_app(pipeline=Pipeline(settings, library=library), serve=ServeSettings(port=port), secret=SECRET)
    with serve_in_thread(app, port) as url:
        yield url


class _Paced(BaseHTTPRequestHandler):
    """Forwards a request to the llama.cpp server and its streamed reply back one event at a time,
    ``PACE`` seconds apart: SmolLM2 writes its short reply in well under a second, too fast for a
    stop to land mid-reply on a busy machine; at this pace it is a slow model's stream."""

    upstream = 0
    PACE = 0.25

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        connection = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=120)
        try:
            connection.request("POST", self.path, body, {"Content-Type": self.headers.get("Content-Type", "")})
            reply = connection.getresponse()
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.getheader("Content-Type", "application/json"))
            self.end_headers()  # HTTP/1.0: the body ends when this connection closes
            for line in reply:
                self.wfile.write(line)
                self.wfile.flush()
                if line.startswith(b"data:"):
                    time.sleep(self.PACE)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: the stop the test is about
        finally:
            connection.close()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def llama(llm_port, tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server with SmolLM2-135M-Instruct on a port of its own,
    reached through ``_Paced`` on ``llm_port``."""
    folder = tmp_path_factory.mktemp("llama")
    gguf = smollm2_gguf()
    port = free_port()
    handler = type("Paced", (_Paced,), {"upstream": port})
    proxy = ThreadingHTTPServer(("127.0.0.1", llm_port), handler)
    threading.Thread(target=proxy.serve_forever, name="paced-llama", daemon=True).start()
    with open(folder / "server.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host",
                                    "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2",
                                    "--verbose", "False"], stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
        try:
            wait_for_port(port, timeout=120, process=process)
            yield
        finally:
            stop(process)
            proxy.shutdown()
            proxy.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=list(VIEWPORTS))
def screen(request) -> str:
    return request.param


def open_page(browser, server, screen: str):
    context = browser.new_context(viewport=VIEWPORTS[screen], accept_downloads=True)
    context.set_default_timeout(TIMEOUT)
    elsewhere: list[str] = []
    context.on("request", lambda r: None if r.url.startswith((server, "data:", "blob:")) else elsewhere.append(r.url))
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(server)
    page.wait_for_selector("#nr-question textarea")
    page.wait_for_selector("#nr-conversations label")  # the stored conversations are restored
    if VIEWPORTS[screen]["width"] >= WIDE:  # opened by the page's script once loaded, then slides in
        page.wait_for_selector("#nr-sidebar.open")
    settled(page)
    return context, page, elsewhere


@pytest.fixture
def page(browser, server, screen):
    context, page, elsewhere = open_page(browser, server, screen)
    yield page
    context.close()
    assert elsewhere == [], "the page called another host"


@pytest.fixture
def desktop(browser, server):
    context, page, elsewhere = open_page(browser, server, "desktop")
    yield page
    context.close()
    assert elsewhere == [], "the page called another host"


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


def in_viewport(page, selector: str) -> bool:
    return page.evaluate("""(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight; }""", selector)


def reachable(locator) -> bool:
    """Scrolled into view, the element is inside the window and on top at its centre (nothing covers it)."""
    locator.scroll_into_view_if_needed()
    settled(locator.page)
    return locator.evaluate("""(e) => { const r = e.getBoundingClientRect();
        const x = r.left + Math.min(r.width / 2, 40), y = r.top + r.height / 2;
        const top = document.elementFromPoint(x, y);
        return r.width > 0 && r.height > 0 && r.top >= -1 && r.bottom <= window.innerHeight + 1 && r.left >= -1
            && r.right <= window.innerWidth + 1 && top !== null && (top === e || e.contains(top)); }""")


def box(page, selector: str) -> dict:
    return page.evaluate("""(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        return {top: r.top + window.scrollY, bottom: r.bottom + window.scrollY, left: r.left, right: r.right}; }""",
                         selector)


def overlap(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def conversations(page) -> list[str]:
    return page.locator("#nr-conversations label").all_inner_texts()


def library_tab(page) -> None:
    page.click("button[role=tab]:has-text('Library')")
    page.wait_for_selector("#nr-pager .nr-pager")


def upload(page, files: list[Path]) -> str:
    library_tab(page)
    page.set_input_files("#nr-upload input[type=file]", [str(f) for f in files])
    # the file is sent to the server before its name shows: on a busy machine that can take a while
    page.wait_for_selector("#nr-upload :text('" + files[0].name + "')", timeout=180_000)
    page.click("#nr-ingest")
    # the server's first upload loads the language model too (a few seconds, more on a busy machine)
    page.wait_for_selector("#nr-upload-status .nr-up-summary", timeout=180_000)
    return page.inner_text("#nr-upload-status")


def remove_ticked(page, titles: list[str]) -> str:
    """Tick the rows with these titles (searching the library for each) and remove them."""
    for title in titles:
        page.fill("#nr-lib-q input", "")
        page.locator("#nr-lib-q input").press_sequentially(title)
        row = page.locator("#nr-articles tbody tr", has_text=title)
        row.locator(".nr-pick").check()
        assert page.inner_text("#nr-articles .nr-picked") in {"1 selected", ""}  # hidden header on phones
        page.click("#nr-remove")
        page.wait_for_selector(f"#nr-report :text('Removed “{title}”')")
    return page.inner_text("#nr-report")


# ---------------------------------------------------------------------------------------- tests


def test_the_answer_streams_in_with_its_banner_and_sources_every_card_reachable(page, screen):
    record_bot_texts(page)
    ask(page, DRONES)
    page.wait_for_selector(f"{BOT} .nr-conflict")
    texts = page.evaluate("window.__texts")
    assert "Searching the articles…" in texts
    # the first quoted sentence was on screen before the second arrived
    assert any("55 Ukrainian drones over Russian territory" in t and "destroyed 64 Ukrainian drones" not in t
               for t in texts)

    answer = last_answer(page)
    assert flat(answer.locator(".nr-conflict").inner_text()) == (
        "⚠ Reports differ 55 Ukrainian drones — Miami News, KMIA, undated [1] "
        "64 Ukrainian drones — outlet unknown, undated [2] "
        "Nothing shows these reports describe the same event: check their dates.")
    assert answer.locator(".nr-text .nr-s").all_inner_texts()[0] == QUOTE_55 + "[1]"
    assert answer.locator(".nr-text a.nr-cite").all_inner_texts() == ["[1]", "[2]"]
    assert answer.locator(".nr-footer").inner_text().startswith("mode: extractive · ")
    assert answer.locator(".nr-timeline[open]").count() == 0  # not a question about time: closed
    assert "Answering mode: extractive" in page.inner_text("#nr-mode")

    cards = page.locator("#nr-sources .nr-card")
    assert cards.count() == 2
    first, second = cards.nth(0), cards.nth(1)
    assert first.locator(".nr-title").inner_text().startswith("Urgent Update: Russia Intercepts 55 Ukrainian Drones")
    assert first.locator(".nr-meta").inner_text() == "Miami News, KMIA · undated"
    assert first.locator(".nr-quote .nr-tag").inner_text() == "differs: 55 Ukrainian drones"
    assert first.locator("mark").inner_text() == QUOTE_55
    assert second.locator(".nr-title").inner_text() == UNTITLED_64  # never the file name
    assert second.locator(".nr-meta").inner_text().startswith("outlet unknown · undated")

    # layout: every card, its title and its link can be seen and clicked; nothing overlaps
    for card in (first, second):
        for part in (card, card.locator(".nr-title"), card.locator(".nr-open")):
            assert reachable(part), part
    chat, sources, footer = (box(page, s) for s in ("#nr-chat", "#nr-sources-col", ".nr-footer-links"))
    assert not overlap(chat, sources) and not overlap(sources, footer) and not overlap(chat, footer)
    panel = page.locator("#nr-sources")
    if screen == "desktop":  # beside the answer, scrolling on its own within the window
        assert sources["left"] >= chat["right"] and sources["top"] < chat["bottom"]
        assert panel.evaluate("e => getComputedStyle(e).overflowY") == "auto"
        assert panel.evaluate("e => e.scrollHeight > e.clientHeight && e.getBoundingClientRect().height "
                              "<= window.innerHeight")
        page.evaluate("window.scrollTo(0, 0)")
        panel.evaluate("e => { e.scrollTop = e.scrollHeight; }")
        assert page.evaluate("window.scrollY") == 0 and panel.evaluate("e => e.scrollTop") > 0
    else:  # collapsed under the answer, read with the page
        assert sources["top"] >= chat["bottom"]
        assert panel.evaluate("e => getComputedStyle(e).overflowY") == "visible"

    # the screenshots of the README: the answer from its top, the panel from its first card
    page.evaluate("window.scrollTo(0, 0)")
    panel.evaluate("e => { e.scrollTop = 0; }")
    if screen == "phone":
        last_answer(page).evaluate("e => e.scrollIntoView({block: 'start'})")
    SCREENSHOTS[screen].parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS[screen]))


def test_every_citation_opens_the_article_at_its_highlighted_sentence(page):
    ask(page, DRONES)
    page.wait_for_selector(f"{BOT} a.nr-cite")
    article = open_link(page, page.locator(f"{BOT} .nr-text a.nr-cite").first)
    assert article.title().startswith("Urgent Update: Russia Intercepts 55 Ukrainian Drones")
    assert article.inner_text("mark#hl") == QUOTE_55
    assert in_viewport(article, "mark#hl")
    assert "Miami News, KMIA" in article.inner_text(".meta")
    card = open_link(page, page.locator("#nr-sources .nr-card").nth(1).locator(".nr-open"))
    assert card.title() == UNTITLED_64 and card.inner_text("h1") == UNTITLED_64
    assert card.inner_text(".meta").startswith("outlet unknown · undated")
    assert card.inner_text("mark#hl").startswith("The Russian Ministry of Defense has confirmed")


def test_a_refusal_says_so_and_lists_the_closest_passages_once(page):
    ask(page, WORLD_CUP)
    page.wait_for_selector(f"{BOT} .nr-refused")
    answer = last_answer(page)
    assert answer.locator(".nr-notfound").inner_text() == "Not in the articles\nThe indexed articles do not answer this."
    assert answer.locator(".nr-note").inner_text() == \
        "The 3 closest passages are under Sources, for you to check (not citations)."
    assert answer.locator("li, .nr-conflict, a.nr-cite").count() == 0
    assert page.inner_text("#nr-sources .nr-note").startswith("Not in the articles. The closest passages")
    closest = page.locator("#nr-sources .nr-card-closest")
    assert closest.count() == 3
    assert [closest.nth(i).locator(".nr-n").inner_text() for i in range(3)] == ["1.", "2.", "3."]
    assert reachable(closest.nth(2).locator(".nr-open"))
    article = open_link(page, closest.nth(0).locator(".nr-open"))
    assert article.inner_text("mark#hl").strip()


def test_conversations_are_kept_listed_renamed_and_deleted(page):
    ask(page, DRONES)
    answers(page, 1)
    ask(page, "And how many in the other report?")
    answers(page, 2)
    assert "55 Ukrainian drones" in last_answer(page).inner_text()  # the history made it a follow-up
    sidebar(page, open_=True)
    assert conversations(page) == [DRONES]
    page.click("#nr-new")
    page.wait_for_function("document.querySelectorAll('#nr-chat .message').length == 0")
    sidebar(page, open_=False)
    ask(page, "Which regions were the drones shot down over?")
    answers(page, 1)
    sidebar(page, open_=True)
    assert conversations(page) == ["Which regions were the drones shot down over?", DRONES]

    page.locator("#nr-conversations label", has_text=DRONES).click()
    answers(page, 2)
    assert page.locator("#nr-chat .message.user").all_inner_texts() == [DRONES, "And how many in the other report?"]
    links = page.locator(f"{BOT} a.nr-cite").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    manage(page)
    assert page.input_value("#nr-name input, #nr-name textarea") == DRONES
    page.fill("#nr-name input, #nr-name textarea", "Night of the drones")
    page.click("#nr-rename")
    page.wait_for_function("[...document.querySelectorAll('#nr-conversations label')].some("
                           "l => l.innerText.includes('Night of the drones'))")
    written(page, lambda k: "Night of the drones" in [c["title"] for c in k["conversations"]])

    page.reload()
    page.wait_for_selector("#nr-conversations label")
    answers(page, 2)
    sidebar(page, open_=True)
    # the one asked last first; the one shown is the one that was open
    assert conversations(page) == ["Which regions were the drones shot down over?", "Night of the drones"]
    assert page.locator(f"{BOT} a.nr-cite").evaluate_all("links => links.map(a => a.getAttribute('href'))") == links
    assert page.locator("#nr-sources .nr-sources-head").inner_text() == "Sources for “And how many in the other report?”"

    manage(page)
    page.click("#nr-delete")
    page.click("#nr-delete-yes")
    page.wait_for_function("document.querySelectorAll('#nr-conversations label').length == 1")
    assert conversations(page) == ["Which regions were the drones shot down over?"]
    answers(page, 1)
    written(page, lambda k: [c["title"] for c in k["conversations"]] == [
        "Which regions were the drones shot down over?"])
    page.reload()
    page.wait_for_selector("#nr-conversations label")
    sidebar(page, open_=True)
    assert conversations(page) == ["Which regions were the drones shot down over?"]


def test_regenerate_and_edit_and_resend(page):
    ask(page, DRONES)
    answers(page, 1)
    ask(page, "And over which regions?")
    answers(page, 2)
    first_answer = page.locator(BOT).first.inner_text()

    page.locator("#nr-chat button[aria-label='Retry']").last.click()  # regenerate the last answer
    # (no wait for the stop button: an extractive answer can come back before a poll would see it)
    page.wait_for_function("document.querySelectorAll('#nr-chat .message.bot .nr-footer').length == 2")
    answers(page, 2)
    page.wait_for_selector("#nr-ask", state="visible")
    assert page.locator("#nr-chat .message.user").all_inner_texts() == [DRONES, "And over which regions?"]

    page.locator("#nr-chat .message-row.user-row").first.hover()
    page.locator("#nr-chat button[aria-label='Edit']").first.click()
    assert page.locator("#nr-chat textarea").input_value() == DRONES  # the question as typed, no markup
    page.locator("#nr-chat textarea").fill(RYAZAN)
    page.locator("#nr-chat button[aria-label='Submit']").click()
    page.wait_for_function("document.querySelectorAll('#nr-chat .message.user').length == 1 && "
                           "document.querySelectorAll('#nr-chat .message.bot .nr-footer').length == 1")
    answer = last_answer(page).inner_text()
    assert "25 of these drones were shot down over the Ryazan region" in answer and answer != first_answer
    written(page, lambda k: [[(e["question"], "25 of these drones were shot down" in json.dumps(e["answer"]))
                              for e in c["exchanges"]] for c in k["conversations"]] == [[(RYAZAN, True)]])
    page.reload()  # the edited conversation is what was kept
    answers(page, 1)
    assert page.locator("#nr-chat .message.user").all_inner_texts() == [
        RYAZAN]


@pytest.mark.llm
def test_stop_keeps_the_partial_answer_and_gives_the_question_back(llama, desktop):
    page = desktop
    page.click("#nr-settings button:has-text('Settings')")
    page.click("#nr-mode-pick input")
    page.click("[role=option]:has-text('openai')")
    page.fill("#nr-top-k input[type=number]", "1")
    page.press("#nr-top-k input[type=number]", "Enter")
    # Stop the moment the first checked sentence shows, in the page itself (an observer sees every
    # change of the chat, however briefly it lasts)
    page.evaluate("""() => { window.__stopped = null; new MutationObserver((_, observer) => {
        const t = document.querySelector('#nr-chat .message.bot .nr-streaming .nr-text');
        if (!t || !t.innerText.trim().length) return;
        const stop = document.querySelector('#nr-stop button, button#nr-stop');
        const ask = document.querySelector('#nr-ask');
        observer.disconnect();
        window.__stopped = {text: t.innerText, stop: !!(stop && stop.offsetParent),
                            ask: !!(ask && ask.offsetParent)};
        stop.click();
      }).observe(document.querySelector('#nr-chat'), {childList: true, subtree: true, characterData: true}); }""")
    ask(page, DRONES)
    try:
        page.wait_for_function("window.__stopped !== null", timeout=120_000)
    except Exception:
        pytest.fail(f"no sentence showed while the answer streamed; the chat shows: {last_answer(page).inner_text()!r}")
    # while it streamed, Stop stood where Ask was
    assert {k: v for k, v in page.evaluate("window.__stopped").items() if k != "text"} == {"stop": True, "ask": False}
    page.wait_for_selector(f"{BOT} .nr-stopped")
    partial = last_answer(page).locator(".nr-text").inner_text()
    assert partial.strip()
    assert page.input_value("#nr-question textarea") == DRONES
    assert page.is_visible("#nr-ask") and not page.is_visible("#nr-stop")
    page.wait_for_timeout(1500)  # nothing more arrives once stopped
    assert last_answer(page).locator(".nr-text").inner_text() == partial
    assert last_answer(page).locator(".nr-stopped").inner_text() == \
        "Stopped. Regenerate, or edit the question and ask again."


def test_a_conversation_exports_as_markdown_with_its_citations(page):
    ask(page, DRONES)
    answers(page, 1)
    manage(page)
    page.wait_for_function("!document.querySelector('#nr-export').disabled")
    with page.expect_download() as download:
        page.click("#nr-export")
    assert download.value.suggested_filename == "newsrag-how-many-drones-were-intercepted.md"
    text = Path(download.value.path()).read_text()
    assert text.startswith(f"# {DRONES}\n\n_Exported from newsrag on ")
    assert ("> **⚠ Reports differ:** 55 Ukrainian drones — Miami News, KMIA, undated [1]; 64 Ukrainian drones — "
            "outlet unknown, undated [2]") in text
    assert f"  > {QUOTE_55}\n" in text
    assert f'- [2] **{UNTITLED_64}** — outlet unknown, undated\n' in text
    href = page.locator(f"{BOT} .nr-text a.nr-cite").first.get_attribute("href")
    assert f"  - In newsrag: <{page.url.rstrip('/')}/{href}>\n" in text


def test_uploads_show_each_file_a_time_question_opens_the_timeline_and_ticked_articles_go(page, tmp_path):
    files = []
    for name, text in (("storm.md", STORM), ("reopens.md", REOPENS), ("broken.json", "{nope")):
        files.append(tmp_path / name)
        files[-1].write_text(text)
    status = upload(page, files)
    assert status.splitlines()[:3] == [
        "storm.md added · 1 article, 1 passage", "reopens.md added · 1 article, 1 passage",
        "broken.json failed: malformed JSON at line 1, column 2 (Expecting property name enclosed in double quotes)"]
    # the list re-renders once the job has committed both articles: wait for that state, not a time
    expect(page.locator("#nr-pager")).to_have_text("Articles 1–4 of 4, newest first", timeout=60_000)
    expect(page.locator("#nr-articles tbody .nr-title").nth(0)).to_have_text("Mgarr harbour reopens")
    expect(page.locator("#nr-articles tbody .nr-title").nth(1)).to_have_text("Storm closes the Mgarr harbour")

    page.click("button[role=tab]:has-text('Chat')")
    ask(page, "When did the storm close the Mgarr harbour and when did it reopen?")
    answers(page, 1)
    timeline = last_answer(page).locator(".nr-timeline[open]")  # a question about time: open
    assert timeline.locator("summary").inner_text() == \
        "Timeline: 2 dated sources, 2024-02-01 → 2024-02-11, 10 days"
    assert timeline.locator(".nr-tl-axis time").all_inner_texts() == ["2024-02-01", "2024-02-11"]
    entries = timeline.locator(".nr-tl-axis li").all_inner_texts()
    assert "A storm closed the Mgarr harbour" in entries[0] and "reopened on Sunday" in entries[1]
    assert reachable(timeline.locator(".nr-tl-axis a.nr-cite").last)

    library_tab(page)
    page.locator("#nr-lib-q input").press_sequentially("mgarr")
    page.wait_for_function("document.querySelector('#nr-pager').innerText.includes('of 2 matching')")
    for row in page.locator("#nr-articles tbody .nr-pick").all():
        row.check()
    if page.locator("#nr-articles thead").is_visible():
        assert page.inner_text("#nr-articles .nr-picked") == "2 selected"
    page.click("#nr-remove")
    page.wait_for_selector("#nr-report :text('Removed 2 articles (2 passages).')")
    page.wait_for_function("document.querySelector('#nr-pager').innerText === '0 articles'")
    page.fill("#nr-lib-q input", "")
    page.locator("#nr-lib-q input").press_sequentially(" ")
    page.wait_for_function("document.querySelector('#nr-pager').innerText === 'Articles 1–2 of 2, newest first'")


def test_an_uploaded_article_can_be_asked_about_opened_at_its_sentence_and_removed(desktop, tmp_path):
    page = desktop
    path = tmp_path / "marsaxlokk-market.txt"
    path.write_text(LONG_ARTICLE)
    assert upload(page, [path]).startswith("marsaxlokk-market.txt added · 1 article, ")
    expect(page.locator("#nr-articles")).to_contain_text('Untitled — "Item 0 of the council agenda concerned street …"',
                                                         timeout=60_000)
    expect(page.locator("#nr-stats")).to_contain_text("Articles\n3", use_inner_text=True)

    page.click("button[role=tab]:has-text('Chat')")
    ask(page, "How many tonnes of bluefin tuna did the Marsaxlokk fish market sell?")
    answers(page, 1)
    assert "812 tonnes of bluefin tuna" in last_answer(page).inner_text()
    article = open_link(page, page.locator(f"{BOT} .nr-text a.nr-cite").first)
    assert article.inner_text("mark#hl").startswith("The Marsaxlokk fish market sold 812 tonnes")
    assert article.evaluate("window.scrollY") > 500 and in_viewport(article, "mark#hl")

    library_tab(page)
    assert remove_ticked(page, ['Untitled — "Item 0 of the council agenda concerned street …"']).startswith(
        'Removed “Untitled — "Item 0 of the council agenda concerned street …"” (')
    expect(page.locator("#nr-articles")).not_to_contain_text("Item 0 of the council", timeout=60_000)  # re-rendered


def test_article_text_is_shown_as_text_and_never_runs(desktop, tmp_path):
    page = desktop
    path = tmp_path / "festival.md"
    path.write_text(EVIL_ARTICLE)
    assert upload(page, [path]).startswith("festival.md added")
    title = 'Festival <img src=x onerror="window.__pwned=1"> report'
    expect(page.locator("#nr-articles")).to_contain_text(title, timeout=60_000)  # once the list re-renders
    assert "Gozo <b>Gazette</b>" in page.inner_text("#nr-articles")

    page.click("button[role=tab]:has-text('Chat')")
    ask(page, "How many visitors did the Zorblax festival draw?")
    answers(page, 1)
    shown = last_answer(page).inner_text()
    assert "12,000 visitors <script>window.__pwned=2;document.title='pwned'</script> to the harbour." in shown
    sources = page.inner_text("#nr-sources")
    assert title in sources and "Gozo <b>Gazette</b>" in sources and "<script>window.__pwned=2" in sources
    assert page.evaluate("window.__pwned") is None and page.title() == "newsrag"

    article = open_link(page, page.locator(f"{BOT} .nr-text a.nr-cite").first)
    body = article.inner_text(".body")
    assert "<script>window.__pwned=2" in body and '<img src=x onerror="window.__pwned=4">' in body
    assert "${window.__pwned=3}" in body
    assert article.title() == title
    assert article.evaluate("window.__pwned") is None
    assert article.evaluate("document.querySelectorAll('script, img').length") == 0
    library_tab(page)
    remove_ticked(page, [title])


def test_a_bad_setting_is_shown_as_an_error_and_the_chat_keeps_working(desktop):
    page = desktop
    date_filter(page, "since", "last week")
    ask(page, DRONES)
    page.wait_for_selector(f"{BOT} .nr-failed")
    message = "since='last week' is not a date: use YYYY-MM-DD, e.g. 2023-10-01."
    assert last_answer(page).inner_text().strip() == message
    page.wait_for_selector(f".toast-body:has-text(\"{message}\")")
    date_filter(page, "since", "")
    ask(page, DRONES)
    page.wait_for_selector(f"{BOT} .nr-conflict")
    assert page.locator(f"{BOT} .nr-failed").count() == 0  # failed turns are not kept
