"""The sentences of each chunk, with their vectors and facts, as the store and the searches hold them.

Every sentence is embedded and annotated once at ingest (``index/ingest_encode.py``). Its vector and its
facts are stored *in the row of each chunk holding it*: the vectors quantized to int8 with one
scale per sentence (``index.quantized.pack``; cosine to the float vectors >= 0.999) and the facts as
``index.language.Facts`` JSON, one line per sentence. So they are written and deleted with the
chunk, in the same request, and need no index of their own: Chroma keeps no sentence vector in
memory (an HNSW index over every sentence was 1.4 GB of a 100,000-chunk library's 2.4 GB).

A question reads them through ``SentenceTable``: the sentences of a set of chunks as flat arrays,
built from chunk rows and kept in the lexical index's segments beside the postings of the same
chunks (``index/segments.py``), so one snapshot answers both "which chunks hold these words" and
"how close is each of their sentences to the question", without a round trip to the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from index.quantized import unpack

if TYPE_CHECKING:
    from index.store import ChunkRecord

@dataclass(frozen=True, eq=False)
class SentenceTable:
    """The sentences of a list of chunks: chunk ``j`` holds rows ``ptr[j]:ptr[j + 1]``, each with
    its start in the article body, its quantized vector and scale, and its facts JSON (a chunk
    stored without sentences, by a version before they were, has no rows)."""

    ptr: np.ndarray  # int64, chunks + 1
    starts: np.ndarray  # int32, one per row
    rows: np.ndarray  # int8, rows x dimension
    scales: np.ndarray  # float32, one per row
    facts_ptr: np.ndarray  # int64, rows + 1: the facts of row i are facts[facts_ptr[i]:facts_ptr[i + 1]]
    facts: np.ndarray  # uint8, UTF-8

    FIELDS = ("ptr", "starts", "rows", "scales", "facts_ptr", "facts")

    @classmethod
    def build(cls, chunks: Sequence[ChunkRecord | None]) -> SentenceTable:
        """From chunk rows as the store returns them (``None``: a chunk with no sentences)."""
        counts, starts, rows, scales, facts = [], [], [], [], []
        for chunk in chunks:
            held, scale = unpack(chunk.vectors if chunk is not None else "")
            lines = chunk.facts.split("\n") if len(held) else []
            if len(held) and not len(held) == len(lines) == len(chunk.sentences):
                held, lines = held[:0], []  # a damaged row: no sentences rather than wrong ones
            counts.append(len(held))
            if len(held):
                starts.extend(s for s, _ in chunk.sentences)
                rows.append(held)
                scales.append(scale)
                facts.extend(lines)
        return cls._of(counts, starts, rows, scales, facts)

    @classmethod
    def _of(cls, counts, starts, rows, scales, facts: Sequence[str]) -> SentenceTable:
        encoded = [f.encode("utf-8") for f in facts]
        facts_ptr = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(f) for f in encoded], out=facts_ptr[1:])
        ptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        dim = max((r.shape[1] for r in rows), default=0)
        return cls(ptr=ptr, starts=np.asarray(starts, dtype=np.int32),
                   rows=np.concatenate(rows) if rows else np.zeros((0, dim), dtype=np.int8),
                   scales=np.concatenate(scales).astype(np.float32) if scales else np.zeros(0, dtype=np.float32),
                   facts_ptr=facts_ptr, facts=np.frombuffer(b"".join(encoded), dtype=np.uint8))

    @classmethod
    def merge(cls, parts: Sequence[tuple[SentenceTable, np.ndarray]]) -> SentenceTable:
        """One table with the rows of the live chunks (``live`` masks) of ``parts``, in order
        (array operations only: a merge of a 100,000-chunk library runs beside the questions)."""
        counts, starts, rows, scales, lengths, facts = [], [], [], [], [], []
        for table, live in parts:
            picked, held = table.rows_of(np.flatnonzero(live))
            counts.append(held)
            starts.append(table.starts[picked])
            rows.append(table.rows[picked])
            scales.append(table.scales[picked])
            size = table.facts_ptr[picked + 1] - table.facts_ptr[picked]
            lengths.append(size)
            facts.append(table.facts[_ranges(table.facts_ptr[picked], size)])
        dim = max((r.shape[1] for r in rows if len(r)), default=0)
        ptr, facts_ptr = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        return cls(ptr=np.concatenate([ptr, np.cumsum(np.concatenate([ptr[1:], *counts]))]).astype(np.int64),
                   starts=np.concatenate([np.zeros(0, dtype=np.int32), *starts]).astype(np.int32),
                   rows=np.concatenate([np.zeros((0, dim), dtype=np.int8), *(r for r in rows if len(r))]),
                   scales=np.concatenate([np.zeros(0, dtype=np.float32), *scales]).astype(np.float32),
                   facts_ptr=np.concatenate([facts_ptr, np.cumsum(np.concatenate([facts_ptr[1:], *lengths]))]
                                            ).astype(np.int64),
                   facts=np.concatenate([np.zeros(0, dtype=np.uint8), *facts]).astype(np.uint8))

    def span(self, col: int) -> tuple[int, int]:
        """The rows of chunk ``col``."""
        return int(self.ptr[col]), int(self.ptr[col + 1])

    def rows_of(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of chunks ``cols``, chunk after chunk, and how many each chunk has."""
        counts = self.ptr[cols + 1] - self.ptr[cols]
        return _ranges(self.ptr[cols], counts), counts

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The float vectors of ``rows``."""
        return self.rows[rows].astype(np.float32) * self.scales[rows, None]

    def facts_of(self, row: int) -> str:
        return self.facts[self.facts_ptr[row]:self.facts_ptr[row + 1]].tobytes().decode("utf-8")

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {prefix + name: getattr(self, name) for name in self.FIELDS}

    @classmethod
    def from_arrays(cls, data, prefix: str) -> SentenceTable:
        return cls(**{name: data[prefix + name] for name in cls.FIELDS})


def _ranges(lows: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``lows[i]``, ``lows[i] + 1``, ... ``lows[i] + sizes[i] - 1`` for every i, concatenated."""
    total = int(sizes.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    shifts = np.repeat(lows - np.cumsum(sizes) + sizes, sizes)
    return (shifts + np.arange(total)).astype(np.int64)
