"""The outermost layer of ``newsrag serve``: rules every request meets before any route runs.

One ASGI middleware, so it covers every route of the app, Gradio's and any added later:

- **Host allowlist** (DNS rebinding): a request whose ``Host`` is not an allowed name gets 400.
  By default the loopback names (``localhost``, ``127.0.0.1``, ``::1``) and the bound address;
  ``NEWSRAG_ALLOWED_HOSTS`` sets the list (``*`` turns the check off).
- **Same origin for state-changing requests**: a POST, PUT, PATCH or DELETE sent by a browser from
  another site (a foreign ``Origin``, ``Origin: null`` or ``Sec-Fetch-Site: cross-site``) gets 403.
  Clients that send no ``Origin`` (curl, scripts) are not browsers and pass, and so do the
  origins of ``NEWSRAG_CORS_ORIGINS`` (the only ones CORS answers, ``ui/api.py``).
- **Request body limit** (413): the declared ``Content-Length`` is checked before anything is
  read, a chunked body is counted as it arrives; upload routes have their own, larger limit.
- **Address length** (414): at most ``MAX_PATH`` bytes of path and ``MAX_QUERY`` of query.
- **Body read deadlines** (408): a client that stops sending its body mid-way
  (``NEWSRAG_BODY_TIMEOUT`` between two parts) or sends it slowly (``NEWSRAG_BODY_DEADLINE`` for
  all of it) does not hold the request open.
- **Files of an upload** (413): each part of a multipart upload is counted as it arrives, so a
  file over ``NEWSRAG_MAX_FILE_MB`` is refused then, not once the whole body was spooled to disk.
- **Signed-in only** (401): when a login is set, a request without the login's session or the API
  token reaches only the login page and what it loads, ``/healthz`` (which then says only ``ok``)
  and the routes that check credentials themselves (``GuardRules.open_paths``,
  ``open_prefixes``). Everything else — ``/docs``, ``/openapi.json``, Gradio's ``heartbeat``,
  ``cancel``, ``reset`` and any route added later — needs them.
- **Login throttling** (429): one ``Lockout`` for every way in. After ``max_failures`` failed
  password checks (Gradio's login, whatever its path: ``/login``, ``/login/``, under a root path —
  the check itself consults the lockout) or refused ``Authorization`` headers (bearer or Basic)
  from one client within ``window`` seconds, that client waits ``lockout`` seconds, on every path.

A client is the connection's address (an IPv6 client its /64 network: one machine holds many
addresses of it). ``X-Forwarded-For``, ``Forwarded`` and ``X-Forwarded-Proto`` are read only from
a connection whose address is a trusted proxy (``NEWSRAG_TRUSTED_PROXIES``; none by default): the
client is then the rightmost address of such a header that is not itself a trusted proxy. A request
whose two headers name different clients is counted against both and refused while either is
locked, so a header the proxy passed through unread cannot open a fresh key.

Every refusal is the API's JSON error ``{"error", "type"}`` with its status.
"""

from __future__ import annotations

import asyncio
import contextvars
import hmac
import ipaddress
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from starlette.requests import Request

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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as a proxy header writes one: ``203.0.113.7``, ``203.0.113.7:4711``,
    ``[2001:db8::1]:80``, ``"[2001:db8::1]"``; None for ``unknown``, ``_hidden`` or garbage."""
    value = value.strip().strip('"').strip()
    if value.startswith("["):
        value = value[1:value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_key(value: str) -> str:
    """The key a client is counted under: its IPv4 address, or the /64 network of an IPv6 one (one
    machine is given a whole /64); anything else (a Unix socket) as it is."""
    address = _address(value)
    if address is None:
        return value[:100] or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _trusted(value: str, proxies: tuple[Network, ...]) -> bool:
    address = _address(value)
    return address is not None and any(address in network for network in proxies)


def _forwarded_pairs(value: str) -> list[dict[str, str]]:
    """RFC 7239 ``Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::1]"`` -> one dict per hop."""
    hops = []
    for element in value.split(","):
        pairs = {}
        for pair in element.split(";"):
            key, sep, item = pair.partition("=")
            if sep:
                pairs[key.strip().lower()] = item.strip().strip('"')
        hops.append(pairs)
    return hops


