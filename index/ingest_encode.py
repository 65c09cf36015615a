"""Encoding an ingest's texts: each sentence embedded and annotated (within the ``Budget``), then
each chunk embedded with its sentences read in it from the same runs; the chunks then hold their
sentences' vectors and facts. Outside the ingest lock: this is the long part of a write."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from index.embedding import Embedder
from index.ingest_plan import FLUSH_BATCHES, Budget, Cut, Progress, Tally
from index.language import Facts, figures, name_index
from index.quantized import pack
from index.settings import IndexSettings
from index.store import ChunkRecord
from index.vectors import chunk_vectors, in_chunk

if TYPE_CHECKING:
    import numpy as np


def chunk_positions(cuts: Sequence[Cut]) -> list[list[int]]:
    """The positions of each cut's chunks in the list of all their chunks."""
    out, at = [], 0
    for cut in cuts:
        out.append(list(range(at, at + len(cut.chunks))))
        at += len(cut.chunks)
    return out


def with_sentences(chunks: list[ChunkRecord], spans: list[tuple[int, int]], vectors, facts: list[str],
                    pooled: Sequence[Sequence[np.ndarray | None]] | None = None) -> list[ChunkRecord]:
    """The chunks, each holding the vectors and facts of its sentences (``spans`` lists an
    article's sentences once, in the order of ``vectors`` and ``facts``); ``pooled``: each chunk's
    sentences read in it, in its order, when the chunks were encoded (``index.vectors.in_chunk``)."""
    row = {span: i for i, span in enumerate(spans)}
    out = []
    for k, chunk in enumerate(chunks):
        rows = [row[tuple(span)] for span in chunk.sentences]
        own = vectors[rows] if pooled is None else in_chunk(vectors[rows], pooled[k])
        out.append(replace(chunk, vectors=pack(own), facts="\n".join(facts[i] for i in rows)))
    return out


