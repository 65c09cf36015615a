"""Settings of the ingestion side: where the index lives and how articles become chunks.

Built once at an entry point (``IndexSettings.from_env()`` in the CLI, or explicitly in tests and
library use) and passed down; nothing reads the environment anywhere else.

Every setting a variable sets is declared with ``setting``: the variable's name and the default
are written once, in the field, and ``environment`` reads them all the same way (here, and for
``rag.settings.RagSettings`` and ``ui.settings.ServeSettings``). The README's configuration table
is checked against these fields (``tests/test_settings.py``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlparse

from index.errors import ConfigError

DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"
EMBED_BACKENDS = ("auto", "onnx-fp32", "onnx-int8", "torch")  # index.embedding.BACKENDS
_COLLECTION_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,50}[a-zA-Z0-9]$")


def env_value(env: Mapping[str, str], name: str, default, kind):
    """Read ``name`` from ``env`` as ``kind`` (str, int, float, bool); the error names the fix."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    raw = raw.strip()
    if kind is str:
        return raw
    if kind is bool:
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no or on/off.")
    try:
        return kind(raw)
    except ValueError:
        example = "256" if kind is int else "0.5"
        raise ConfigError(f"{name}={raw!r} is not a{'n integer' if kind is int else ' number'}: "
                          f"set it to a value such as {example}.") from None


def setting(variable: str, default=MISSING, *, factory=None, parse=None, shown: str | None = None):
    """A settings field that the environment variable ``variable`` sets (``environment``), with its
    default written here, once. ``parse`` turns the variable's text into the value (by default the
    field's type does: str, int, float, bool or Path, optional or not); ``shown`` is how the README's
    configuration table gives a default that is no plain value ("model limit (256)")."""
    metadata = {"env": variable, "parse": parse, "shown": shown}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


_KINDS = {"str": str, "int": int, "float": float, "bool": bool, "Path": Path}


def environment(cls, env: Mapping[str, str]) -> dict:
    """The fields of the settings class ``cls`` that their variables set in ``env``, by name (an
    unset or empty variable leaves its field's default)."""
    values = {}
    for f in fields(cls):
        variable = f.metadata.get("env")
        raw = env.get(variable) if variable else None
        if raw is None or not raw.strip():
            continue
        parse = f.metadata["parse"]
        values[f.name] = parse(raw) if parse else env_value(env, variable, None, _KINDS[f.type.removesuffix(" | None")])
    return values


def variables(cls) -> dict[str, object]:
    """Variable -> its field, for every field of ``cls`` a variable sets."""
    return {f.metadata["env"]: f for f in fields(cls) if f.metadata.get("env")}


def add_index_options(parser) -> None:
    """``--home`` and ``--collection`` on an ``argparse`` parser: every command that opens an index
    takes them (over ``NEWSRAG_HOME`` and ``NEWSRAG_COLLECTION``)."""
    defaults = {f.name: f for f in fields(IndexSettings)}
    parser.add_argument("--home", help=f"data directory (default: $NEWSRAG_HOME or "
                                       f"./{defaults['home'].default_factory()})")
    parser.add_argument("--collection", help=f"index name inside the store (default: $NEWSRAG_COLLECTION or "
                                             f"{defaults['collection'].default})")


def comma_list(raw: str) -> tuple[str, ...]:
    """A comma-separated list."""
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def parse_allow(raw: str | None) -> tuple[str, ...]:
    """``NEWSRAG_FETCH_ALLOW``: host names or CIDR ranges, comma-separated; each checked here."""
    import ipaddress

    found = []
    for item in (raw or "").split(","):
        item = item.strip().lower().strip("[]")
        if not item:
            continue
        if not any(c.isalpha() for c in item.replace(":", "")) or "/" in item:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ConfigError(f"NEWSRAG_FETCH_ALLOW has {item!r}, which is neither a host name nor an address "
                                  "range: use e.g. NEWSRAG_FETCH_ALLOW=127.0.0.1,10.0.0.0/8,intranet.example.org."
                                  ) from None
        elif not re.fullmatch(r"[a-z0-9_]([a-z0-9_.-]{0,251}[a-z0-9_])?", item):
            raise ConfigError(f"NEWSRAG_FETCH_ALLOW has {item!r}, which is not a host name: list names without "
                              "scheme or port, e.g. NEWSRAG_FETCH_ALLOW=intranet.example.org.")
        found.append(item)
    return tuple(found)