def _rightmost_untrusted(hops: list[str], proxies: tuple[Network, ...]) -> str | None:
    hops = [h.strip() for h in hops if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else None  # every hop a trusted proxy: the first one asked


def resolve_client(peer: str, headers: Iterable[tuple[bytes, bytes]], proxies: tuple[Network, ...]
                   ) -> tuple[tuple[str, ...], str | None]:
    """The keys a request is counted under, and the scheme its trusted proxy received it over.

    From a peer that is not a trusted proxy, the peer alone (its headers are not read). From a
    trusted proxy, the rightmost address of ``X-Forwarded-For`` and of ``Forwarded`` that is not a
    trusted proxy — both when they differ, since only one of them was written by the proxy."""
    if not proxies or not _trusted(peer, proxies):
        return (client_key(peer),), None
    chain: list[str] = []
    forwarded: list[dict[str, str]] = []
    proto = None
    for name, value in headers:
        if name == b"x-forwarded-for":
            chain += value.decode("latin-1").split(",")
        elif name == b"forwarded":
            forwarded += _forwarded_pairs(value.decode("latin-1"))
        elif name == b"x-forwarded-proto":
            proto = value.decode("latin-1").split(",")[-1].strip().lower()
    keys = []
    for hops in (chain, [hop.get("for", "") for hop in forwarded]):
        found = _rightmost_untrusted(hops, proxies)
        if found is not None and client_key(found) not in keys:
            keys.append(client_key(found))
    if proto is None and forwarded:
        proto = forwarded[-1].get("proto", "").lower() or None
    return tuple(keys) or (client_key(peer),), proto if proto in ("http", "https") else None


_CLIENTS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("newsrag_clients",
                                                                           default=("unknown",))


def current_clients() -> tuple[str, ...]:
    """The keys of the request being served (set by ``Guard``; routes run in its context)."""
    return _CLIENTS.get()


class Lockout:
    """Failed authentications per client key (a sliding window), and who is locked out until when.

    One instance per server, shared by the guard (refused ``Authorization`` headers) and the
    password check of the login (``password_check``), so every way in counts against one budget."""

    def __init__(self, *, max_failures: int = 5, window: float = 60.0, lockout: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.max_failures, self.window, self.lockout, self.clock = max_failures, window, lockout, clock
        self._seen: dict[str, deque] = defaultdict(deque)
        self._locked: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, keys: Iterable[str]) -> tuple[float, str | None]:
        """Seconds the longest-locked of ``keys`` still waits, and that key (0 and None: none is)."""
        now, longest, who = self.clock(), 0.0, None
        with self._lock:
            for key in keys:
                until = self._locked.get(key, 0.0)
                if until <= now:
                    self._locked.pop(key, None)
                elif until - now > longest:
                    longest, who = until - now, key
        return longest, who

    def failed(self, keys: Iterable[str]) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                times = self._seen[key]
                times.append(now)
                while times and times[0] <= now - self.window:
                    times.popleft()
                if len(times) >= self.max_failures:
                    self._locked[key] = now + self.lockout
                    times.clear()
            if len(self._seen) > 10_000:  # bounded memory under a flood of addresses
                for stale in [k for k, t in self._seen.items() if not t or t[-1] <= now - self.window]:
                    del self._seen[stale]
            if len(self._locked) > 10_000:
                for stale in [k for k, until in self._locked.items() if until <= now]:
                    del self._locked[stale]

    def succeeded(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._seen.pop(key, None)


def too_many(wait: float, who: str) -> tuple[str, dict[str, str]]:
    return (f"Too many failed logins from {who}: try again in {wait:.0f} s.",
            {"Retry-After": str(int(wait) + 1)})


def password_check(account: tuple[str, str], lockout: Lockout) -> Callable[[str, str], bool]:
    """Gradio's ``auth`` callable: the one login, checked in constant time, counted by ``lockout``
    for the request's client. Whatever route reaches it (``/login``, ``/login/``, a root path),
    a locked-out client is refused with 429 before the password is compared."""
    from fastapi import HTTPException

    user, password = account

    def check(username: str, given: str) -> bool:
        clients = current_clients()
        wait, who = lockout.wait(clients)
        if wait > 0:
            message, headers = too_many(wait, who)
            raise HTTPException(status_code=429, detail=message, headers=headers)
        ok = hmac.compare_digest(username.encode(), user.encode()) & hmac.compare_digest(
            given.encode(), password.encode())
        (lockout.succeeded if ok else lockout.failed)(clients)
        return ok

    return check


def is_login(method: str, path: str) -> bool:
    """A POST to a login route: ``/login``, ``/login/``, ``/root/login//``."""
    return method == "POST" and path.rstrip("/").rsplit("/", 1)[-1].lower() == "login"


@dataclass(frozen=True, kw_only=True)
class GuardRules:
    """What the guard enforces; built from ``ServeSettings`` by the server."""

    allowed_hosts: frozenset[str] | None  # None: any Host
    max_body: int  # bytes, any request
    upload_paths: frozenset[str] = frozenset()
    max_upload_body: int = 0  # bytes, POST to an upload path
    body_timeout: float = 30.0  # seconds between two parts of a request body
    body_deadline: float = 300.0  # seconds for a whole request body
    max_part: int = 0  # bytes of one file in a multipart upload (0: no limit of its own)
    trusted_proxies: tuple[Network, ...] = ()
    # with a login set, what a caller without credentials may reach (exact paths, path prefixes)
    open_paths: frozenset[str] = frozenset()
    open_prefixes: tuple[str, ...] = ()
    # other sites' origins (host, port) whose state-changing requests are served (NEWSRAG_CORS_ORIGINS)
    allowed_origins: frozenset[tuple[str, int | None]] = frozenset()

    def is_open(self, path: str) -> bool:
        return path in self.open_paths or path.startswith(self.open_prefixes)

    def part_limit(self, method: str, path: str, content_type: bytes) -> Parts | None:
        """A counter of the file parts of an upload (multipart), each held to ``max_part``."""
        if not self.max_part or method != "POST" or path not in self.upload_paths:
            return None
        kind, _, params = content_type.decode("latin-1").partition(";")
        if kind.strip().lower() != "multipart/form-data":
            return None
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.lower() == "boundary" and value.strip('"'):
                return Parts(value.strip('"').encode("latin-1"), self.max_part)
        return None

    def body_limit(self, method: str, path: str) -> tuple[int, str]:
        """The most bytes a request may send, and how to get more past it."""
        if method == "POST" and path in self.upload_paths:
            return self.max_upload_body, "fewer or smaller files, or raise NEWSRAG_MAX_FILE_MB"
        return self.max_body, "send less, or raise NEWSRAG_MAX_REQUEST_KB"


class Parts:
    """The size of each part of a multipart body, counted as it streams past (the delimiter may be
    cut between two chunks): a file over the limit is refused once that many bytes of it arrived,
    not after the whole request was received and spooled to disk."""

    SLACK = 16_384  # a part's own headers (its name, its type)

    def __init__(self, boundary: bytes, limit: int):
        self.delimiter, self.limit = b"\r\n--" + boundary, limit + self.SLACK
        self.tail, self.current = b"", 0

    def over(self, chunk: bytes) -> bool:
        """Feed the next chunk; whether the part being received is now over the limit."""
        data = self.tail + chunk
        found = data.rfind(self.delimiter)
        if found >= 0:
            self.current = len(data) - found - len(self.delimiter)
        else:
            self.current += len(chunk)
        self.tail = data[-(len(self.delimiter) - 1):]
        return self.current > self.limit


def _error(status: int, kind: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "type": kind}, status_code=status, headers=dict(headers or {}))


class Guard:
    """ASGI middleware enforcing ``GuardRules`` (see the module docstring)."""

    def __init__(self, app, *, rules: GuardRules, lockout: Lockout,
                 signed_in: Callable[[Request], bool] | None = None):
        """``signed_in(request)``: whether it carries the login's session or the API token; None
        when no login is set (then every route is open to whoever passes the other rules)."""
        self.app, self.rules, self.lockout, self.signed_in = app, rules, lockout, signed_in

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
                foreign = (foreign or theirs is None or ours is None or theirs != ours) \
                    and theirs not in rules.allowed_origins
            if foreign:
                return _error(403, "CrossOriginError",
                              f"A {method} from another site ({origin[:100] or fetch_site}) is refused: "
                              "open the chat from this server's own address.")
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        peer = scope.get("client") or ("unknown", 0)
        clients, scheme = resolve_client(peer[0], scope.get("headers") or (), self.rules.trusted_proxies)
        if scheme is not None:  # what the trusted proxy received the request over
            scope["scheme"] = scheme.replace("http", "ws") if scope["type"] == "websocket" else scheme
        token = _CLIENTS.set(clients)
        try:
            await self._guarded(scope, receive, send, clients)
        finally:
            _CLIENTS.reset(token)

    async def _guarded(self, scope, receive, send, clients: tuple[str, ...]):
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
        method, path = scope.get("method", "GET"), scope.get("path", "")
        if len(scope.get("raw_path") or b"") > MAX_PATH or len(scope.get("query_string") or b"") > MAX_QUERY:
            await _error(414, "URITooLongError", f"The address is too long: at most {MAX_PATH} bytes of path "
                         f"and {MAX_QUERY} of query are accepted.")(scope, receive, send)
            return
        authorization = b"authorization" in headers
        if authorization or is_login(method, path):
            wait, who = self.lockout.wait(clients)
            if wait > 0:
                message, extra = too_many(wait, who)
                await _error(429, "TooManyAttemptsError", message, extra)(scope, receive, send)
                return
        if self.signed_in is not None and not self.rules.is_open(path) and not self.signed_in(Request(scope)):
            if authorization:
                self.lockout.failed(clients)
            await _error(401, "AuthRequiredError", f"{method} {path[:100]} needs the login: log in to the chat "
                         "(open / in a browser) or send 'Authorization: Bearer <NEWSRAG_API_TOKEN>'.",
                         {"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        limit, hint = self.rules.body_limit(method, path)
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _error(413, "TooLargeError", _too_large(int(length), limit, method, path, hint))(
                scope, receive, send)
            return
        await self._bounded(scope, receive, send, limit=(limit, hint), clients=clients,
                            authorization=authorization)

    async def _bounded(self, scope, receive, send, *, limit: tuple[int, str], clients: tuple[str, ...],
                       authorization: bool) -> None:
        """Run the app, counting the body as it arrives and noting refused ``Authorization`` headers
        (a login's password is counted where it is checked: ``password_check``)."""
        state = {"received": 0, "more": True, "started": False, "refused": False, "complete": False}
        parts = self.rules.part_limit(scope["method"], scope["path"],
                                      dict(scope.get("headers") or ()).get(b"content-type", b""))
        deadline = time.monotonic() + self.rules.body_deadline

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
            left = deadline - time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, min(self.rules.body_timeout, left)))
            except TimeoutError:
                if left <= self.rules.body_timeout:
                    return await reply(408, "RequestTimeoutError",
                                       f"The request body took longer than {self.rules.body_deadline:g} s to "
                                       "arrive; send it again over a faster link, or raise NEWSRAG_BODY_DEADLINE.")
                return await reply(408, "RequestTimeoutError",
                                   f"The request body stopped arriving for {self.rules.body_timeout:g} s; "
                                   "send it again.")
            if message["type"] == "http.request":
                body = message.get("body", b"")
                state["received"] += len(body)
                state["more"] = message.get("more_body", False)
                if state["received"] > limit[0]:
                    return await reply(413, "TooLargeError", _too_large(None, limit[0], scope["method"],
                                                                       scope["path"], limit[1]))
                if parts is not None and parts.over(body):
                    return await reply(413, "TooLargeError",
                                       f"A file in this upload is over the {self.rules.max_part / 1e6:g} MB limit "
                                       "per file; it was refused as it arrived (raise NEWSRAG_MAX_FILE_MB to "
                                       "allow it).")
            return message

        async def tracked_send(message):
            if state["refused"]:
                return  # the app answers a request we already refused: drop it
            if message["type"] == "http.response.start":
                state["started"] = True
                if authorization and message["status"] == 401:
                    self.lockout.failed(clients)
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
