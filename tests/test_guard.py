"""The rules every request meets (ui/guard.py), over real HTTP against the whole app: the API, the
article pages and the mounted Gradio app, including routes nobody lists by hand."""

from __future__ import annotations

import select
import socket
import time

import httpx
import pytest
from conftest import SEEDS, make_library, serve_in_thread
from helpers import DRONES, TOKEN, build, error_of, walk

from ui.guard import Parts, origin_of, split_host

EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def site(tmp_path_factory, embedder):
    library = make_library(tmp_path_factory.mktemp("guard") / "home", embedder)
    assert library.ingest([SEEDS]).added == 2
    app, _, port = build(library, max_request_kb=64, body_timeout=1.0, body_deadline=3.0)
    with serve_in_thread(app, port) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield app, client, library, port


def state_changing_routes(app) -> list[tuple[str, str]]:
    """Every route of the app and of the mounted Gradio app that changes state, ids filled in."""
    found = set()
    for method, path in [*walk(app.routes), *walk(app.state.gradio.routes)]:
        if method not in {"GET", "HEAD", "OPTIONS"}:
            path = path.replace("{path:path}", "x")
            while "{" in path:
                path = path[:path.index("{")] + "x" + path[path.index("}") + 1:]
            found.add((method, path))
    return sorted(found)


def test_every_state_changing_route_refuses_a_request_from_another_site(site):
    app, client, library, _ = site
    routes = state_changing_routes(app)
    assert ("POST", "/api/articles") in routes and ("DELETE", "/api/articles/x") in routes
    assert ("POST", "/gradio_api/queue/join") in routes and ("POST", "/gradio_api/upload") in routes
    before = library.store.counts()
    for method, path in routes:
        for headers in ({"Origin": EVIL}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                        {"Origin": EVIL.replace("evil.example", "127.0.0.1")}):  # another port is another site
            response = client.request(method, path, headers=headers, json={"question": DRONES})
            assert response.status_code == 403, (method, path, headers, response.text)
            assert response.json()["type"] == "CrossOriginError"
    assert library.store.counts() == before
    upload = client.post("/api/articles", headers={"Origin": EVIL},
                         files={"files": ("evil.md", b"Planted text. It should never be indexed.\n")})
    assert error_of(upload) == (403, "CrossOriginError", "A POST from another site (http://evil.example) is "
                                                         "refused: open the chat from this server's own address.")


def test_the_same_origin_and_clients_without_an_origin_are_served(site):
    _, client, _, port = site
    for headers in ({}, {"Origin": f"http://127.0.0.1:{port}"}, {"Origin": f"http://localhost:{port}",
                                                                "Host": f"localhost:{port}"},
                    {"Sec-Fetch-Site": "same-origin"}):
        response = client.post("/api/ask", json={"question": DRONES}, headers=headers)
        assert response.status_code == 200 and response.json()["status"] == "answered", headers
    assert client.get("/api/articles", headers={"Origin": EVIL}).status_code == 200  # reading is not changing


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/articles", "/docs", "/gradio_api/info", "/config"])
def test_a_host_that_is_not_allowed_is_refused_everywhere(site, path):
    _, client, _, port = site
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", ""):
        response = client.get(path, headers={"Host": host})
        assert error_of(response)[:2] == (400, "HostNotAllowedError"), (path, host)
    assert error_of(client.get(path, headers={"Host": "evil.example"}))[2] == (
        "Host 'evil.example' is not served here: this server answers 127.0.0.1, ::1, localhost (set "
        "NEWSRAG_ALLOWED_HOSTS to add a name).")
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}"):
        assert client.get(path, headers={"Host": host}).status_code == 200, (path, host)


