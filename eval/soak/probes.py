"""``python -m eval.soak probes``: the HIGH and MEDIUM findings of security issue 24, repeated
against a running ``newsrag serve`` over HTTP; each probe counts its breaches (0: the fix held).

- ``login``: a login brute force from one address (32 wrong passwords on ``/login/`` from 8
  threads), then the right password on ``/login/``, ``/login`` and ``/login//`` and the API token
  while locked; another address must still log in (the lockout is per address).
- ``forwarded``: wrong bearer tokens from one address, ``X-Forwarded-For`` and ``Forwarded``
  rotated on every request: they must not open a fresh count (no trusted proxy is set).
- ``conversations``: two questions through ``/v1/chat/completions`` and two through the chat's
  own Gradio events (``take`` then ``respond``, in one session, as the browser sends them), then
  no file holding their text under the server's TMPDIR, ``/tmp/newsrag-exports``, ``/tmp/gradio``
  or its home.
- ``markup``: the question about a hostile article (images, scripts, ``javascript:`` links, bare
  addresses in its title, outlet and text) through ``/v1/chat/completions``, whole and streamed:
  what a Markdown renderer makes of the reply holds no image, script, ``javascript:`` link, link
  to another host, other tag, or address a linkifier would link.

The lockout's allowed failures are ``ui.guard.Lockout``'s defaults (what ``newsrag serve`` builds),
read from its source: eval does not import ui. The 9.9 MB upload and the two-replica race are
scenarios of their own (``big``, ``replicas``; the output's ``see``). Every request is bounded in
time and goes to the loopback only.
"""

from __future__ import annotations

import ast
import ipaddress
import json
import secrets
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from eval.soak.big import follow
from eval.soak.common import ROOT, newsrag_server
from index.errors import ConfigError

HOSTILE = """---
title: '![pixel](http://127.0.0.1:9/leak.png) <img src=x onerror=alert(1)> Zorblax harbour'
outlet: '<script>alert(1)</script> [click](javascript:alert(1))'
date: 2024-03-09
---
The Zorblax harbour counted 812 ferries [1](javascript:alert(2)) in March, said ![pixel](http://127.0.0.1:9/leak.png) \
the port <img src=x onerror=alert(3)> authority at www.evil.example and evil.example/more.
[1]: http://127.0.0.1:9/definition
Complaints went to press@evil.example and <a href="http://127.0.0.1:9/a">the harbour office</a> on $5 $ fees.
"""  # tests/test_render.py renders it too
HOSTILE_NAME = "zorblax-probe.md"
HOSTILE_QUESTION = "How many ferries did the Zorblax harbour count in March?"
QUESTIONS = ("Per the defence ministry, how many drones were shot down over the Ryazan region?",
             "And how many Ukrainian drones did the air defence forces intercept that night in all?")
ATTEMPTS, THREADS, TOKEN_ATTEMPTS = 32, 8, 30
ATTACKER, EDITOR, ROTATOR = "127.0.0.2", "127.0.0.3", "127.0.0.4"
LOGIN_PATHS = ("/login/", "/login", "/login//")
SAFE_TAGS = frozenset({"p", "strong", "em", "code", "a", "ul", "ol", "li", "br"})
# what a linkifier would make a link of: a scheme, www., an e-mail address, a bare domain
LINKABLE = r"://|\bwww\.|\w@\w|\b[a-z0-9-]+\.(?:example|com|org|net|io)\b"
SEE = {"9.9 MB upload": "python -m eval.soak big --mb 9.9",
       "two replicas racing": "python -m eval.soak replicas"}


@dataclass(frozen=True, kw_only=True)
class Target:
    """The server probed: its address (loopback only), login, API token, and the folders to search
    for conversations (None: not searched)."""

    url: str
    user: str
    password: str
    token: str
    tmp: Path | None = None
    home: Path | None = None

    def __post_init__(self):
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if parts.scheme != "http" or not loopback:
            raise ConfigError(f"--url {self.url!r} is not a server on this machine: the probes attack from "
                              "127.0.0.2-4, so give http://127.0.0.1:PORT (the loopback only).")
        missing = [f"--{name}" for name in ("user", "password", "token") if not getattr(self, name)]
        if missing:
            raise ConfigError(f"--url needs {', '.join(missing)} too: the login and the API token of the "
                              "server probed (NEWSRAG_AUTH, NEWSRAG_API_TOKEN).")
        object.__setattr__(self, "url", self.url.rstrip("/"))


