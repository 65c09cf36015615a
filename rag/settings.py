"""Settings of the answering side, built at the entry point and passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

from index.errors import ConfigError
from index.settings import IndexSettings, env_value, environment, setting
from rag.tuning import Tuning

FUSIONS = ("rrf", "weighted", "dense", "bm25")
UNSUPPORTED_POLICIES = ("flag", "drop")


MAX_TOP_K = 50  # passages one question may read


@dataclass(frozen=True, kw_only=True)
class RagSettings:
    """How questions are answered. ``mode`` names an answerer in ``rag.answerers.ANSWERERS``;
    ``tuning`` holds every weight and threshold of the answer (``rag/tuning.py``)."""

    index: IndexSettings = field(default_factory=IndexSettings)
    mode: str = setting("NEWSRAG_MODE", "extractive")
    # passages handed to the answerer (8 before: on the dev slice 10 cite more of the gold articles,
    # evidence coverage 0.759 -> 0.776, for about 1.5 ms of warm p50; 12 gave 0.779)
    top_k: int = setting("NEWSRAG_TOP_K", 10)
    candidates: int = setting("NEWSRAG_CANDIDATES", 40)  # per retriever, before fusion
    fusion: str = setting("NEWSRAG_FUSION", "rrf")
    # NEWSRAG_TUNING names a JSON file; TUNING_VARIABLES set single fields over it (``from_env``)
    tuning: Tuning = setting("NEWSRAG_TUNING", factory=Tuning, parse=Tuning.from_file, shown="unset")
    max_sentences: int = setting("NEWSRAG_MAX_SENTENCES", 4)
    # LLM sentences not backed by their cited passages: flag or drop
    unsupported: str = setting("NEWSRAG_UNSUPPORTED", "flag")
    llm_base_url: str = setting("NEWSRAG_LLM_BASE_URL", "http://127.0.0.1:8080/v1")
    llm_model: str = setting("NEWSRAG_LLM_MODEL", "local")
    llm_api_key: str = setting("NEWSRAG_LLM_API_KEY", "not-needed")
    llm_timeout: float = setting("NEWSRAG_LLM_TIMEOUT", 60.0)
    llm_max_tokens: int = setting("NEWSRAG_LLM_MAX_TOKENS", 400)
    llm_temperature: float = 0.0
    # evidence sentences shown to an LLM, as excerpts of their articles
    llm_sentences: int = setting("NEWSRAG_LLM_SENTENCES", 8)
    ollama_url: str = setting("NEWSRAG_OLLAMA_URL", "http://127.0.0.1:11434")
    gguf_path: str | None = setting("NEWSRAG_GGUF_PATH", None)

    def __post_init__(self) -> None:
        if not 1 <= self.top_k <= MAX_TOP_K:
            raise ConfigError(f"top_k={self.top_k} must be between 1 and {MAX_TOP_K}.")
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
        values = environment(cls, env)
        if tuning_file:
            values["tuning"] = Tuning.from_file(tuning_file)
        values["tuning"] = with_tuning_variables(values.get("tuning") or Tuning(), env)
        values["index"] = index or IndexSettings.from_env(env)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


# The tuning fields a variable of their own sets, over NEWSRAG_TUNING's file; their defaults are
# the tuning's.
TUNING_VARIABLES = {"NEWSRAG_DENSE_WEIGHT": "dense_weight", "NEWSRAG_RRF_K": "rrf_k",
                    "NEWSRAG_REFUSAL_THRESHOLD": "refusal_threshold"}


def with_tuning_variables(tuning: Tuning, env: Mapping[str, str]) -> Tuning:
    """``tuning`` with the fields of ``TUNING_VARIABLES`` that their variables set in ``env``."""
    kinds = {f.name: f.type for f in fields(Tuning)}
    changes = {name: env_value(env, variable, None, int if kinds[name] == "int" else float)
               for variable, name in TUNING_VARIABLES.items()}
    changes = {k: v for k, v in changes.items() if v is not None}
    return tuning.with_(**changes) if changes else tuning
