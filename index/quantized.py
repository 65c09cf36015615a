"""Sentence vectors as text for a store's metadata field: int8 rows, each with its own scale (cosine
to the float vectors >= 0.999). The store writes them in each chunk's row (``index.store``), the
searches read them back (``index.sentences.SentenceTable``)."""

from __future__ import annotations

import base64
import struct

import numpy as np

_HEADER = struct.Struct("<H")  # the dimension


def pack(vectors: np.ndarray) -> str:
    """Float vectors (one row per sentence) as text for a metadata field: int8 rows, each with its
    own scale (its largest magnitude / 127)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if not len(vectors):
        return ""
    scales = np.abs(vectors).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    quantized = np.round(vectors / scales[:, None]).astype(np.int8)
    raw = _HEADER.pack(vectors.shape[1]) + scales.astype(np.float32).tobytes() + quantized.tobytes()
    return base64.b64encode(raw).decode("ascii")


def unpack(packed: str) -> tuple[np.ndarray, np.ndarray]:
    """``(int8 rows, float32 scales)`` of ``pack``'s text; empty arrays for an empty one."""
    if not packed:
        return np.zeros((0, 0), dtype=np.int8), np.zeros(0, dtype=np.float32)
    raw = base64.b64decode(packed)
    (dim,) = _HEADER.unpack_from(raw)
    n = (len(raw) - _HEADER.size) // (4 + dim)
    scales = np.frombuffer(raw, dtype=np.float32, count=n, offset=_HEADER.size)
    rows = np.frombuffer(raw, dtype=np.int8, count=n * dim, offset=_HEADER.size + 4 * n).reshape(n, dim)
    return rows, scales
