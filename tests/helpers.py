"""What the test modules share (imported as ``helpers``; no test module imports another): evidence
sentences, the HTTP app on a library and what its clients do, the consistency of an index, and the
browser the UI tests drive."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
import time

import httpx
from conftest import ROOT, free_port, make_library
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from index.language import annotate
from index.offline import OFFLINE_ENV
from index.quantized import unpack
from index.settings import FetchSettings
from index.store import chunk_id
from rag.evidence import Candidate
from rag.types import Location


def sentence(text: str, *, source: str | None = None, day: str | None = None, score: float = 0.8,
             article: str | None = None, vector=None) -> Candidate:
    """An evidence sentence of its own article (``article`` names it when two share one), annotated
    by the real spaCy model."""
    article = article or f"{source or 'anon'}-{abs(hash(text)) % 10_000}"
    location = Location(article_id=article, title="t", source=source, published_at=day, url=None,
                        chunk_id=f"{article}-0", start=0, end=len(text))
    (facts,) = annotate([text])
    return Candidate(location=location, text=text, rank=0, facts=facts, score=score, vector=vector)


def numbered(*cands: Candidate) -> list[tuple[int, Candidate]]:
    return list(enumerate(cands, start=1))


# ------------------------------------------------------------------------------- the HTTP app

DRONES = "How many drones were intercepted?"


WORLD_CUP = "Who won the World Cup?"


TOKEN = "api-token-" + "x" * 16


SECRET = "browser-secret-" + "y" * 16


def build(library, **serve_options):
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings
    from ui.server import create_app
    from ui.settings import ServeSettings

    pipeline = Pipeline(RagSettings(index=library.settings), library=library)
    port = free_port()
    return create_app(pipeline=pipeline, serve=ServeSettings(port=port, **serve_options), secret=SECRET), \
        pipeline, port


def one_article_pipeline(tmp_path, embedder, text: str, *, name: str = "article.md"):
    """A pipeline over a fresh library holding one article (``text``, Markdown with its title)."""
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings

    library = make_library(tmp_path / "home", embedder)
    article = tmp_path / name
    article.write_text(text, encoding="utf-8")
    assert library.ingest([article]).added == 1
    return Pipeline(RagSettings(index=library.settings), library=library)


def upload(client: httpx.Client, files, **options) -> dict:
    """POST files, then follow the upload job to its end; returns the finished job."""
    started = client.post("/api/articles", files=files, **options)
    assert started.status_code == 202, started.text
    assert started.headers["location"] == f"/api/jobs/{started.json()['id']}"
    job = client.get(started.headers["location"], params={"wait": 60}).json()
    assert job["status"] == "done", job
    return job


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert set(body) == {"error", "type"}, body
    return response.status_code, body["type"], body["error"]


def gradio_call(client: httpx.Client, api_name: str, data: list) -> str:
    """Call a function of the mounted Gradio app through Gradio's own HTTP API; the SSE text."""
    started = client.post(f"/gradio_api/call/{api_name}", json={"data": data})
    if started.status_code != 200:
        return started.text
    event_id = started.json()["event_id"]
    return client.get(f"/gradio_api/call/{api_name}/{event_id}").text


# ---------------------------------------------------------------------------- index consistency

def assert_consistent(lib):
    records = {r.id: r for r in lib.store.list_articles()}
    expected = sorted(chunk_id(r.version, i) for r in records.values() for i in range(r.n_chunks))
    assert sorted(cid for cid, _, _ in lib.store.chunk_versions()) == expected
    # every chunk holds one vector and one line of facts per sentence
    for chunk in lib.store.get_chunks(expected).values():
        rows, scales = unpack(chunk.vectors)
        assert len(rows) == len(scales) == len(chunk.sentences) == len(chunk.facts.split("\n")) > 0
    owners = [k for r in records.values() for k in r.keys]
    assert len(owners) == len(set(owners)), "a key owned by two articles"


# ----------------------------------------------------------------------------------- routes

