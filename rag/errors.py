"""Answering errors; the whole tree is documented in ``index/errors.py``."""

from __future__ import annotations

from index.errors import NewsragError


class AnswerError(NewsragError):
    http_status = 500


class UnknownBackendError(AnswerError):
    http_status = 400


class LLMError(AnswerError):
    http_status = 502


class LLMUnavailableError(LLMError):
    http_status = 503


class LLMTimeoutError(LLMError):
    http_status = 504