def encode(cuts: list[Cut], progress, tally: Tally, *, embedder: Embedder,
           annotate: Callable[[Sequence[str]], list[Facts]], settings: IndexSettings, budget: Budget) -> None:
    """Embed and annotate the sentences of ``cuts`` (within ``budget``), then embed their
    chunks, each chunk's sentences read in it from the same runs; the chunks then hold their
    sentences' vectors and facts. Outside the ingest lock: this is the long part."""
    import numpy as np

    if not cuts:
        return
    step = FLUSH_BATCHES * settings.embed_batch_size
    encode = settings.chunk_vectors == "encode"
    work = []  # (cut, span, read on its own, recognized) for every sentence
    for cut in cuts:
        alone = recognized = 0
        for span in cut.sentences:
            window = span in cut.windows
            own = not encode or (not window and alone < budget.own_sentences)
            named = not window and recognized < budget.annotated_chars
            alone += own
            recognized += (span[1] - span[0]) if named else 0
            work.append((cut, span, own, named))

    def read(part):
        texts = [cut.body[s:e] for cut, (s, e), _, _ in part]
        alone = [i for i, (_, _, own, _) in enumerate(part) if own]
        named = [i for i, (_, _, _, rec) in enumerate(part) if rec]
        vectors = embedder.embed([texts[i] for i in alone]) if alone else None
        facts = dict(zip(named, annotate([texts[i] for i in named]), strict=True))
        return alone, vectors, [facts.get(i) or Facts(figures=tuple(figures(t))) for i, t in enumerate(texts)]

    base = tally.sentences_done

    def read_at(n: int) -> Progress:
        tally.sentences_done = base + n
        return tally.progress()

    dim = embedder.dimension
    vectors = np.full((len(work), dim), np.nan, dtype=np.float32)
    facts: list[Facts] = []
    at = 0
    for alone, found, part_facts in in_slices(work, step, read, progress, read_at):
        if found is not None:
            vectors[[at + i for i in alone]] = found
        facts += part_facts
        at += len(part_facts)
    tally.sentences_done = base + len(work)
    chunks = [c for cut in cuts for c in cut.chunks]
    pooled = None
    if encode:
        # the first ``encoded_chunks`` of each article; the others are their article's mean
        encoded = [k for cut_chunks in chunk_positions(cuts) for k in cut_chunks[:budget.encoded_chunks]]
        spans = [[(chunks[k].header_len + s - chunks[k].start, chunks[k].header_len + e - chunks[k].start)
                  for s, e in chunks[k].sentences] for k in encoded]
        found, found_pooled = embed(embedder, [chunks[k].text for k in encoded], spans, step, progress, tally)
        chunk_vecs = np.zeros((len(chunks), dim), dtype=np.float32)
        chunk_vecs[encoded] = found
        pooled = [None] * len(chunks)
        for k, own in zip(encoded, found_pooled, strict=True):
            pooled[k] = own
        for positions in chunk_positions(cuts):
            mean = chunk_vecs[positions[:budget.encoded_chunks]].mean(axis=0)
            mean /= max(float(np.linalg.norm(mean)), 1e-12)
            for k in positions[budget.encoded_chunks:]:
                chunk_vecs[k] = mean
                pooled[k] = [mean] * len(chunks[k].sentences)
    else:  # from the sentence vectors just computed: one encoder pass per sentence
        chunk_vecs = chunk_vectors(embedder, [(cut.body, cut.chunks) for cut in cuts],
                                   how=settings.chunk_vectors, sentence_vectors=vectors)
    tally.chunks_done += len(chunks)
    row = {(id(cut), span): i for i, (cut, span, _, _) in enumerate(work)}
    if pooled is not None:  # a sentence read in no run of its own: its vector in its (first) chunk
        k = 0
        for cut in cuts:
            for chunk in cut.chunks:
                for span, vector in zip(chunk.sentences, pooled[k], strict=True):
                    i = row[(id(cut), tuple(span))]
                    if vector is not None and np.isnan(vectors[i, 0]):
                        vectors[i] = vector
                k += 1
    missing = np.flatnonzero(np.isnan(vectors[:, 0]))
    if len(missing):  # the model does not mean-pool: these are read on their own after all
        vectors[missing] = embedder.embed([work[i][0].body[slice(*work[i][1])] for i in missing])
    at = k = 0
    for cut in cuts:
        n = len(cut.sentences)
        own = facts[at:at + n]
        cut.names = name_index(own)
        cut.chunks = with_sentences(cut.chunks, cut.sentences, vectors[at:at + n], [f.to_json() for f in own],
                                     pooled[k:k + len(cut.chunks)] if pooled is not None else None)
        cut.vectors = chunk_vecs[k:k + len(cut.chunks)]
        at += n
        k += len(cut.chunks)


def embed(embedder: Embedder, texts: list[str], spans: list[list[tuple[int, int]]], step: int, progress,
          tally: Tally):
    """Embed chunks, and each chunk's sentences (``spans``) pooled in it from the same runs,
    reporting chunks as they are embedded."""
    import numpy as np

    def work(part: list[tuple[str, list[tuple[int, int]]]]):
        return embedder.embed_pooled([text for text, _ in part], [own for _, own in part])

    base = tally.chunks_done

    def at(n: int) -> Progress:
        tally.chunks_done = base + n
        return tally.progress()

    done = in_slices(list(zip(texts, spans, strict=True)), step, work, progress, at)
    tally.chunks_done = base
    return np.concatenate([vectors for vectors, _ in done]), [own for _, pooled in done for own in pooled]


def in_slices(texts: list[str], step: int, work: Callable, progress, at: Callable[[int], Progress]) -> list:
    """``work`` over ``texts`` in slices of ``step`` (one slice without ``progress``), reporting
    ``at(texts done)`` after each slice; the job runner checks for a stop request on every report."""
    if len(texts) <= step or progress is None:
        return [work(texts)]
    results = []
    for lo in range(0, len(texts), step):
        part = texts[lo:lo + step]
        results.append(work(part))
        progress(at(lo + len(part)))
    return results