def walk(routes, prefix: str = ""):
    """(method, path) of every route, through included routers (FastAPI 0.165 wraps them)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from walk(inner.routes, prefix + route.include_context.prefix)
        for method in getattr(route, "methods", None) or ():
            yield method, prefix + route.path


# --------------------------------------------------------------------------------- browser

CHROMIUM = "/usr/bin/chromium"


ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}


TIMEOUT = 60_000


def ask(page, question: str) -> None:
    page.fill("#nr-question textarea", question)
    page.click("#nr-ask")


def answers(page, n: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('#nr-chat .message.bot .nr-footer').length == {n}")


def sidebar(page, *, open_: bool) -> None:
    """Open or close the conversations sidebar (it starts closed on a phone)."""
    is_open = page.locator("#nr-sidebar.open").count() == 1
    if is_open != open_:
        page.click("#nr-sidebar .toggle-button")
        page.wait_for_selector("#nr-sidebar.open" if open_ else "#nr-sidebar:not(.open)")
        settled(page)  # the slide


# No transition or finite animation still running (a spinner's endless one does not count): what a
# test reads about positions is where things stay, not a frame of a sidebar sliding in.
SETTLED_JS = """() => document.getAnimations().every((a) => a.playState !== 'running'
    || a.effect === null || a.effect.getComputedTiming().endTime === Infinity)"""


RUNNING_JS = """() => document.getAnimations().filter((a) => a.playState === 'running' && a.effect
    && a.effect.getComputedTiming().endTime !== Infinity).map((a) => `${a.animationName || a.transitionProperty}`
    + ` on ${a.effect.target?.tagName}#${a.effect.target?.id}.${String(a.effect.target?.className).slice(0, 40)}`
    + ` ends ${a.effect.getComputedTiming().endTime}`)"""


def settled(page) -> None:
    try:
        page.wait_for_function(SETTLED_JS)
    except Exception as error:
        raise AssertionError(f"still running: {page.evaluate(RUNNING_JS)}") from error


def date_filter(page, which: str, value: str) -> None:
    """Type a date filter (``since`` or ``until``) in the chat's Settings, opening them if closed,
    and wait until the app holds it: the page address carries what the app's state has (the box
    is mounted when the Settings open, and a value typed as it mounts can be lost)."""
    box = f"#nr-{which} textarea, #nr-{which} input"
    if not page.locator(box).is_visible():
        page.click("#nr-settings button:has-text('Settings')")
        page.wait_for_selector(box, state="visible")
        settled(page)
    if value:
        page.fill(box, value[:-1])
        page.locator(box).press_sequentially(value[-1])  # a key typed: the app is told of it
    else:
        page.fill(box, "x")
        page.locator(box).press("Backspace")
    page.wait_for_function("([key, value]) => (new URL(location.href).searchParams.get(key) || '') === value",
                           arg=[which, value.strip()])


def kept(page) -> dict | None:
    """The conversations as the browser keeps them in its localStorage, decrypted as Gradio's
    BrowserState encrypts them: CryptoJS AES with the passphrase sha256(secret) in hex, OpenSSL's
    "Salted__" format (key and IV from EVP_BytesToKey with MD5), after an IV and a colon."""
    stored = page.evaluate("localStorage.getItem('newsrag-conversation')")
    if not stored or ":" not in stored:
        return None
    raw = base64.b64decode(stored.split(":", 1)[1])
    assert raw[:8] == b"Salted__", raw[:8]
    salt, body = raw[8:16], raw[16:]
    passphrase = hashlib.sha256(SECRET.encode()).hexdigest().encode()
    derived, block = b"", b""
    while len(derived) < 48:
        block = hashlib.md5(block + passphrase + salt).digest()
        derived += block
    decryptor = Cipher(algorithms.AES(derived[:32]), modes.CBC(derived[32:48])).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    text = unpadder.update(decryptor.update(body) + decryptor.finalize()) + unpadder.finalize()
    return json.loads(text)


def written(page, check, *, timeout: float = TIMEOUT / 1000) -> dict:
    """Wait until what the browser keeps passes ``check`` (the write follows the page's update)."""
    deadline = time.monotonic() + timeout
    while True:
        found = kept(page)
        if found is not None and check(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"the browser did not keep the expected conversations: {found!r}"[:600])
        page.wait_for_timeout(50)  # a poll of the state, not a wait for a time


def manage(page) -> None:
    """Open the sidebar and its "Rename, delete, export" section."""
    sidebar(page, open_=True)
    if not page.locator("#nr-name").is_visible():
        page.click("#nr-manage >> text=Rename, delete, export")
        page.wait_for_selector("#nr-name", state="visible")


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def open_link(page, locator):
    """Click a link that opens a new page (``target=_blank``); the page, loaded."""
    with page.context.expect_page() as opened:
        locator.click()
    article = opened.value
    article.wait_for_load_state()
    return article

# ------------------------------------------------------------------------------------- feeds

BODY = ("The regional ministry said {n} drones were intercepted overnight near the border town of Kamen. "
        "Officials gave no details of damage. Residents reported loud explosions before dawn. "
        "The governor urged people to stay indoors while debris was cleared from two streets. "
        "Emergency services said nobody was hurt in the attack, which lasted about three hours. "
        "Schools in the district will open as usual on Tuesday, the education office said in a statement. "
        "Rail services between Kamen and the regional capital resumed in the afternoon after engineers checked "
        "the line, and the airport reopened to civilian flights by evening. ")

def fetch_settings(**changes) -> FetchSettings:
    return FetchSettings(**{"allow": ("127.0.0.1",), "host_interval": 0.0, "timeout": 2.0, "max_mb": 1.0,
                            "min_every": 1.0, **changes})


def item(server, n: int, *, figure: int = 12, **more) -> dict:
    return {"title": f"Drones over Kamen {n}", "link": f"{server.url}/a/{n}", "author": "Dana Ortiz",
            "date": f"Mon, 0{n} Dec 2026 06:00:00 GMT", "content": f"<p>{BODY.format(n=figure + n)}</p>", **more}


# --------------------------------------------------------------------------------------- MCP


async def session(home, calls):
    """Start `newsrag mcp`, run ``calls(client)``, and return what it returns."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    # NEWSRAG_EMBED_BACKEND left out: auto reads the index in the precision it was built in (a
    # forced other one would refuse it)
    env = {k: v for k, v in os.environ.items() if k.startswith(("PYTHON", "HF_", "NEWSRAG_", "TRANSFORMERS"))
           and k != "NEWSRAG_EMBED_BACKEND"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "ui.cli", "mcp", "--home", str(home)],
                                   env={**env, **OFFLINE_ENV},
                                   cwd=str(ROOT))
    async with Client(params, read_timeout_seconds=240) as client:
        return await calls(client)
