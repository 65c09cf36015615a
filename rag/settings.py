"""Settings of the answering side, built at the entry point and passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from index.errors import ConfigError
from index.settings import IndexSettings, env_value

FUSIONS = ("rrf", "weighted", "dense", "bm25")
UNSUPPORTED_POLICIES = ("flag", "drop")

# Tuned on the MultiHop-RAG dev subset (null vs answerable questions) and the sample gold set;
# see eval/README.md ("Refusal threshold") for the measurement and the trade-off.
DEFAULT_REFUSAL_THRESHOLD = 0.225


@dataclass(frozen=True, kw_only=True)
class RagSettings:
    """How questions are answered. ``mode`` names an answerer in ``rag.answerers.ANSWERERS``."""

    index: IndexSettings = field(default_factory=IndexSettings)
    mode: str = "extractive"
    top_k: int = 10  # passages handed to the answerer (8 before: on the dev slice 10 cite more of the gold
    # articles, evidence coverage 0.759 -> 0.776, for about 1.5 ms of warm p50; 12 gave 0.779)
    candidates: int = 40  # per retriever, before fusion
    fusion: str = "rrf"
    rrf_k: int = 10
    dense_weight: float = 0.4  # share of the dense lists (chunks, sentences) in the fusion; BM25 gets the rest
    refusal_threshold: float = DEFAULT_REFUSAL_THRESHOLD
    max_sentences: int = 4
    unsupported: str = "flag"  # LLM sentences not backed by their cited passages: flag or drop
    llm_base_url: str = "http://127.0.0.1:8080/v1"
    llm_model: str = "local"
    llm_api_key: str = "not-needed"
    llm_timeout: float = 60.0
    llm_max_tokens: int = 400
    llm_temperature: float = 0.0
    llm_sentences: int = 8  # evidence sentences shown to an LLM, as excerpts of their articles
    ollama_url: str = "http://127.0.0.1:11434"
    gguf_path: str | None = None

    def __post_init__(self) -> None:
        if self.top_k < 1 or self.top_k > 50:
            raise ConfigError(f"top_k={self.top_k} must be between 1 and 50.")
        if self.candidates < self.top_k:
            raise ConfigError(f"candidates={self.candidates} must be at least top_k={self.top_k}.")
        if self.fusion not in FUSIONS:
            raise ConfigError(f"fusion={self.fusion!r} is unknown: use one of {', '.join(FUSIONS)}.")
        if self.rrf_k < 1:
            raise ConfigError(f"rrf_k={self.rrf_k} must be at least 1.")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ConfigError(f"dense_weight={self.dense_weight} must be between 0 and 1.")
        if not -1.0 <= self.refusal_threshold <= 1.0:
            raise ConfigError(f"refusal_threshold={self.refusal_threshold} must be between -1 and 1.")
        if self.max_sentences < 1:
            raise ConfigError(f"max_sentences={self.max_sentences} must be at least 1.")
        if self.unsupported not in UNSUPPORTED_POLICIES:
            raise ConfigError(f"unsupported={self.unsupported!r} is unknown: use 'flag' or 'drop'.")
        if not 1 <= self.llm_sentences <= 50:
            raise ConfigError(f"llm_sentences={self.llm_sentences} must be between 1 and 50.")
        if self.llm_timeout <= 0:
            raise ConfigError(f"llm_timeout={self.llm_timeout} must be a positive number of seconds.")

    def with_(self, **changes) -> RagSettings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, index: IndexSettings | None = None,
                 **overrides) -> RagSettings:
        env = os.environ if env is None else env
        values = dict(
            index=index or IndexSettings.from_env(env),
            mode=env_value(env, "NEWSRAG_MODE", "extractive", str),
            top_k=env_value(env, "NEWSRAG_TOP_K", 10, int),
            candidates=env_value(env, "NEWSRAG_CANDIDATES", 40, int),
            fusion=env_value(env, "NEWSRAG_FUSION", "rrf", str),
            rrf_k=env_value(env, "NEWSRAG_RRF_K", 10, int),
            dense_weight=env_value(env, "NEWSRAG_DENSE_WEIGHT", 0.4, float),
            refusal_threshold=env_value(env, "NEWSRAG_REFUSAL_THRESHOLD", DEFAULT_REFUSAL_THRESHOLD, float),
            max_sentences=env_value(env, "NEWSRAG_MAX_SENTENCES", 4, int),
            unsupported=env_value(env, "NEWSRAG_UNSUPPORTED", "flag", str),
            llm_base_url=env_value(env, "NEWSRAG_LLM_BASE_URL", "http://127.0.0.1:8080/v1", str),
            llm_model=env_value(env, "NEWSRAG_LLM_MODEL", "local", str),
            llm_api_key=env_value(env, "NEWSRAG_LLM_API_KEY", "not-needed", str),
            llm_timeout=env_value(env, "NEWSRAG_LLM_TIMEOUT", 60.0, float),
            llm_max_tokens=env_value(env, "NEWSRAG_LLM_MAX_TOKENS", 400, int),
            llm_sentences=env_value(env, "NEWSRAG_LLM_SENTENCES", 8, int),
            ollama_url=env_value(env, "NEWSRAG_OLLAMA_URL", "http://127.0.0.1:11434", str),
            gguf_path=env_value(env, "NEWSRAG_GGUF_PATH", None, str),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
