"""A polite, bounded, SSRF-safe HTTP fetcher for feeds and article pages (on httpx).

Every request:

- goes to an address checked *after* DNS resolution: the host name is resolved, every address it
  resolves to must be public (not private, loopback, link-local, metadata, shared, multicast,
  reserved), and the connection is made to the checked address itself (``Host`` header and TLS
  server name kept), so a name cannot resolve to a public address for the check and a private one
  for the connection. ``FetchSettings.allow`` (``NEWSRAG_FETCH_ALLOW``: host names or CIDR ranges)
  lets named hosts or ranges through. Redirects are followed by hand, at most ``max_redirects``,
  and each target is checked the same way;
- is bounded: ``timeout`` seconds for the whole response (a server that drips bytes is cut off),
  ``max_bytes`` per response (streamed; the body is cut at the limit and the response refused);
- is polite: a User-Agent naming newsrag, robots.txt obeyed (cached per site for an hour), one
  request at a time per host and at least ``host_interval`` seconds between two, conditional GET
  (``If-None-Match`` / ``If-Modified-Since``: a 304 is ``not_modified``), and after a 429 or 503
  with ``Retry-After`` no request to that host before the time it asked for.

Failures leave as ``FetchError`` (with ``retry_after`` when the server gave one) or
``BlockedURLError`` (refused before any request), each a one-line message naming the URL.
"""

from __future__ import annotations

import contextlib
import email.utils
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from index.errors import BlockedURLError, FetchError
from index.settings import FetchSettings

ROBOTS_TTL = 3600.0
ROBOTS_MAX_BYTES = 512_000
MAX_RETRY_AFTER = 6 * 3600.0  # a Retry-After further away than this is read as this
_BLOCKED_NETS = tuple(ipaddress.ip_network(n) for n in (
    "100.64.0.0/10",  # shared address space (carrier NAT; Alibaba's metadata service lives here)
    "192.0.0.0/24", "198.18.0.0/15",  # protocol assignments, benchmarking
    "fd00:ec2::/32",  # AWS metadata over IPv6 (also unique-local)
))
_REDIRECTS = {301, 302, 303, 307, 308}
_RETRYABLE = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Fetched:
    """A response read whole (within the limits). ``not_modified``: a 304 to a conditional GET."""

    url: str  # after redirects
    status: int
    content: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False

    def text(self) -> str:
        charset = "utf-8"
        for part in self.content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"').strip()
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: a number of seconds or an HTTP date; None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return min(max(0.0, when.timestamp() - (time.time() if now is None else now)), MAX_RETRY_AFTER)


def address_refusal(address: str, host: str, allow: tuple[str, ...]) -> str | None:
    """Why ``address`` (``host`` resolved) may not be fetched, or None when it may."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if host.lower() in allow:
        return None
    for item in allow:
        with contextlib.suppress(ValueError):
            if ip in ipaddress.ip_network(item, strict=False):
                return None
    mapped = getattr(ip, "ipv4_mapped", None)
    checked = mapped or ip
    if checked.is_loopback:
        kind = "a loopback"
    elif checked.is_link_local:
        kind = "a link-local (cloud metadata)"
    elif checked.is_multicast:
        kind = "a multicast"
    elif checked.is_unspecified or checked.is_reserved:
        kind = "a reserved"
    elif checked.is_private or any(checked in net for net in _BLOCKED_NETS if net.version == checked.version):
        kind = "a private"
    elif not checked.is_global:
        kind = "a non-public"
    else:
        return None
    return (f"{host} resolves to {address}, {kind} address; newsrag fetches only public addresses "
            f"unless NEWSRAG_FETCH_ALLOW names the host or range (e.g. NEWSRAG_FETCH_ALLOW={host})")


@dataclass
class _Host:
    """One host's turn: a request at a time, ``host_interval`` apart, none before ``not_before``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    next_at: float = 0.0
    not_before: float = 0.0  # wall clock, from a Retry-After


