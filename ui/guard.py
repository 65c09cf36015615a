"""The outermost layer of ``newsrag serve``: rules every request meets before any route runs.

One ASGI middleware, so it covers every route of the app, Gradio's and any added later:

- **Host allowlist** (DNS rebinding): a request whose ``Host`` is not an allowed name gets 400.
  By default the loopback names (``localhost``, ``127.0.0.1``, ``::1``) and the bound address;
  ``NEWSRAG_ALLOWED_HOSTS`` sets the list (``*`` turns the check off).
- **Same origin for state-changing requests**: a POST, PUT, PATCH or DELETE sent by a browser from
  another site (a foreign ``Origin``, ``Origin: null`` or ``Sec-Fetch-Site: cross-site``) gets 403.
  Clients that send no ``Origin`` (curl, scripts) are not browsers and pass.
- **Request body limit** (413): the declared ``Content-Length`` is checked before anything is
  read, a chunked body is counted as it arrives; upload routes have their own, larger limit.
- **Address length** (414): at most ``MAX_PATH`` bytes of path and ``MAX_QUERY`` of query.
- **Body read deadline** (408): a client that stops sending its body mid-way does not hold the
  request open forever.
- **Login throttling** (429): after ``max_failures`` failed logins or wrong bearer tokens from one
  address within ``window`` seconds, that address waits ``lockout`` seconds.

Every refusal is the API's JSON error ``{"error", "type"}`` with its status.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse

MAX_PATH = 1024  # bytes of a request's path: ids are 16 characters, no route needs more
MAX_QUERY = 4096
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
log = logging.getLogger("newsrag.server")


def split_host(value: str) -> tuple[str, int | None] | None:
    """``"Example.org:7860"`` -> ``("example.org", 7860)``; ``"[::1]:80"`` -> ``("::1", 80)``;
    None for anything that is not a host[:port]."""
    value = value.strip().lower()
    if not value or any(c.isspace() or c in "/@?#\\" for c in value):
        return None
    try:
        parts = urlsplit("//" + value)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    return (host, port) if host else None


def origin_of(value: str) -> tuple[str, int | None] | None:
    """The (host, port) of an ``Origin`` header, the scheme's default port left out."""
    try:
        parts = urlsplit(value.strip().lower())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host or parts.scheme not in _DEFAULT_PORTS:
        return None
    return host, None if port == _DEFAULT_PORTS[parts.scheme] else port


@dataclass(frozen=True, kw_only=True)
class GuardRules:
    """What the guard enforces; built from ``ServeSettings`` by the server."""

    allowed_hosts: frozenset[str] | None  # None: any Host
    max_body: int  # bytes, any request
    upload_paths: frozenset[str] = frozenset()
    max_upload_body: int = 0  # bytes, POST to an upload path
    body_timeout: float = 30.0  # seconds between two parts of a request body
    max_failures: int = 5
    window: float = 60.0
    lockout: float = 60.0
    login_path: str = "/login"

    def body_limit(self, method: str, path: str) -> tuple[int, str]:
        """The most bytes a request may send, and how to get more past it."""
        if method == "POST" and path in self.upload_paths:
            return self.max_upload_body, "fewer or smaller files, or raise NEWSRAG_MAX_FILE_MB"
        return self.max_body, "send less, or raise NEWSRAG_MAX_REQUEST_KB"


@dataclass
class _Failures:
    """Failed logins per client address (a sliding window), and who is locked out until when."""

    rules: GuardRules
    seen: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    locked: dict[str, float] = field(default_factory=dict)

    def wait(self, client: str, now: float) -> float:
        until = self.locked.get(client, 0.0)
        if until <= now:
            self.locked.pop(client, None)
            return 0.0
        return until - now

    def failed(self, client: str, now: float) -> None:
        times = self.seen[client]
        times.append(now)
        while times and times[0] <= now - self.rules.window:
            times.popleft()
        if len(times) >= self.rules.max_failures:
            self.locked[client] = now + self.rules.lockout
            times.clear()
        if len(self.seen) > 10_000:  # bounded memory under a flood of addresses
            for stale in [c for c, t in self.seen.items() if not t or t[-1] <= now - self.rules.window]:
                del self.seen[stale]

    def succeeded(self, client: str) -> None:
        self.seen.pop(client, None)


def _error(status: int, kind: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "type": kind}, status_code=status, headers=dict(headers or {}))