@dataclass(frozen=True, kw_only=True)
class FetchSettings:
    """How feeds and article pages are fetched (``index.fetch``): bounded in time and size, polite
    to each host, and never to a private, loopback, link-local or metadata address unless
    ``allow`` (``NEWSRAG_FETCH_ALLOW``: host names or CIDR ranges) names it."""

    allow: tuple[str, ...] = setting("NEWSRAG_FETCH_ALLOW", (), parse=parse_allow, shown="none")
    timeout: float = setting("NEWSRAG_FETCH_TIMEOUT", 20.0)  # seconds for one whole response (connect, headers, body)
    max_mb: float = setting("NEWSRAG_FETCH_MAX_MB", 10.0)  # one response is cut here
    max_redirects: int = 5
    host_interval: float = setting("NEWSRAG_FETCH_INTERVAL", 1.0)  # seconds between two requests to one host
    robots: bool = setting("NEWSRAG_FETCH_ROBOTS", True)
    user_agent: str = "newsrag/0.1 (news feed reader; +https://github.com/newsrag/newsrag)"
    # entries ingested per poll of one feed (the rest at the next polls)
    max_entries: int = setting("NEWSRAG_FEED_MAX_ENTRIES", 100)
    min_every: float = setting("NEWSRAG_FEED_MIN_EVERY", 60.0)  # the shortest interval a feed may be polled at

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow", parse_allow(",".join(self.allow)))
        if not 0 < self.timeout <= 600:
            raise ConfigError(f"NEWSRAG_FETCH_TIMEOUT={self.timeout} must be between 0 and 600 seconds.")
        if not 0 < self.max_mb <= 1000:
            raise ConfigError(f"NEWSRAG_FETCH_MAX_MB={self.max_mb} must be between 0 and 1000.")
        if not 0 <= self.max_redirects <= 20:
            raise ConfigError(f"max_redirects={self.max_redirects} must be between 0 and 20.")
        if not 0 <= self.host_interval <= 3600:
            raise ConfigError(f"NEWSRAG_FETCH_INTERVAL={self.host_interval} must be between 0 and 3600 seconds.")
        if not 1 <= self.max_entries <= 100_000:
            raise ConfigError(f"NEWSRAG_FEED_MAX_ENTRIES={self.max_entries} must be between 1 and 100000.")
        if not 1 <= self.min_every <= 86400:
            raise ConfigError(f"NEWSRAG_FEED_MIN_EVERY={self.min_every} must be between 1 and 86400 seconds.")

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1_000_000)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> FetchSettings:
        return cls(**environment(cls, env))


@dataclass(frozen=True, kw_only=True)
class IndexSettings:
    """Where the index is stored and how it is built.

    ``chunk_tokens`` is the word-piece budget of one chunk *including* its title header and the
    model's two special tokens; ``None`` means the embedding model's own limit (256 for
    all-MiniLM-L6-v2), so no chunk is ever truncated by the model.
    """

    home: Path = setting("NEWSRAG_HOME", factory=lambda: Path(".newsrag"), shown="`./.newsrag`")
    chroma_url: str | None = setting("NEWSRAG_CHROMA_URL", None)
    collection: str = setting("NEWSRAG_COLLECTION", "newsrag")
    embed_model: str = setting("NEWSRAG_EMBED_MODEL", DEFAULT_EMBED_MODEL)
    embed_batch_size: int = setting("NEWSRAG_EMBED_BATCH", 32)
    embed_backend: str = setting("NEWSRAG_EMBED_BACKEND", "auto")  # index.embedding.BACKENDS
    # ONNX exports of the embedding model; None: <home>/models
    model_dir: Path | None = setting("NEWSRAG_MODEL_DIR", None, shown="`<home>/models`")
    # index.vectors.CHUNK_VECTORS: encode chunks, or derive from sentences
    chunk_vectors: str = setting("NEWSRAG_CHUNK_VECTORS", "encode")
    chunk_tokens: int | None = setting("NEWSRAG_CHUNK_TOKENS", None, shown="model limit (256)")
    chunk_overlap: int = setting("NEWSRAG_CHUNK_OVERLAP", 1)
    max_file_mb: float = setting("NEWSRAG_MAX_FILE_MB", 10.0)
    max_articles_per_file: int = setting("NEWSRAG_MAX_ARTICLES_PER_FILE", 1000)
    fetch: FetchSettings = field(default_factory=FetchSettings)  # feeds and their pages

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home))
        if self.chroma_url is not None:
            parsed = urlparse(self.chroma_url)
            if parsed.scheme not in {"http", "https"} or not parsed.hostname:
                raise ConfigError(
                    f"NEWSRAG_CHROMA_URL={self.chroma_url!r} is not a server address: "
                    "use a URL such as http://127.0.0.1:8000, or unset it for the on-disk store.")
        if not _COLLECTION_RE.match(self.collection):
            raise ConfigError(
                f"collection name {self.collection!r} is invalid: use 3-52 characters from "
                "letters, digits, '.', '_' and '-', starting and ending with a letter or digit.")
        if self.embed_backend not in EMBED_BACKENDS:
            raise ConfigError(f"NEWSRAG_EMBED_BACKEND={self.embed_backend!r} is unknown: use one of "
                              f"{', '.join(EMBED_BACKENDS)}.")
        if self.chunk_vectors not in ("encode", "sentences"):
            raise ConfigError(f"NEWSRAG_CHUNK_VECTORS={self.chunk_vectors!r} is unknown: use encode or sentences.")
        if self.model_dir is not None:
            object.__setattr__(self, "model_dir", Path(self.model_dir))
        if self.embed_batch_size < 1:
            raise ConfigError(f"embed_batch_size={self.embed_batch_size} must be at least 1.")
        if self.chunk_tokens is not None and self.chunk_tokens < 32:
            raise ConfigError(f"chunk_tokens={self.chunk_tokens} is too small: use at least 32 "
                              "word pieces, or leave it unset for the model's limit.")
        if self.chunk_overlap < 0:
            raise ConfigError(f"chunk_overlap={self.chunk_overlap} must be 0 or more sentences.")
        if self.max_file_mb <= 0:
            raise ConfigError(f"max_file_mb={self.max_file_mb} must be positive.")
        if self.max_articles_per_file < 1:
            raise ConfigError(f"NEWSRAG_MAX_ARTICLES_PER_FILE={self.max_articles_per_file} must be at least 1.")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1_000_000)

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def model_path(self) -> Path:
        return self.model_dir or self.home / "models"

    @property
    def lexical_path(self) -> Path:
        return self.home / "bm25" / self.collection

    def with_(self, **changes) -> IndexSettings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> IndexSettings:
        env = os.environ if env is None else env
        values = {**environment(cls, env), "fetch": FetchSettings.from_env(env)}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