def test_every_request_body_is_bounded_declared_or_chunked(site):
    app, client, _, _ = site
    big = b'{"question": "' + b"a" * 100_000 + b'"}'
    assert error_of(client.post("/api/ask", content=big, headers={"content-type": "application/json"})) == (
        413, "TooLargeError", "The request body is 0.1 MB; POST /api/ask accepts at most 65.5 kB (send less, or "
                              "raise NEWSRAG_MAX_REQUEST_KB).")

    def chunked():
        yield b'{"question": "'
        for _ in range(20):
            yield b"a" * 10_000
        yield b'"}'

    assert error_of(client.post("/api/ask", content=chunked(), headers={"content-type": "application/json"}))[:2] \
        == (413, "TooLargeError")
    for method, path in state_changing_routes(app):
        if path not in {"/api/articles", "/gradio_api/upload"}:
            response = client.request(method, path, content=big, headers={"content-type": "application/json"})
            assert response.status_code == 413, (method, path, response.text)
    assert client.get("/healthz").json()["status"] == "ok"


def test_a_body_that_stops_arriving_is_answered_408_and_frees_the_server(site):
    _, client, _, port = site
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 200\r\n\r\n{\"question\": ")
        started = time.monotonic()
        reply = sock.recv(65536).decode()
        waited = time.monotonic() - started
    assert reply.startswith("HTTP/1.1 408 "), reply
    assert '"type":"RequestTimeoutError"' in reply and "stopped arriving for 1 s" in reply
    assert waited < 30  # the server did not wait for the body forever (its deadline is 1 s)
    assert client.post("/api/ask", json={"question": DRONES}).status_code == 200


LOCAL_SITE = "http://localhost:9999"  # another program's page on this machine: another site


@pytest.mark.parametrize("path", ["/config", "/gradio_api/info", "/gradio_api/queue/join", "/api/articles",
                                  "/healthz"])
def test_cors_answers_no_other_site_not_even_a_local_one(site, path):
    _, client, _, _ = site
    for origin in (LOCAL_SITE, "http://127.0.0.1:1", EVIL, "null"):
        preflight = client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        read = client.get(path, headers={"Origin": origin})
        assert preflight.status_code == 400 and preflight.text == "Disallowed CORS origin", origin
        for response in (preflight, read):  # without Allow-Origin a browser shows the page nothing
            assert "access-control-allow-origin" not in response.headers, (origin, response.headers)


