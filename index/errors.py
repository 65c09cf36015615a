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