class Fetcher:
    """Fetch URLs within ``FetchSettings``; one instance is shared by every poll of a process.

    ``resolve`` maps a host name to its addresses (``socket.getaddrinfo`` by default; tests may
    pass a table to send a public-looking name to a test server, which the checks then judge by
    the address it gives).
    """

    def __init__(self, *, settings: FetchSettings, resolve=None, sleep=time.sleep):
        self.settings = settings
        self._resolve = resolve or _getaddrinfo
        self._sleep = sleep
        self._hosts: dict[str, _Host] = {}
        self._hosts_lock = threading.Lock()
        self._robots: dict[str, tuple[float, RobotFileParser | None]] = {}
        timeout = httpx.Timeout(settings.timeout, connect=min(10.0, settings.timeout))
        # trust_env=False: no proxy from the environment may carry a request past the address checks
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False,
                                    headers={"User-Agent": settings.user_agent,
                                             "Accept-Encoding": "gzip, deflate"})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------- public

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
            accept: str = "*/*", max_bytes: int | None = None) -> Fetched:
        """GET ``url`` within every limit; conditional when ``etag``/``last_modified`` are given.
        Raises ``BlockedURLError`` before any request, ``FetchError`` for a failed one."""
        self._target(url)  # a URL that may not be fetched is refused as itself, before robots.txt
        if self.settings.robots:
            self._check_robots(url)
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return self._follow(url, headers, max_bytes or self.settings.max_bytes)

    # ---------------------------------------------------------------------------- internals

    def _follow(self, url: str, headers: dict[str, str], max_bytes: int) -> Fetched:
        current = url
        for hop in range(self.settings.max_redirects + 1):
            status, response_headers, content, final = self._one(current, headers, max_bytes)
            if status in _REDIRECTS:
                target = response_headers.get("location")
                if not target:
                    raise FetchError(f"{current}: HTTP {status} redirect without a Location", status=status)
                current = urljoin(current, target)
                if hop == self.settings.max_redirects:
                    break
                continue
            if status == 304:
                return Fetched(url=final, status=304, not_modified=True,
                               etag=response_headers.get("etag"),
                               last_modified=response_headers.get("last-modified"))
            if status >= 400:
                retry = retry_after_seconds(response_headers.get("retry-after"))
                hint = f"; the server asks to retry in {retry:g} s" if retry is not None else ""
                raise FetchError(f"{current}: HTTP {status}{hint}", retry_after=retry, status=status)
            return Fetched(url=final, status=status, content=content,
                           content_type=response_headers.get("content-type", ""),
                           etag=response_headers.get("etag"), last_modified=response_headers.get("last-modified"))
        raise FetchError(f"{url}: more than {self.settings.max_redirects} redirects (the last to {current})")

    def _target(self, url: str) -> tuple[httpx.URL, str, str]:
        """The URL to connect to (the checked address in place of the name), the Host header and
        the host name; refuses what may not be fetched."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise BlockedURLError(f"{url[:200]}: not a valid URL ({exc})") from None
        if parts.scheme not in ("http", "https"):
            raise BlockedURLError(f"{url[:200]}: only http and https URLs are fetched, not "
                                  f"{parts.scheme or 'a relative URL'!r}")
        host = (parts.hostname or "").lower()
        if not host:
            raise BlockedURLError(f"{url[:200]}: no host name")
        if parts.username or parts.password:
            raise BlockedURLError(f"{url[:200]}: URLs with a user name or password are not fetched")
        port = port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = self._resolve(host, port)
        except OSError as exc:
            raise FetchError(f"{url[:200]}: cannot resolve {host} ({getattr(exc, 'strerror', None) or exc})") from None
        if not addresses:
            raise FetchError(f"{url[:200]}: {host} resolves to no address")
        for address in addresses:  # every one: the connection may use any of them
            reason = address_refusal(address, host, self.settings.allow)
            if reason:
                raise BlockedURLError(f"{url[:200]}: refused: {reason}")
        address = addresses[0]
        netloc_host = f"[{host}]" if ":" in host else host
        default = (parts.scheme == "https" and port == 443) or (parts.scheme == "http" and port == 80)
        host_header = netloc_host if default else f"{netloc_host}:{port}"
        return httpx.URL(url).copy_with(host=address), host_header, host

    def _slot(self, host: str) -> _Host:
        with self._hosts_lock:
            return self._hosts.setdefault(host, _Host())

    def _one(self, url: str, headers: dict[str, str], max_bytes: int
             ) -> tuple[int, httpx.Headers, bytes, str]:
        target, host_header, host = self._target(url)
        slot = self._slot(host)
        with slot.lock:  # one request at a time per host
            wait = slot.not_before - time.time()
            if wait > 0:
                raise FetchError(f"{url}: {host} asked not to be fetched for another {wait:.0f} s (Retry-After)",
                                 retry_after=wait)
            delay = slot.next_at - time.monotonic()
            if delay > 0:
                self._sleep(delay)
            try:
                return self._request(url, target, host_header, host, headers, max_bytes, slot)
            finally:
                slot.next_at = time.monotonic() + self.settings.host_interval

    def _request(self, url: str, target: httpx.URL, host_header: str, host: str, headers: dict[str, str],
                 max_bytes: int, slot: _Host) -> tuple[int, httpx.Headers, bytes, str]:
        extensions = {"sni_hostname": host} if target.scheme == "https" else {}
        deadline = time.monotonic() + self.settings.timeout
        try:
            with self._client.stream("GET", target, headers={**headers, "Host": host_header},
                                     extensions=extensions) as response:
                status = response.status_code
                if status in (429, 503):
                    retry = retry_after_seconds(response.headers.get("retry-after"))
                    if retry:
                        slot.not_before = time.time() + retry
                if status != 200:
                    return status, response.headers, b"", url
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError(f"{url}: the response is {int(declared) / 1e6:.1f} MB, over the "
                                     f"{max_bytes / 1e6:g} MB limit (raise NEWSRAG_FETCH_MAX_MB to allow it)")
                body = bytearray()
                for piece in response.iter_bytes():
                    body += piece
                    if len(body) > max_bytes:
                        raise FetchError(f"{url}: the response was cut at the {max_bytes / 1e6:g} MB limit "
                                         "(raise NEWSRAG_FETCH_MAX_MB to allow more)")
                    if time.monotonic() > deadline:
                        raise FetchError(f"{url}: no complete response within {self.settings.timeout:g} s "
                                         f"({len(body):,} bytes received; raise NEWSRAG_FETCH_TIMEOUT to wait longer)")
                return status, response.headers, bytes(body), url
        except httpx.TimeoutException:
            raise FetchError(f"{url}: no response within {self.settings.timeout:g} s "
                             "(raise NEWSRAG_FETCH_TIMEOUT to wait longer)") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{url}: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else 'failed'}"
                             ) from None

    # ------------------------------------------------------------------------------ robots

    def _check_robots(self, url: str) -> None:
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}".lower()
        cached = self._robots.get(site)
        if cached is None or cached[0] < time.monotonic():
            cached = (time.monotonic() + ROBOTS_TTL, self._read_robots(site))
            with self._hosts_lock:
                self._robots[site] = cached
        rules = cached[1]
        if rules is not None and not rules.can_fetch("newsrag", url):
            raise BlockedURLError(f"{url}: refused by {site}/robots.txt (it disallows this path to newsrag)")

    def _read_robots(self, site: str) -> RobotFileParser | None:
        """The site's rules; None (everything allowed) when it has none (4xx). A site whose
        robots.txt cannot be read (5xx, no answer) is not fetched until it can (RFC 9309): the
        error is raised, and nothing is cached."""
        try:
            fetched = self._follow(f"{site}/robots.txt", {"Accept": "text/plain"}, ROBOTS_MAX_BYTES)
        except BlockedURLError:
            raise
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return None
            raise FetchError(f"{site}/robots.txt cannot be read, so nothing of the site is fetched for now "
                             f"({str(exc).removeprefix(site + '/robots.txt: ')})", retry_after=exc.retry_after,
                             status=exc.status) from None
        rules = RobotFileParser()
        rules.parse(fetched.text().splitlines())
        return rules


def _getaddrinfo(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))
