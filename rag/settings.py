"""Settings of the answering side, built at the entry point and passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from index.errors import ConfigError
from index.settings import IndexSettings, env_value
from rag.tuning import Tuning

FUSIONS = ("rrf", "weighted", "dense", "bm25")
UNSUPPORTED_POLICIES = ("flag", "drop")


@dataclass(frozen=True, kw_only=True)
class RagSettings:
    """How questions are answered. ``mode`` names an answerer in ``rag.answerers.ANSWERERS``;
    ``tuning`` holds every weight and threshold of the answer (``rag/tuning.py``)."""

    index: IndexSettings = field(default_factory=IndexSettings)
    mode: str = "extractive"
    top_k: int = 10  # passages handed to the answerer (8 before: on the dev slice 10 cite more of the gold
    # articles, evidence coverage 0.759 -> 0.776, for about 1.5 ms of warm p50; 12 gave 0.779)
    candidates: int = 40  # per retriever, before fusion
    fusion: str = "rrf"
    tuning: Tuning = field(default_factory=Tuning)
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
                 tuning_file: str | None = None, **overrides) -> RagSettings:
        """The settings of ``env`` (the process environment by default); ``tuning_file`` (``newsrag
        eval --tuning``) stands for ``NEWSRAG_TUNING``."""
        env = os.environ if env is None else env
        values = dict(
            index=index or IndexSettings.from_env(env),
            mode=env_value(env, "NEWSRAG_MODE", "extractive", str),
            top_k=env_value(env, "NEWSRAG_TOP_K", 10, int),
            candidates=env_value(env, "NEWSRAG_CANDIDATES", 40, int),
            fusion=env_value(env, "NEWSRAG_FUSION", "rrf", str),
            tuning=tuning_from_env(env, file=tuning_file),
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


# The tuning fields a variable of their own sets (over NEWSRAG_TUNING's file).
TUNING_VARIABLES = {"NEWSRAG_DENSE_WEIGHT": ("dense_weight", float), "NEWSRAG_RRF_K": ("rrf_k", int),
                    "NEWSRAG_REFUSAL_THRESHOLD": ("refusal_threshold", float)}


def tuning_from_env(env: Mapping[str, str], *, file: str | None = None) -> Tuning:
    """The ``Tuning`` of ``file``, else of ``NEWSRAG_TUNING`` (a JSON file; the defaults when
    neither is given), with the fields of ``TUNING_VARIABLES`` set by their own variables."""
    path = file or env_value(env, "NEWSRAG_TUNING", None, str)
    tuning = Tuning.from_file(path) if path else Tuning()
    changes = {}
    for variable, (name, kind) in TUNING_VARIABLES.items():
        value = env_value(env, variable, None, kind)
        if value is not None:
            changes[name] = value
    return tuning.with_(**changes) if changes else tuning
