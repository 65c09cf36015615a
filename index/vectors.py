"""Chunk vectors: encoded from the chunk text, or derived from the vectors of its sentences.

``encode`` runs the model over every chunk (header + sentences), so a sentence shared by two
chunks (the overlap) is encoded twice, and the sentence vectors the answerer scores with cost a
second pass. ``sentences`` encodes each sentence of an article once, plus its header, and makes
each chunk's vector the mean of its header's and sentences' vectors weighted by their word pieces
(the model itself mean-pools over word pieces), normalized. Which one the library uses is
``IndexSettings.chunk_vectors``; ``eval.bench_vectors`` measures both on the dev slice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from index.embedding import Embedder
    from index.store import ChunkRecord

CHUNK_VECTORS = ("encode", "sentences")
WEIGHTED = True  # word-piece weights (False: every sentence counts the same; a measured variant)


def sentence_spans(chunks: Sequence[ChunkRecord]) -> list[tuple[int, int]]:
    """The distinct sentences of an article's chunks, in order, as body offsets."""
    return list(dict.fromkeys(span for chunk in chunks for span in chunk.sentences))


def chunk_vectors(embedder: Embedder, articles: Sequence[tuple[str, Sequence[ChunkRecord]]], *,
                  how: str) -> np.ndarray:
    """Vectors of the chunks of ``articles`` (``(body, chunks)`` pairs), in order."""
    import numpy as np

    chunks = [c for _, cs in articles for c in cs]
    if how == "encode":
        return embedder.embed([c.text for c in chunks])
    texts: list[str] = []
    for body, cs in articles:
        header = cs[0].text[:cs[0].header_len] if cs else ""
        texts.append(header.strip())
        texts.extend(body[s:e] for s, e in sentence_spans(cs))
    vectors = embedder.embed(texts)
    weights = np.array([max(embedder.count_tokens(t), 1) if WEIGHTED else 1 for t in texts], dtype=np.float32)
    out = np.zeros((len(chunks), vectors.shape[1]), dtype=np.float32)
    row = at = 0
    for _, cs in articles:
        spans = sentence_spans(cs)
        header, first = at, at + 1
        index = {span: first + i for i, span in enumerate(spans)}
        for chunk in cs:
            rows = [header] + [index[s] for s in chunk.sentences]
            mean = (vectors[rows] * weights[rows, None]).sum(axis=0)
            out[row] = mean / (np.linalg.norm(mean) or 1.0)
            row += 1
        at = first + len(spans)
    return out
