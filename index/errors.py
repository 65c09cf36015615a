"""The one exception tree of newsrag.

Library errors (chromadb, httpx, sentence-transformers, llama-index) are caught where they enter
our code and re-raised as one of these with ``from exc``. The edges translate them: the command
line prints ``error: <message>`` on one line and exits non-zero, the Gradio UI shows ``gr.Error``,
the HTTP API returns ``{"error": ..., "type": ...}`` with ``http_status``.

    NewsragError                 base; ``http_status`` 500
    ├── ConfigError              a bad setting or argument (400); the message names value and fix
    ├── InputError               one bad article file or record (400), "<path>: <reason>"
    │   └── TooLargeError        a file over the size limit (413)
    ├── NotFoundError            an unknown article id (404)
    ├── EmptyIndexError          nothing indexed yet (409)
    ├── StoreError               Chroma refused an operation (500)
    │   └── StoreUnavailableError  Chroma cannot be reached (503)
    ├── FetchError               a feed or page could not be fetched (502); ``retry_after`` seconds
    │   └── BlockedURLError      a URL refused before any request: scheme, private address, robots.txt (400)
    └── AnswerError              (rag/errors.py) answering failed
        ├── UnknownBackendError  a name not in a registry (400)
        └── LLMError             the LLM backend failed (502)
            ├── LLMUnavailableError  server down / refused (503)
            └── LLMTimeoutError      no answer in time (504)
"""

from __future__ import annotations


class NewsragError(Exception):
    """Base of every error newsrag raises on purpose."""

    http_status = 500


class ConfigError(NewsragError):
    http_status = 400


class InputError(NewsragError):
    http_status = 400


class TooLargeError(InputError):
    http_status = 413


class NotFoundError(NewsragError):
    http_status = 404


class EmptyIndexError(NewsragError):
    http_status = 409


class StoreError(NewsragError):
    http_status = 500


class StoreUnavailableError(StoreError):
    http_status = 503


class FetchError(NewsragError):
    """A feed or article page could not be fetched; ``retry_after`` (seconds) when the server said
    when to come back (429/503 ``Retry-After``)."""

    http_status = 502

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class BlockedURLError(FetchError):
    """A URL refused before any request is sent: not http(s), an address in a private, loopback,
    link-local or metadata range (unless ``NEWSRAG_FETCH_ALLOW`` names it), or robots.txt."""

    http_status = 400
