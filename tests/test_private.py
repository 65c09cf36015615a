"""Conversations stay private: nothing is written for a chat, inside or outside the home, unless its
user exports it; an export waits in memory for one download by the session that asked for it; the
server's temporary files (Gradio's included) live under the home, never in the shared /tmp."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest
from conftest import SEEDS, VENV_BIN, free_port, make_library, serve_in_thread, stop, wait_for_port
from helpers import TOKEN, build, upload

from ui.export import Exports

QUESTION = "How many drones were intercepted over Ryazan, per the defence ministry?"


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_an_export_is_served_once_to_the_one_who_asked():
    exports = Exports(clock=Clock())
    key = exports.put("# A\n", "newsrag-a.md", owner="editor")
    assert len(key) >= 32
    assert exports.take(key, owner="someone") is None  # another login: not theirs, and still waiting
    assert exports.take(key, owner=None) is None
    found = exports.take(key, owner="editor")
    assert (found.text, found.name) == ("# A\n", "newsrag-a.md")
    assert exports.take(key, owner="editor") is None and len(exports) == 0  # once


def test_unclaimed_exports_expire_and_are_bounded():
    clock = Clock()
    exports = Exports(ttl=60, max_items=3, max_chars=10, clock=clock)
    first = exports.put("aaaa", "a.md", owner=None)
    clock.now += 61
    assert exports.take(first, owner=None) is None  # expired
    keys = [exports.put("bb", f"{i}.md", owner=None) for i in range(4)]
    assert len(exports) == 3 and exports.take(keys[0], owner=None) is None  # the oldest went first
    exports.put("c" * 8, "big.md", owner=None)  # 10 characters in all at most
    assert len(exports) == 2 and exports.take(keys[-1], owner=None).name == "3.md"


def test_behind_a_login_only_the_user_who_exported_downloads_it(tmp_path, embedder):
    app, _, port = build(make_library(tmp_path / "home", embedder), auth=("editor", "correct horse"),
                         api_token=TOKEN)
    key = app.state.exports.put("# Drones\n", "newsrag-drones.md", owner="editor")
    with serve_in_thread(app, port) as url, httpx.Client(base_url=url, timeout=60) as client:
        assert client.get(f"/exports/{key}").status_code == 404  # not logged in
        assert client.get(f"/exports/{key}", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
        assert client.post("/login", data={"username": "editor", "password": "correct horse"}).status_code == 200
        served = client.get(f"/exports/{key}")
        assert served.text == "# Drones\n" and served.headers["cache-control"] == "no-store"
        assert served.headers["content-disposition"] == 'attachment; filename="newsrag-drones.md"'
        assert client.get(f"/exports/{key}").json() == {
            "error": "This export was already downloaded, has expired or is another session's: click Export "
                     "as Markdown again.", "type": "NotFoundError"}


def files_under(*roots: Path) -> list[Path]:
    return sorted(p for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


def holding(text: str, *roots: Path) -> list[Path]:
    """Files whose bytes contain ``text`` (UTF-8 or UTF-16: sqlite and Chroma keep plain bytes)."""
    needles = [text.encode(), text.encode("utf-16-le")]
    return [p for p in files_under(*roots) if any(n in p.read_bytes() for n in needles)]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`newsrag serve` on the sample articles, its TMPDIR a folder of its own to watch."""
    tmp = tmp_path_factory.mktemp("private")
    home, systemp = tmp / "home", tmp / "systemp"
    systemp.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("NEWSRAG_") or k == "GRADIO_TEMP_DIR") or k == "NEWSRAG_MODEL_DIR"}
    env |= {"NEWSRAG_HOME": str(home), "TMPDIR": str(systemp)}
    with open(tmp / "serve.log", "w+") as log:
        process = subprocess.Popen([str(VENV_BIN / "newsrag"), "serve", "--port", str(port)], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, timeout=120, process=process)
            url = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=url, timeout=120) as client:
                files = [("files", (p.name, p.read_bytes())) for p in sorted(SEEDS.glob("*.txt"))]
                assert upload(client, files)["report"]["added"] == 2
            yield url, home, systemp, process
        finally:
            stop(process)


@pytest.mark.slow
@pytest.mark.browser
def test_a_chat_session_writes_nothing_outside_the_home_and_nothing_of_the_conversation(served):
    from helpers import ARGS, CHROMIUM, TIMEOUT, answers, ask, manage
    from playwright.sync_api import sync_playwright

    url, home, systemp, process = served
    mine = home / "tmp" / str(process.pid)
    assert mine.is_dir() and oct(mine.stat().st_mode & 0o777) == "0o700"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
            context.set_default_timeout(TIMEOUT)
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector("#nr-conversations label")
            ask(page, QUESTION)
            answers(page, 1)
            ask(page, "And over Kursk?")
            answers(page, 2)
            page.reload()
            page.wait_for_selector("#nr-chat .message.bot .nr-footer")  # restored from the browser
            # answered, reloaded: nothing of the conversation is on the server's disk
            assert holding(QUESTION, home, systemp) == []
            manage(page)
            page.wait_for_function("!document.querySelector('#nr-export').disabled")
            with page.expect_download() as download:
                page.click("#nr-export")
            text = Path(download.value.path()).read_text()
            assert download.value.suggested_filename.startswith("newsrag-how-many-drones-were-intercepted")
            assert text.startswith("# How many drones were intercepted over Ryazan, per the…\n")
            assert f"## 1. {QUESTION}\n" in text and "## 2. And over Kursk?\n" in text
            address = download.value.url
            context.close()
        finally:
            browser.close()
    # the export was served once: its address answers nothing now
    again = httpx.get(address, timeout=30)
    assert again.status_code == 404 and "already downloaded" in again.json()["error"]
    assert holding(QUESTION, home, systemp) == []  # exported, still nothing on disk
    assert files_under(systemp) == []  # nothing of the server's in the shared temporary folder
    assert [p.name for p in systemp.iterdir()] == []