def lockout_rules(guard: Path = ROOT / "ui" / "guard.py") -> dict:
    """The keyword defaults of ``Lockout.__init__`` in ``guard`` (``max_failures``, ``window``,
    ``lockout``): the lockout ``newsrag serve`` builds."""
    tree = ast.parse(guard.read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Lockout":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    args = item.args
                    return {a.arg: ast.literal_eval(d) for a, d in zip(args.kwonlyargs, args.kw_defaults,
                                                                        strict=True)
                            if a.arg in ("max_failures", "window", "lockout")}
    raise RuntimeError(f"{guard} has no Lockout.__init__: update eval/soak/probes.py's lockout_rules.")


def client(target: Target, address: str | None = None, *, read: float = 60.0, **options):
    """An HTTP client of ``target``, from the loopback ``address`` when given."""
    import httpx

    transport = httpx.HTTPTransport(local_address=address) if address else None
    return httpx.Client(base_url=target.url, timeout=httpx.Timeout(30.0, read=read), transport=transport,
                        **options)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def first_429(statuses: list[int]) -> int | None:
    """The attempt (1-based) first answered 429; None when none was."""
    return next((i + 1 for i, s in enumerate(statuses) if s == 429), None)


def counted(statuses) -> dict[str, int]:
    out: dict[str, int] = {}
    for status in statuses:
        out[str(status)] = out.get(str(status), 0) + 1
    return dict(sorted(out.items()))


# ------------------------------------------------------------------------------------ 1. login

def probe_login(target: Target, allowed: int) -> dict:
    """HIGH: a brute force of the login from one address. Breaches: the wrong attempts answered
    without 429 beyond the ``allowed`` failures; the right password (on any of the login's paths) or
    the API token let in while locked; another address locked out too."""
    answered, lock = [], threading.Lock()

    with client(target, ATTACKER) as attacker, client(target, EDITOR) as editor:
        def guess(i: int) -> None:
            status = attacker.post("/login/", data={"username": target.user,
                                                    "password": f"wrong-{i}-{secrets.token_hex(4)}"}).status_code
            with lock:
                answered.append(status)

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(guess, range(ATTEMPTS)))
        right, cookies = {}, 0
        for path in LOGIN_PATHS:
            response = attacker.post(path, data={"username": target.user, "password": target.password})
            right[path] = response.status_code
            cookies += "access-token" in response.headers.get("set-cookie", "")
        token = attacker.get("/api/articles", headers=bearer(target.token)).status_code
        other = editor.post("/login/", data={"username": target.user, "password": target.password})
        other_ok = other.status_code == 200 and "access-token" in other.headers.get("set-cookie", "")
    let_in = sum(1 for s in right.values() if s == 200)
    not_refused = sum(1 for s in answered if s != 429)
    breaches = max(0, not_refused - allowed) + let_in + cookies + (token == 200) + (not other_ok)
    return {"severity": "HIGH", "breaches": breaches, "attempts": ATTEMPTS, "threads": THREADS,
            "allowed": allowed, "not_refused": not_refused, "first_429": first_429(answered),
            "statuses": counted(answered), "right_password_while_locked": right, "session_cookies": cookies,
            "token_while_locked": token, "other_address_login": other.status_code}


# ----------------------------------------------------------------------------------- 2. forwarded

def probe_forwarded(target: Target, allowed: int) -> dict:
    """MEDIUM: wrong bearer tokens from one address, each naming another client in
    ``X-Forwarded-For`` and ``Forwarded``. Breaches: attempts after the ``allowed`` failures not
    answered 429."""
    with client(target, ROTATOR) as rotator:
        statuses = [rotator.get("/api/articles", headers={
            **bearer("w" * 24), "X-Forwarded-For": f"10.20.{i}.1", "Forwarded": f"for=10.30.{i}.1"}).status_code
            for i in range(TOKEN_ATTEMPTS)]
    return {"severity": "MEDIUM", "breaches": sum(1 for s in statuses[allowed:] if s != 429),
            "attempts": TOKEN_ATTEMPTS, "allowed": allowed, "first_429": first_429(statuses),
            "statuses": counted(statuses)}


# ------------------------------------------------------------------------------- 3. conversations

def gradio_events(http, name: str, data: list, session: str) -> list[tuple[str, object]]:
    """Call the Gradio event ``name`` in ``session`` through Gradio's HTTP API; its (event, data)
    messages, or one ``("refused", text)``."""
    started = http.post(f"/gradio_api/call/{name}", json={"data": data, "session_hash": session})
    if started.status_code != 200:
        return [("refused", f"{started.status_code} {started.text[:200]}")]
    text = http.get(f"/gradio_api/call/{name}/{started.json()['event_id']}").text
    messages = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            messages.append((fields["event"], json.loads(fields.get("data") or "null")))
    return messages


