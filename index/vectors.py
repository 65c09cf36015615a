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


def in_chunk(alone: np.ndarray, pooled: Sequence[np.ndarray | None]) -> np.ndarray:
    """The stored vectors of a chunk's sentences: each sentence's own vector (``alone``) plus its
    vector read in the chunk (``pooled``: the mean of the chunk's word-piece states over the
    sentence, from the run that encodes the chunk), normalized. The sentence keeps what it says
    and gains what it is about where it is said ("the company", "it"). On the dev slice, against
    the sentences' own vectors: citation precision 0.365 -> 0.375, containment 0.881 -> 0.893,
    answer-line precision 0.911 -> 0.944, MRR@10 0.701 -> 0.707; the pooled vectors alone were
    worse (0.338, 0.881, MRR@10 0.677). A sentence with no pooled vector keeps its own (chunk
    vectors derived from sentences, ``how="sentences"``, run no chunk through the encoder)."""
    import numpy as np

    out = np.array(alone, dtype=np.float32, copy=True)
    for i, vector in enumerate(pooled):
        if vector is not None:
            mixed = out[i] / max(float(np.linalg.norm(out[i])), 1e-12) + vector
            out[i] = mixed / max(float(np.linalg.norm(mixed)), 1e-12)
    return out


def sentence_spans(chunks: Sequence[ChunkRecord]) -> list[tuple[int, int]]:
    """The distinct sentences of an article's chunks, in order, as body offsets."""
    return list(dict.fromkeys(tuple(span) for chunk in chunks for span in chunk.sentences))


def chunk_vectors(embedder: Embedder, articles: Sequence[tuple[str, Sequence[ChunkRecord]]], *,
                  how: str, sentence_vectors: np.ndarray | None = None) -> np.ndarray:
    """Vectors of the chunks of ``articles`` (``(body, chunks)`` pairs), in order. Deriving them
    reuses ``sentence_vectors`` when given: the vectors of every article's distinct sentences, in
    the order of ``sentence_spans`` (the library computes them anyway, for the answerer)."""
    import numpy as np

    chunks = [c for _, cs in articles for c in cs]
    if how == "encode":
        return embedder.embed([c.text for c in chunks])
    headers = [cs[0].text[:cs[0].header_len].strip() if cs else "" for _, cs in articles]
    spans = [sentence_spans(cs) for _, cs in articles]
    sentences = [body[s:e] for (body, _), own in zip(articles, spans, strict=True) for s, e in own]
    if sentence_vectors is None:
        sentence_vectors = embedder.embed(sentences)
    header_vectors = embedder.embed(headers)

    def weights(texts: list[str]) -> np.ndarray:
        return np.array([max(embedder.count_tokens(t), 1) if WEIGHTED else 1 for t in texts], dtype=np.float32)

    header_weights, sentence_weights = weights(headers), weights(sentences)
    out = np.zeros((len(chunks), header_vectors.shape[1]), dtype=np.float32)
    row = at = 0
    for j, (_, cs) in enumerate(articles):
        index = {span: at + i for i, span in enumerate(spans[j])}
        for chunk in cs:
            rows = [index[tuple(s)] for s in chunk.sentences]
            mean = header_vectors[j] * header_weights[j] + (
                sentence_vectors[rows] * sentence_weights[rows, None]).sum(axis=0)
            out[row] = mean / (np.linalg.norm(mean) or 1.0)
            row += 1
        at += len(spans[j])
    return out
