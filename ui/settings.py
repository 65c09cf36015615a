"""Settings of ``newsrag serve``: where to listen, who may get in, and the upload limits.

Built once at the entry point (``ServeSettings.from_env(host=..., port=...)``) and passed down.
The rule that matters: the chat and the API stay on the loopback interface unless both a login
(``NEWSRAG_AUTH``) and an API token (``NEWSRAG_API_TOKEN``) are set; otherwise the server refuses
to start, before anything heavy is imported.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from index.errors import ConfigError
from index.settings import comma_list, environment, setting

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_EXAMPLES = ()  # none configured: drawn from the library (ui.examples)
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_HOST_NAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?")
MIN_TOKEN_CHARS = 16
MIN_PASSWORD_CHARS = 8
_TOKEN_FIX = "python -c 'import secrets; print(secrets.token_urlsafe(24))'"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach: localhost, 127.0.0.0/8, ::1."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
        return True
    except ValueError:
        return False


def parse_auth(raw: str | None) -> tuple[str, str] | None:
    """``"user:password"`` -> ``("user", "password")``; the password may itself contain ':'."""
    if raw is None or not raw.strip():
        return None
    user, sep, password = raw.strip().partition(":")
    if not sep or not user or not password:
        raise ConfigError("NEWSRAG_AUTH must be 'user:password' (e.g. NEWSRAG_AUTH='editor:a-long-passphrase'); "
                          "got a value without a user name, a ':' or a password.")
    return user, password


def _questions(raw: str) -> tuple[str, ...]:
    """``NEWSRAG_EXAMPLES``: questions separated by a vertical bar."""
    return tuple(q.strip() for q in raw.split("|") if q.strip())


@dataclass(frozen=True, kw_only=True)
class ServeSettings:
    """How the chat and the HTTP API are served.

    ``auth`` is the Gradio login of the chat, ``api_token`` the bearer token of ``/api/*`` and of
    the article pages when no login cookie is present. ``max_upload_files`` caps one upload; the
    size of each file is capped by the index setting ``max_file_mb`` (``NEWSRAG_MAX_FILE_MB``).
    ``concurrency`` is how many chat answers run at once (the API has its own thread pool).
    ``allowed_hosts`` are the names the ``Host`` header may carry (empty: the loopback names and
    the bound address, or any name on a public address, which needs a login anyway; ``("*",)``:
    any); ``max_request_kb`` bounds every request body except uploads, ``body_timeout`` the
    seconds a client may pause while sending one, ``body_deadline`` the seconds it has for all of
    it. ``trusted_proxies`` (addresses or networks) are
    the only peers whose ``X-Forwarded-For``/``Forwarded``/``X-Forwarded-Proto`` are read: none
    by default, so a client is always its connection's address. ``cors_origins`` are the other
    sites whose pages may call the server from a browser with its cookies (none by default: the
    chat calls only its own origin).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    auth: tuple[str, str] | None = setting("NEWSRAG_AUTH", None, parse=parse_auth)
    api_token: str | None = setting("NEWSRAG_API_TOKEN", None)
    max_upload_files: int = setting("NEWSRAG_MAX_UPLOAD_FILES", 20)
    concurrency: int = setting("NEWSRAG_UI_CONCURRENCY", 4)
    examples: tuple[str, ...] = setting("NEWSRAG_EXAMPLES", DEFAULT_EXAMPLES, parse=_questions, shown="from the library")
    allowed_hosts: tuple[str, ...] = setting("NEWSRAG_ALLOWED_HOSTS", (), parse=comma_list, shown="loopback names")
    max_request_kb: int = setting("NEWSRAG_MAX_REQUEST_KB", 2048)
    body_timeout: float = setting("NEWSRAG_BODY_TIMEOUT", 30.0)
    body_deadline: float = setting("NEWSRAG_BODY_DEADLINE", 300.0)
    trusted_proxies: tuple[str, ...] = setting("NEWSRAG_TRUSTED_PROXIES", (), parse=comma_list, shown="none")
    # other sites' pages allowed to call this server from a browser with its cookies (CORS)
    cors_origins: tuple[str, ...] = setting("NEWSRAG_CORS_ORIGINS", (), parse=comma_list, shown="none")
    # the scheduler polls the feeds (NEWSRAG_POLL_FEEDS=0: only on request)
    poll_feeds: bool = setting("NEWSRAG_POLL_FEEDS", True)

    def __post_init__(self) -> None:
        if not self.host or any(c.isspace() for c in self.host):
            raise ConfigError(f"--host {self.host!r} is not an address: use 127.0.0.1 (this machine only) "
                              "or 0.0.0.0 (every interface, needs NEWSRAG_AUTH and NEWSRAG_API_TOKEN).")
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"--port {self.port} is not a TCP port: use a number from 1 to 65535, e.g. 7860.")
        if self.auth is not None:
            user, password = self.auth
            if not user or len(password) < MIN_PASSWORD_CHARS:
                raise ConfigError(f"The NEWSRAG_AUTH password is {len(password)} characters long: use at "
                                  f"least {MIN_PASSWORD_CHARS}.")
        if self.api_token is not None and len(self.api_token) < MIN_TOKEN_CHARS:
            raise ConfigError(f"NEWSRAG_API_TOKEN is {len(self.api_token)} characters long: use at least "
                              f"{MIN_TOKEN_CHARS}, e.g. the output of `{_TOKEN_FIX}`.")
        if not is_loopback(self.host):
            missing = [name for name, value in (("NEWSRAG_AUTH", self.auth),
                                                ("NEWSRAG_API_TOKEN", self.api_token)) if value is None]
            if missing:
                raise ConfigError(
                    f"Refusing to serve on {self.host}:{self.port} without {' and '.join(missing)}: "
                    "any other machine could read and change the library. Set NEWSRAG_AUTH=user:password "
                    f"and NEWSRAG_API_TOKEN=<token> (`{_TOKEN_FIX}`), or bind to 127.0.0.1.")
        if not 1 <= self.max_upload_files <= 1000:
            raise ConfigError(f"NEWSRAG_MAX_UPLOAD_FILES={self.max_upload_files} must be between 1 and 1000.")
        if not 1 <= self.concurrency <= 64:
            raise ConfigError(f"NEWSRAG_UI_CONCURRENCY={self.concurrency} must be between 1 and 64.")
        if not 16 <= self.max_request_kb <= 100_000:
            raise ConfigError(f"NEWSRAG_MAX_REQUEST_KB={self.max_request_kb} must be between 16 and 100000.")
        if not 0 < self.body_timeout <= 3600:
            raise ConfigError(f"NEWSRAG_BODY_TIMEOUT={self.body_timeout} must be between 0 and 3600 seconds.")
        if not self.body_timeout <= self.body_deadline <= 86_400:
            raise ConfigError(f"NEWSRAG_BODY_DEADLINE={self.body_deadline} must be between NEWSRAG_BODY_TIMEOUT "
                              f"({self.body_timeout:g}) and 86400 seconds.")
        for value in self.trusted_proxies:
            try:
                ipaddress.ip_network(value.strip("[]"), strict=False)
            except ValueError:
                raise ConfigError(f"NEWSRAG_TRUSTED_PROXIES has {value!r}, which is not an address or network: "
                                  "list your reverse proxies' addresses, e.g. "
                                  "NEWSRAG_TRUSTED_PROXIES=127.0.0.1,10.0.0.0/24.") from None
        for origin in self.cors_origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query \
                    or origin != f"{parts.scheme}://{parts.netloc}":
                raise ConfigError(f"NEWSRAG_CORS_ORIGINS has {origin!r}, which is not an origin: list scheme, host "
                                  "and port only, e.g. NEWSRAG_CORS_ORIGINS=https://tools.example.org.")
        for name in self.allowed_hosts:
            if name != "*" and not _is_ip(name) and not _HOST_NAME.fullmatch(name):
                raise ConfigError(f"NEWSRAG_ALLOWED_HOSTS has {name!r}, which is not a host name: list names "
                                  "without scheme or port, e.g. NEWSRAG_ALLOWED_HOSTS=news.example.org,10.0.0.5.")

    @property
    def host_allowlist(self) -> frozenset[str] | None:
        """The names a request's ``Host`` may carry, lower case; None when any is accepted."""
        if "*" in self.allowed_hosts:
            return None
        if self.allowed_hosts:
            return frozenset(h.strip("[]").lower() for h in self.allowed_hosts)
        if not is_loopback(self.host):
            return None
        return frozenset({*LOOPBACK_NAMES, self.host.strip("[]").lower()})

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(v.strip("[]"), strict=False) for v in self.trusted_proxies)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::"} else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> ServeSettings:
        env = os.environ if env is None else env
        values = environment(cls, env)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