def test_cors_answers_the_origins_listed_and_lets_them_write(tmp_path, embedder):
    library = make_library(tmp_path / "home", embedder)
    app, _, port = build(library, cors_origins=("https://tools.example",))
    with serve_in_thread(app, port) as url, httpx.Client(base_url=url, timeout=60) as client:
        preflight = client.options("/api/ask", headers={"Origin": "https://tools.example",
                                                        "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://tools.example"
        assert preflight.headers["access-control-allow-credentials"] == "true"
        read = client.get("/config", headers={"Origin": "https://tools.example"})
        assert read.headers["access-control-allow-origin"] == "https://tools.example"
        asked = client.post("/api/ask", json={"question": DRONES}, headers={"Origin": "https://tools.example"})
        # past the guard (an empty library: 409), and the listed site may read the answer
        assert asked.status_code == 409 and asked.headers["access-control-allow-origin"] == "https://tools.example"
        other = client.get("/config", headers={"Origin": LOCAL_SITE})
        assert "access-control-allow-origin" not in other.headers
        assert error_of(client.post("/api/ask", json={"question": DRONES}, headers={"Origin": LOCAL_SITE}))[:2] == (
            403, "CrossOriginError")


def test_a_body_that_trickles_in_is_answered_408_at_its_deadline(site):
    _, client, _, port = site
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 2000\r\n\r\n{\"question\": \"")
        started, reply = time.monotonic(), b""
        sock.settimeout(0.4)  # one byte every 0.4 s: never a pause of the per-gap 1 s
        while not reply and time.monotonic() - started < 20:
            try:
                reply = sock.recv(65536)
            except TimeoutError:
                sock.sendall(b"a")
        waited = time.monotonic() - started
    assert reply.startswith(b"HTTP/1.1 408 "), reply
    assert b"The request body took longer than 3 s to arrive; send it again over a faster link, or raise " \
           b"NEWSRAG_BODY_DEADLINE." in reply
    assert 2.5 < waited < 10
    assert client.post("/api/ask", json={"question": DRONES}).status_code == 200


def test_a_file_over_the_limit_is_refused_as_it_arrives_not_after_the_whole_upload(site):
    """10 MB per file, 201 MB per upload: a declared 60 MB upload of one file passes the declared-size
    check, and is cut once the file passed 10 MB (before: received whole, spooled to disk, then 413)."""
    _, client, library, port = site
    boundary, total = b"nrboundary7", 60_000_000
    head = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\n")
    tail = b"\r\n--" + boundary + b"--\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /api/articles HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                     b"boundary=" + boundary + b"\r\nContent-Length: " + str(total).encode() + b"\r\n\r\n" + head)
        sent, chunk, reply = len(head), b"word " * 200_000, b""
        while sent < total - len(tail):
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                reply = sock.recv(65536)
                break
            piece = chunk[:total - len(tail) - sent]
            try:
                sock.sendall(piece)
            except OSError:  # the server answered and closed while we were sending
                break
            sent += len(piece)
        if not reply:
            if sent >= total - len(tail):
                sock.sendall(tail)
            reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413 "), reply
    assert (b'{"error":"A file in this upload is over the 10 MB limit per file; it was refused as it arrived '
            b'(raise NEWSRAG_MAX_FILE_MB to allow it).","type":"TooLargeError"}') in reply
    assert sent < 30_000_000  # 10 MB, and what the sockets' buffers held: not the 60 MB
    assert client.get("/healthz").json()["status"] == "ok"


@pytest.mark.parametrize("chunks, over", [
    ([b"--b\r\nh\r\n\r\n" + b"x" * 50, b"\r\n--b\r\nh\r\n\r\n" + b"y" * 50, b"\r\n--b--\r\n"], False),
    ([b"--b\r\n" + b"x" * 40, b"x" * 40], True),  # one part of 80 + bytes
    ([b"--b\r\n" + b"x" * 60 + b"\r", b"\n-", b"-b\r\n" + b"y" * 60], False),  # the delimiter cut in three
    ([b"--b\r\n" + b"x" * 60 + b"\r\n-", b"-c" + b"y" * 60], True),  # not a delimiter: one long part
])
def test_parts_are_counted_across_chunks(chunks, over, monkeypatch):
    monkeypatch.setattr(Parts, "SLACK", 0)
    parts = Parts(b"b", 75)
    assert any([parts.over(c) for c in chunks]) is over


@pytest.fixture(scope="module")
def guarded_site(tmp_path_factory, embedder):
    library = make_library(tmp_path_factory.mktemp("guarded") / "home", embedder)
    app, _, port = build(library, auth=("editor", "correct horse"), api_token=TOKEN)
    with serve_in_thread(app, port) as url:
        yield app, url


def test_failed_logins_lock_out_their_address_only(guarded_site):
    _, guarded_site = guarded_site
    attacker = httpx.Client(base_url=guarded_site, timeout=60,
                            transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    with attacker, httpx.Client(base_url=guarded_site, timeout=60) as editor:
        for _ in range(5):
            assert attacker.post("/login", data={"username": "editor", "password": "guess"}).status_code == 400
        locked = attacker.post("/login", data={"username": "editor", "password": "correct horse"})
        status, kind, message = error_of(locked)
        assert (status, kind) == (429, "TooManyAttemptsError")
        assert message.startswith("Too many failed logins from 127.0.0.2: try again in ")
        assert 55 <= int(locked.headers["retry-after"]) <= 61
        assert attacker.get("/api/articles", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 429
        # another address is not affected, and a good login is never counted
        assert editor.post("/login", data={"username": "editor", "password": "correct horse"}).json() == {
            "success": True}
        assert editor.get("/api/articles", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_wrong_bearer_tokens_are_throttled_too(guarded_site):
    _, guarded_site = guarded_site
    with httpx.Client(base_url=guarded_site, timeout=60,
                      transport=httpx.HTTPTransport(local_address="127.0.0.3")) as client:
        wrong = {"Authorization": "Bearer " + "w" * 24}
        for _ in range(5):
            assert client.get("/api/articles", headers=wrong).status_code == 401
        assert error_of(client.get("/api/articles", headers={"Authorization": f"Bearer {TOKEN}"}))[:2] == (
            429, "TooManyAttemptsError")


def every_route(app) -> list[tuple[str, str]]:
    """Every (method, path) of the app and of the mounted Gradio app, ids filled in."""
    found = set()
    for method, path in [*walk(app.routes), *walk(app.state.gradio.routes)]:
        path = path.replace("{path:path}", "x").replace("{path_or_url:path}", "x").replace("{url_path:path}", "x")
        while "{" in path:
            path = path[:path.index("{")] + "x" + path[path.index("}") + 1:]
        found.add((method, path))
    return sorted(found)


# What a caller without credentials may still reach when a login is set: the login page and what it
# loads, /healthz (status only), and the routes that refuse on their own (the API, the article pages,
# exports; tests/test_api.py holds their answers).
OPEN = {"/", "/login", "/login/", "/logout", "/favicon.ico", "/theme.css", "/manifest.json", "/robots.txt",
        "/healthz", "/gradio_api/login_check", "/gradio_api/login_check/"}
OPEN_PREFIXES = ("/assets/", "/static/", "/svelte/", "/api/", "/v1/", "/articles/", "/exports/")


def test_with_a_login_set_docs_and_gradio_introspection_need_it_too(guarded_site):
    app, url = guarded_site
    routes = every_route(app)
    assert {("GET", "/docs"), ("GET", "/openapi.json"), ("GET", "/gradio_api/heartbeat/x"),
            ("POST", "/gradio_api/cancel"), ("POST", "/gradio_api/reset")} <= set(routes)
    with httpx.Client(base_url=url, timeout=60, transport=httpx.HTTPTransport(local_address="127.0.0.4")) as client:
        refused = []
        for method, path in routes:
            if path in OPEN or path.startswith(OPEN_PREFIXES) or method == "HEAD":
                continue
            response = client.request(method, path, json={})
            assert response.status_code == 401, (method, path, response.status_code, response.text[:200])
            refused.append(path)
        assert error_of(client.get("/docs")) == (
            401, "AuthRequiredError", "GET /docs needs the login: log in to the chat (open / in a browser) or "
                                      "send 'Authorization: Bearer <NEWSRAG_API_TOKEN>'.")
        assert error_of(client.post("/gradio_api/cancel", json={}))[:2] == (401, "AuthRequiredError")
        assert client.get("/redoc").status_code == 401 and client.get("/docs-static/swagger-ui.css").status_code == 401
        assert client.get("/healthz").json() == {"status": "ok"}  # up, and nothing about the library
        assert client.get("/").status_code == 200  # the login page
        token = {"Authorization": f"Bearer {TOKEN}"}
        assert client.get("/openapi.json", headers=token).json()["info"]["title"] == "newsrag"
        assert client.get("/healthz", headers=token).json() == {"status": "ok", "articles": 0, "chunks": 0}
        assert client.post("/login", data={"username": "editor", "password": "correct horse"}).json() == {
            "success": True}
        assert client.get("/docs").status_code == 200  # the login's session cookie opens them
        assert client.get("/healthz").json() == {"status": "ok", "articles": 0, "chunks": 0}
    assert len(refused) > 30


@pytest.mark.parametrize("value, expected", [
    ("127.0.0.1:7860", ("127.0.0.1", 7860)), ("LocalHost", ("localhost", None)), ("[::1]:80", ("::1", 80)),
    ("evil.example/x", None), ("user@evil.example", None), ("", None), ("a b", None), ("host:port", None)])
def test_split_host(value, expected):
    assert split_host(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("http://127.0.0.1:7860", ("127.0.0.1", 7860)), ("https://news.example:443", ("news.example", None)),
    ("http://news.example", ("news.example", None)), ("null", None), ("file://", None),
    ("chrome-extension://abc", None)])
def test_origin_of(value, expected):
    assert origin_of(value) == expected
