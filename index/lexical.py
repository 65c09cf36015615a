"""A persistent BM25 index (bm25s) derived from the chunks in Chroma.

It lives beside the store (``<home>/bm25/<collection>/``) with a manifest holding the fingerprint
of the store content it was built from. ``ensure(fingerprint)`` loads it, or rebuilds it when it
is missing or stale; it is never rebuilt per query (the library hands it the current fingerprint,
which it re-reads at most every couple of seconds).
"""

from __future__ import annotations

import json
import math
import shutil
import threading
import time
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from index.store import Store
from index.text import ANALYZER, analyze

if TYPE_CHECKING:
    import numpy as np

_MANIFEST = "manifest.json"


class LexicalIndex:
    def __init__(self, *, directory: Path, store: Store):
        self.directory = Path(directory)
        self.store = store
        self._lock = threading.RLock()
        self._bm25 = None
        self._chunk_ids: list[str] = []
        self._position: dict[str, int] = {}
        self._fingerprint: str | None = None
        self.rebuilds = 0  # how many times this process rebuilt it (tests and stats read it)

    def ensure(self, fingerprint: str) -> None:
        """Make the in-memory index match the store content named by ``fingerprint``."""
        with self._lock:
            if self._bm25 is not None and fingerprint == self._fingerprint:
                return
            if not self._load(fingerprint):
                self._build(fingerprint)

    def _load(self, fingerprint: str) -> bool:
        manifest_path = self.directory / _MANIFEST
        if not manifest_path.is_file():
            return False
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, json.JSONDecodeError):
            return False
        if manifest.get("fingerprint") != fingerprint or manifest.get("analyzer") != ANALYZER:
            return False  # other content, or words analysed another way: rebuild
        ids = manifest["chunk_ids"]
        if ids:
            import bm25s

            try:
                bm25 = bm25s.BM25.load(str(self.directory / "bm25"), show_progress=False)
            except (OSError, ValueError, KeyError):
                return False
        else:
            bm25 = _EmptyBM25()
        self._install(bm25, ids, fingerprint)
        return True

    def _build(self, fingerprint: str) -> None:
        ids, texts = self.store.chunk_texts()
        if ids:
            import bm25s

            bm25 = bm25s.BM25()
            bm25.index([analyze(t) or ["\u2205"] for t in texts], show_progress=False)
        else:
            bm25 = _EmptyBM25()
        staging = self.directory.with_name(self.directory.name + f".tmp{time.time_ns()}")
        staging.mkdir(parents=True, exist_ok=True)
        if ids:
            bm25.save(str(staging / "bm25"), show_progress=False)
        (staging / _MANIFEST).write_text(json.dumps({"fingerprint": fingerprint, "analyzer": ANALYZER, "chunk_ids": ids}))
        old = self.directory.with_name(self.directory.name + f".old{time.time_ns()}")
        if self.directory.exists():
            self.directory.rename(old)
        staging.rename(self.directory)
        shutil.rmtree(old, ignore_errors=True)
        self._install(bm25, ids, fingerprint)
        self.rebuilds += 1

    def _install(self, bm25, ids: list[str], fingerprint: str) -> None:
        self._bm25 = bm25
        self._chunk_ids = ids
        self._position = {cid: i for i, cid in enumerate(ids)}
        self._fingerprint = fingerprint

    # ------------------------------------------------------------------------------ queries

    def search(self, query: str, k: int, allowed: Collection[str] | None = None) -> list[tuple[str, float]]:
        """Top ``k`` chunks as ``(chunk_id, bm25 score)``, score > 0, within ``allowed`` if given."""
        import numpy as np

        with self._lock:
            bm25, ids, position = self._bm25, self._chunk_ids, self._position
        scores = self._scores(bm25, analyze(query))
        if scores is None:
            return []
        if allowed is not None:
            mask = np.zeros(len(ids), dtype=bool)
            mask[[position[c] for c in allowed if c in position]] = True
            scores = np.where(mask, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def idf(self, term: str) -> float:
        """BM25's idf of an analysed term (0 for unknown terms); used to weight lexical overlap."""
        with self._lock:
            bm25, n = self._bm25, len(self._chunk_ids)
        term_id = (getattr(bm25, "vocab_dict", None) or {}).get(term)
        if term_id is None or n == 0:
            return 0.0
        indptr = bm25.scores["indptr"]
        df = int(indptr[term_id + 1] - indptr[term_id])
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    @staticmethod
    def _scores(bm25, terms: list[str]) -> np.ndarray | None:
        vocab = getattr(bm25, "vocab_dict", None)
        if not vocab:
            return None
        known = [t for t in terms if t in vocab]
        if not known:
            return None
        return bm25.get_scores(known)

    @property
    def size(self) -> int:
        return len(self._chunk_ids)


class _EmptyBM25:
    vocab_dict: dict = {}