def chat_in_gradio(target: Target, questions: tuple[str, ...]) -> dict:
    """The questions asked through the chat's own events, as the browser asks them: ``take`` moves
    the question into the session's state, ``respond`` answers it from there and returns the
    conversation, which the browser keeps (its ``BrowserState``) and sends back with the next."""
    with client(target, read=180.0) as http:
        login = http.post("/login/", data={"username": target.user, "password": target.password})
        if login.status_code != 200:
            return {"skipped": f"the login answered {login.status_code}: {login.text[:200]}"}
        config = http.get("/config").json()
        top_k = next((c["props"].get("value") for c in config.get("components", [])
                      if c.get("props", {}).get("elem_id") == "nr-top-k"), 5)
        session, stored = secrets.token_hex(8), None
        for question in questions:
            took = gradio_events(http, "take", [question], session)
            if not took or took[-1][0] != "complete":
                return {"skipped": f"the chat's events cannot be called over HTTP (take: {took[-1:]})"}
            answered = gradio_events(http, "respond", [None, stored, None, top_k, [], "", ""], session)
            if not answered or answered[-1][0] != "complete":
                return {"skipped": f"the chat's events cannot be called over HTTP (respond: {answered[-1:]})"}
            stored = next((o for o in answered[-1][1] if isinstance(o, dict) and "conversations" in o), None)
    conversation = next((c for c in (stored or {}).get("conversations", []) if c["id"] == stored["current"]), {})
    return {"asked": len(questions), "exchanges_in_the_browser": len(conversation.get("exchanges", []))}


def files_holding(texts: tuple[str, ...], roots: list[Path], *, most: int = 50_000) -> list[str]:
    """Files under ``roots`` whose bytes hold any of ``texts`` (UTF-8 or UTF-16: sqlite and Chroma
    keep plain bytes), read in blocks; at most ``most`` files looked at."""
    needles = [t.encode(enc) for t in texts for enc in ("utf-8", "utf-16-le")]
    overlap, found, seen = max(len(n) for n in needles), [], 0
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else ():
            if seen >= most:
                return found
            if not path.is_file() or path.is_symlink():
                continue
            seen += 1
            try:
                with open(path, "rb") as handle:
                    tail = b""
                    while block := handle.read(1 << 20):
                        if any(n in tail + block for n in needles):
                            found.append(str(path))
                            break
                        tail = block[-overlap:]
            except OSError:
                continue
    return found


def probe_conversations(target: Target) -> dict:
    """MEDIUM: conversations must not reach the server's disk. Two questions through
    ``/v1/chat/completions`` (the second with the first exchange as its conversation) and through
    the chat's Gradio events; breaches: files holding a question's text."""
    messages, statuses = [], []
    with client(target, read=180.0, headers=bearer(target.token)) as http:
        for question in QUESTIONS:
            messages.append({"role": "user", "content": question})
            reply = http.post("/v1/chat/completions", json={"model": "newsrag", "messages": messages})
            statuses.append(reply.status_code)
            if reply.status_code == 200:
                messages.append(reply.json()["choices"][0]["message"])
    gradio = chat_in_gradio(target, QUESTIONS)
    roots = [root for root in (target.tmp, Path("/tmp/newsrag-exports"), Path("/tmp/gradio"), target.home) if root]
    files = files_holding(QUESTIONS, roots)
    not_searched = [f"the server's {what} (give --{flag})" for what, flag, root in
                    (("TMPDIR", "tmp", target.tmp), ("home", "home", target.home)) if root is None]
    return {"severity": "MEDIUM", "breaches": len(files), "v1_statuses": statuses, "gradio": gradio,
            "searched": [str(r) for r in roots], "not_searched": not_searched, "files": files}


# -------------------------------------------------------------------------------------- 4. markup

class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def hazards(markdown: str, *, server: str, urls: set[str]) -> dict[str, int]:
    """What a chat client rendering ``markdown`` (CommonMark, raw HTML passed through, links of any
    scheme kept) would show that the article controls: images, scripts, ``javascript:`` links, links
    to a host other than ``server`` or an article's own URL (``urls``), any other tag beyond
    paragraphs, emphasis, code, lists and links, and addresses outside code and links that a
    linkifier would link. The article's words shown as text (``&lt;img``, ``![`` in code) are none."""
    import re

    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    renderer.validateLink = lambda url: True  # as a client that links any scheme would
    page = _Tags()
    page.feed(renderer.render(markdown))
    page.close()
    found = dict.fromkeys(("images", "scripts", "javascript", "foreign_links", "other_tags", "linkable"), 0)
    for tag, attrs in page.tags:
        if tag == "img":
            found["images"] += 1
        elif tag == "script":
            found["scripts"] += 1
        elif any("javascript:" in re.sub(r"\s", "", v.lower()) for v in attrs.values()):
            found["javascript"] += 1
        elif tag == "a" and not (attrs.get("href", "").startswith(f"{server}/") or attrs.get("href") in urls):
            found["foreign_links"] += 1
        elif tag not in SAFE_TAGS:
            found["other_tags"] += 1
    inside = 0  # text outside code and outside links
    for child in (c for block in renderer.parse(markdown) for c in block.children or ()):
        inside += {"link_open": 1, "link_close": -1}.get(child.type, 0)
        if child.type == "text" and not inside:
            found["linkable"] += len(re.findall(LINKABLE, child.content))
    return found