class Guard:
    """ASGI middleware enforcing ``GuardRules`` (see the module docstring)."""

    def __init__(self, app, *, rules: GuardRules):
        self.app, self.rules = app, rules
        self.failures = _Failures(rules)

    def _refusal(self, scope, headers: dict[bytes, bytes]) -> JSONResponse | None:
        rules = self.rules
        host_header = headers.get(b"host", b"").decode("latin-1")
        if rules.allowed_hosts is not None:
            host = split_host(host_header)
            if host is None or host[0] not in rules.allowed_hosts:
                return _error(400, "HostNotAllowedError",
                              f"Host {host_header[:100]!r} is not served here: this server answers "
                              f"{', '.join(sorted(rules.allowed_hosts))} (set NEWSRAG_ALLOWED_HOSTS to "
                              "add a name).")
        method = scope.get("method", "GET")
        if scope["type"] == "websocket" or method not in SAFE_METHODS:
            origin = headers.get(b"origin", b"").decode("latin-1").strip()
            fetch_site = headers.get(b"sec-fetch-site", b"").decode("latin-1").strip().lower()
            foreign = fetch_site == "cross-site"
            if origin:
                ours = split_host(host_header)
                theirs = origin_of(origin)
                if ours is not None and ours[1] == _DEFAULT_PORTS.get(scope.get("scheme", "http")):
                    ours = (ours[0], None)
                foreign = foreign or theirs is None or ours is None or theirs != ours
            if foreign:
                return _error(403, "CrossOriginError",
                              f"A {method} from another site ({origin[:100] or fetch_site}) is refused: "
                              "open the chat from this server's own address.")
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await refusal(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        method, path = scope.get("method", "GET"), scope.get("path", "")
        if len(scope.get("raw_path") or b"") > MAX_PATH or len(scope.get("query_string") or b"") > MAX_QUERY:
            await _error(414, "URITooLongError", f"The address is too long: at most {MAX_PATH} bytes of path "
                         f"and {MAX_QUERY} of query are accepted.")(scope, receive, send)
            return
        login = method == "POST" and path == self.rules.login_path
        credentials = login or b"authorization" in headers
        if credentials:
            wait = self.failures.wait(client, time.monotonic())
            if wait > 0:
                await _error(429, "TooManyAttemptsError",
                             f"Too many failed logins from {client}: try again in {wait:.0f} s.",
                             {"Retry-After": str(int(wait) + 1)})(scope, receive, send)
                return
        limit, hint = self.rules.body_limit(method, path)
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _error(413, "TooLargeError", _too_large(int(length), limit, method, path, hint))(
                scope, receive, send)
            return
        await self._bounded(scope, receive, send, limit=(limit, hint), client=client,
                            credentials=credentials, login=login)

    async def _bounded(self, scope, receive, send, *, limit: tuple[int, str], client: str,
                       credentials: bool, login: bool) -> None:
        """Run the app, counting the body as it arrives and noting failed logins."""
        state = {"received": 0, "more": True, "started": False, "refused": False, "complete": False}

        async def reply(status: int, kind: str, message: str) -> dict:
            state["refused"] = True
            if not state["started"]:
                state["started"] = True
                await _error(status, kind, message)(scope, _disconnected, send)
            return {"type": "http.disconnect"}

        async def bounded_receive():
            if state["refused"]:
                return {"type": "http.disconnect"}
            if not state["more"]:
                return await receive()  # the body is complete: this waits for a disconnect
            try:
                message = await asyncio.wait_for(receive(), self.rules.body_timeout)
            except TimeoutError:
                return await reply(408, "RequestTimeoutError",
                                   f"The request body stopped arriving for {self.rules.body_timeout:g} s; "
                                   "send it again.")
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                state["more"] = message.get("more_body", False)
                if state["received"] > limit[0]:
                    return await reply(413, "TooLargeError", _too_large(None, limit[0], scope["method"],
                                                                       scope["path"], limit[1]))
            return message

        async def tracked_send(message):
            if state["refused"]:
                return  # the app answers a request we already refused: drop it
            if message["type"] == "http.response.start":
                state["started"] = True
                status = message["status"]
                if credentials and (status == 401 or (login and status >= 400)):
                    self.failures.failed(client, time.monotonic())
                elif login and status < 400:
                    self.failures.succeeded(client)
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["complete"] = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracked_send)
        except Exception:
            if state["refused"]:
                return  # a refused request's app may fail on the cut body; the client has its answer
            if state["started"] and not state["complete"]:
                raise  # half an answer sent: only closing the connection can tell the client
            # A bug in a route (ours or Gradio's, which answers some garbage with an exception after
            # sending its 500): log it here and answer, so the connection stays usable; re-raised,
            # uvicorn would close it under the client's next request on it.
            log.exception("%s %s failed", scope.get("method"), scope.get("path"))
            if not state["started"]:
                await _error(500, "InternalError", "The server failed on this request; its log says why.")(
                    scope, _disconnected, send)


async def _disconnected():
    return {"type": "http.disconnect"}


def _too_large(size: int | None, limit: int, method: str, path: str, hint: str) -> str:
    what = f"The request body is {size / 1e6:.1f} MB" if size is not None else "The request body is too large"
    most = f"{limit / 1e6:.3g} MB" if limit >= 1_000_000 else f"{limit / 1e3:.3g} kB"
    return f"{what}; {method} {path} accepts at most {most} ({hint})."
