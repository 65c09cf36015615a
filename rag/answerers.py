"""The registry of answering modes: a name -> a factory. LLM modes import their clients lazily."""

from __future__ import annotations

from collections.abc import Callable

from rag.answering import Answerer
from rag.errors import UnknownBackendError
from rag.settings import RagSettings


def _extractive(settings: RagSettings) -> Answerer:
    from rag.extractive import ExtractiveAnswerer

    return ExtractiveAnswerer(settings=settings)


def _llm(backend: str) -> Callable[[RagSettings], Answerer]:
    def factory(settings: RagSettings) -> Answerer:
        from rag.llm import LLMAnswerer

        return LLMAnswerer(backend=backend, settings=settings)

    return factory


ANSWERERS: dict[str, Callable[[RagSettings], Answerer]] = {
    "extractive": _extractive,
    "openai": _llm("openai"),
    "ollama": _llm("ollama"),
    "llamacpp": _llm("llamacpp"),
}

DESCRIPTIONS = {
    "extractive": "quotes the best evidence sentences; no LLM needed",
    "openai": "any OpenAI-compatible server (NEWSRAG_LLM_BASE_URL, NEWSRAG_LLM_MODEL, NEWSRAG_LLM_API_KEY)",
    "ollama": "an Ollama server (NEWSRAG_OLLAMA_URL, NEWSRAG_LLM_MODEL)",
    "llamacpp": "a local GGUF model run in-process by llama.cpp (NEWSRAG_GGUF_PATH)",
}


def make_answerer(mode: str, *, settings: RagSettings) -> Answerer:
    try:
        factory = ANSWERERS[mode]
    except KeyError:
        raise UnknownBackendError(f"Unknown answering mode {mode!r}: use one of "
                                  f"{', '.join(ANSWERERS)}.") from None
    return factory(settings)