def probe_markup(target: Target) -> dict:
    """MEDIUM: the answer about the hostile article through ``/v1/chat/completions``, whole and
    streamed; breaches: the ``hazards`` of both texts."""
    request = {"model": "newsrag", "messages": [{"role": "user", "content": HOSTILE_QUESTION}]}
    with client(target, read=180.0, headers=bearer(target.token)) as http:
        reply = http.post("/v1/chat/completions", json=request)
        reply.raise_for_status()
        streamed = []
        with http.stream("POST", "/v1/chat/completions", json={**request, "stream": True}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: {"):
                    streamed.append(json.loads(line[6:])["choices"][0]["delta"].get("content") or "")
    content, answer = reply.json()["choices"][0]["message"]["content"], reply.json()["newsrag"]
    urls = {c["url"] for c in answer.get("citations", []) + answer.get("closest", []) if c.get("url")}
    found = {"whole": hazards(content, server=target.url, urls=urls),
             "streamed": hazards("".join(streamed), server=target.url, urls=urls)}
    return {"severity": "MEDIUM", "breaches": sum(n for f in found.values() for n in f.values()),
            "status": answer["status"], "answered_812_ferries": "812 ferries" in answer["answer"],
            "stream_same_text": "".join(streamed) == content, **found,
            "mcp": "not probed here: stdio only (newsrag mcp); tests/test_render.py renders its text"}


# ------------------------------------------------------------------------------------ the scenario

def upload(target: Target, files: list[tuple[str, bytes]], *, timeout: float = 600) -> dict:
    """POST ``files`` to ``/api/articles`` with the token; the finished job."""
    with client(target, headers=bearer(target.token)) as http:
        started = http.post("/api/articles", files=[("files", f) for f in files])
        if started.status_code != 202:
            raise RuntimeError(f"uploading to {target.url} answered {started.status_code}: {started.text[:300]}")
        job = follow(http, started.json()["id"], timeout=timeout)
    if job["status"] != "done" or job["report"]["failed"]:
        raise RuntimeError(f"the upload to {target.url} did not finish: {json.dumps(job)[:500]}")
    return job


def run_probes(target: Target) -> dict:
    allowed = lockout_rules()["max_failures"]
    probes = {"login": probe_login(target, allowed), "forwarded": probe_forwarded(target, allowed),
              "conversations": probe_conversations(target), "markup": probe_markup(target)}
    breaches = sum(p["breaches"] for p in probes.values())
    return {"scenario": "probes", "ok": breaches == 0, "breaches": breaches, "url": target.url,
            "probes": probes, "see": SEE}


def scenario_probes(work: Path, target: Target | None = None) -> dict:
    """The probes against ``target``; without one, against a ``newsrag serve`` of its own (a fresh
    home in ``work``, a login with a random password, an API token, its TMPDIR a folder of ``work``)
    holding the hostile article and the two sample articles, uploaded over HTTP. A given server
    gets the hostile article through its API, removed at the end when this run added it."""
    hostile = (HOSTILE_NAME, HOSTILE.encode())
    if target is not None:
        job = upload(target, [hostile])
        added = [a["id"] for a in job["report"]["articles"] if a["status"] == "added"]
        result = run_probes(target)
        with client(target, headers=bearer(target.token)) as http:
            result["hostile_article_removed"] = {i: http.delete(f"/api/articles/{i}").status_code for i in added}
        return {**result, "server": "given"}
    home, tmp = work / "probes-home", work / "probes-tmp"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    password, token = secrets.token_urlsafe(18), secrets.token_urlsafe(24)
    with newsrag_server(home, work / "probes.log", NEWSRAG_AUTH=f"editor:{password}", NEWSRAG_API_TOKEN=token,
                        TMPDIR=str(tmp)) as (_, url):
        target = Target(url=url, user="editor", password=password, token=token, tmp=tmp, home=home)
        samples = [(p.name, p.read_bytes()) for p in sorted((ROOT / "data" / "articles").glob("*.txt"))]
        job = upload(target, [hostile, *samples])
        return {**run_probes(target), "server": "own", "articles": job["report"]["added"]}
