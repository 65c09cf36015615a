"""Immutable BM25 segments: the postings of a set of chunks, scored at query time.

A segment holds, for each term, the chunks containing it and how often (a CSR matrix of term
rows over chunk columns), plus every chunk's length in terms. It stores counts, not scores, so
it never goes stale: idf and the average length come from the live chunks of all segments at
query time (``score``), and the scores equal those of one BM25 index built over all of them
(bm25s' "lucene" variant, k1 = 1.5, b = 0.75). A new segment is cheap to build for a few new
chunks; ``merge`` rewrites several into one, dropping deleted chunks.

A segment also carries the sentences of its chunks, with their vectors and facts
(``index.sentences.SentenceTable``), so the searches read them from the same snapshot.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.sentences import SentenceTable

K1 = 1.5
B = 0.75


@dataclass(frozen=True, eq=False)
class Segment:
    name: str
    ids: tuple[str, ...]  # chunk ids, column order
    lengths: np.ndarray  # int32, terms per chunk
    terms: tuple[str, ...]  # row order
    indptr: np.ndarray  # int64, len(terms) + 1
    docs: np.ndarray  # int32 column of each posting
    tfs: np.ndarray  # float32 count of each posting
    vocab: dict[str, int] = field(repr=False)  # term -> row
    sentences: SentenceTable = field(repr=False)  # the sentences of its chunks, same column order

    @property
    def size(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, name: str, ids: Sequence[str], tokens: Sequence[Sequence[str]],
              sentences: SentenceTable | None = None) -> Segment:
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts: list[int] = []
        for col, doc in enumerate(tokens):
            for term, count in Counter(doc).items():
                rows.append(vocab.setdefault(term, len(vocab)))
                cols.append(col)
                counts.append(count)
        lengths = np.fromiter((len(doc) for doc in tokens), dtype=np.int32, count=len(tokens))
        return cls._from_triples(name, tuple(ids), lengths, tuple(vocab), np.asarray(rows, dtype=np.int64),
                                 np.asarray(cols, dtype=np.int32), np.asarray(counts, dtype=np.float32),
                                 sentences or SentenceTable.build([None] * len(ids)))

    @classmethod
    def _from_triples(cls, name, ids, lengths, terms, rows, cols, counts, sentences) -> Segment:
        order = np.argsort(rows, kind="stable")
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(terms)), out=indptr[1:])
        return cls(name=name, ids=ids, lengths=lengths, terms=terms, indptr=indptr,
                   docs=cols[order], tfs=counts[order], vocab={t: i for i, t in enumerate(terms)},
                   sentences=sentences)

    @classmethod
    def merge(cls, name: str, parts: Sequence[tuple[Segment, np.ndarray]]) -> Segment:
        """One segment with the live chunks (``live`` masks) of ``parts``, in order."""
        terms: dict[str, int] = {}
        ids: list[str] = []
        lengths, rows, cols, counts = [], [], [], []
        for segment, live in parts:
            new_col = np.cumsum(live, dtype=np.int64) - 1 + len(ids)
            term_map = np.fromiter((terms.setdefault(t, len(terms)) for t in segment.terms), dtype=np.int64,
                                   count=len(segment.terms))
            posting_rows = np.repeat(np.arange(len(segment.terms)), np.diff(segment.indptr))
            keep = live[segment.docs]
            rows.append(term_map[posting_rows[keep]])
            cols.append(new_col[segment.docs[keep]].astype(np.int32))
            counts.append(segment.tfs[keep])
            ids.extend(i for i, alive in zip(segment.ids, live, strict=True) if alive)
            lengths.append(segment.lengths[live])
        # terms no live chunk uses any more are dropped
        rows_all = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        used = np.zeros(len(terms), dtype=bool)
        used[rows_all] = True
        remap = np.cumsum(used) - 1
        kept_terms = tuple(t for t, u in zip(terms, used, strict=True) if u)
        return cls._from_triples(name, tuple(ids), np.concatenate(lengths) if lengths else
                                 np.zeros(0, dtype=np.int32), kept_terms, remap[rows_all],
                                 np.concatenate(cols) if cols else np.zeros(0, dtype=np.int32),
                                 np.concatenate(counts) if counts else np.zeros(0, dtype=np.float32),
                                 SentenceTable.merge([(s.sentences, live) for s, live in parts]))

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        row = self.vocab.get(term)
        if row is None:
            return None
        lo, hi = self.indptr[row], self.indptr[row + 1]
        return self.docs[lo:hi], self.tfs[lo:hi]

    # ------------------------------------------------------------------------------- files

    def save(self, folder: Path) -> Path:
        """Written under a temporary name, then renamed: a reader never sees half a file."""
        path = folder / f"{self.name}.npz"
        partial = folder / f".{self.name}.{os.getpid()}.npz"
        with open(partial, "wb") as handle:
            np.savez(handle, ids=np.array(self.ids, dtype=str), lengths=self.lengths,
                     terms=np.array(self.terms, dtype=str), indptr=self.indptr, docs=self.docs, tfs=self.tfs,
                     **self.sentences.arrays("s_"))
        os.replace(partial, path)
        return path

    @classmethod
    def load(cls, folder: Path, name: str) -> Segment:
        with np.load(folder / f"{name}.npz", allow_pickle=False) as data:
            terms = tuple(data["terms"].tolist())
            return cls(name=name, ids=tuple(data["ids"].tolist()), lengths=data["lengths"], terms=terms,
                       indptr=data["indptr"], docs=data["docs"], tfs=data["tfs"],
                       vocab={t: i for i, t in enumerate(terms)}, sentences=SentenceTable.from_arrays(data, "s_"))


def idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def score(segments: Sequence[Segment], lives: Sequence[np.ndarray], query: Sequence[str], *,
          n_live: int, avg_length: float) -> np.ndarray | None:
    """BM25 of every chunk of ``segments`` (concatenated in order) for the ``query`` terms (a term
    repeated in the query counts again); ``None`` when no query term occurs in a live chunk."""
    if n_live == 0:
        return None
    out = [np.zeros(s.size, dtype=np.float32) for s in segments]
    hit = False
    for term, times in Counter(query).items():
        found = []
        df = 0
        for i, (segment, live) in enumerate(zip(segments, lives, strict=True)):
            postings = segment.postings(term)
            if postings is None:
                continue
            docs, tfs = postings
            alive = live[docs]
            df += int(alive.sum())
            found.append((i, docs[alive], tfs[alive]))
        if df == 0:
            continue
        hit = True
        weight = times * idf(df, n_live)
        for i, docs, tfs in found:
            norm = K1 * (1 - B + B * segments[i].lengths[docs] / avg_length)
            out[i][docs] += (weight * tfs / (tfs + norm)).astype(np.float32)
    if not hit:
        return None
    return np.concatenate(out) if out else None
