"""Hybrid retrieval: dense top-k from Chroma plus BM25 top-k, fused; outlet and date filters.

``HybridRetriever`` is our own narrow interface (question in, ``Passage`` list out); the LlamaIndex
``BaseRetriever`` in ``rag/llamaindex.py`` wraps it for use in any LlamaIndex app.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, time

from index.errors import ConfigError
from index.library import Catalog, Library
from index.store import ArticleRecord
from rag.settings import FUSIONS, RagSettings
from rag.types import NO_FILTERS, Filters, Location, Passage

COVER_PER_SOURCE = 2


def fuse(ranked_lists: dict[str, list[tuple[str, float]]], *, method: str, rrf_k: int = 10,
         dense_weight: float = 0.3) -> list[tuple[str, float]]:
    """Fuse ranked ``(id, score)`` lists into one, best first (ties broken by id).

    ``rrf``: weighted reciprocal rank fusion, ``dense_weight / (rrf_k + rank)`` for the dense list
    plus ``(1 - dense_weight) / (rrf_k + rank)`` for BM25 (``dense_weight=0.5`` is plain RRF up to
    a factor). ``weighted``: dense cosine (clipped to [0, 1]) and BM25 divided by its best score,
    mixed by ``dense_weight``. ``dense``/``bm25``: one list alone (for comparisons).
    """
    if method not in FUSIONS:
        raise ConfigError(f"fusion={method!r} is unknown: use one of {', '.join(FUSIONS)}.")
    dense = ranked_lists.get("dense", [])
    lexical = ranked_lists.get("bm25", [])
    scores: dict[str, float] = {}
    if method == "dense":
        scores = dict(dense)
    elif method == "bm25":
        scores = dict(lexical)
    elif method == "rrf":
        for ranking, weight in ((dense, dense_weight), (lexical, 1.0 - dense_weight)):
            for rank, (item, _) in enumerate(ranking, start=1):
                scores[item] = scores.get(item, 0.0) + weight / (rrf_k + rank)
    else:
        best = max((s for _, s in lexical), default=0.0) or 1.0
        for item, s in dense:
            scores[item] = scores.get(item, 0.0) + dense_weight * min(max(s, 0.0), 1.0)
        for item, s in lexical:
            scores[item] = scores.get(item, 0.0) + (1 - dense_weight) * s / best
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def allowed_articles(catalog: Catalog, filters: Filters) -> list[str] | None:
    """Ids of the articles passing ``filters`` (``None`` when there is no filter)."""
    if not filters.active:
        return None
    wanted = {s.casefold() for s in filters.sources}
    if wanted:
        known = {s.casefold(): s for r in catalog.articles.values() for s in r.sources}
        unknown = sorted(s for s in filters.sources if s.casefold() not in known)
        if unknown:
            names = ", ".join(sorted(known.values())[:30]) or "none indexed yet"
            raise ConfigError(f"No articles from outlet {', '.join(map(repr, unknown))}: known outlets "
                              f"are {names}.")
    lo = int(datetime.combine(filters.since, time.min, UTC).timestamp()) if filters.since else None
    hi = int(datetime.combine(filters.until, time.max, UTC).timestamp()) if filters.until else None

    def passes(record: ArticleRecord) -> bool:
        if wanted and not wanted & {s.casefold() for s in record.sources}:
            return False
        if lo is None and hi is None:
            return True
        ts = record.published_ts
        return ts is not None and (lo is None or ts >= lo) and (hi is None or ts <= hi)

    return sorted(a for a, r in catalog.articles.items() if passes(r))


def location(record: ArticleRecord, chunk_id: str, start: int, end: int) -> Location:
    return Location(article_id=record.id, title=record.display_title, source=", ".join(record.sources) or None,
                    published_at=record.published_at, url=record.url, chunk_id=chunk_id,
                    start=start, end=end)


def _same_text_key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


class HybridRetriever:
    def __init__(self, *, library: Library, settings: RagSettings):
        self.library = library
        self.settings = settings

    def rankings(self, query: str, *, filters: Filters = NO_FILTERS, candidates: int | None = None
                 ) -> dict[str, list[tuple[str, float]]]:
        """The dense and BM25 candidate lists, each best first, as ``(chunk_id, score)``."""
        catalog, lexical = self.library.search_index()
        n = candidates or self.settings.candidates
        allowed = allowed_articles(catalog, filters)
        vector = self.library.embedder.embed_cached([query])[0]
        dense = self.library.store.query(vector, n, allowed)
        allowed_chunks = None if allowed is None else set(catalog.chunk_ids(allowed))
        return {"dense": dense, "bm25": lexical.search(query, n, allowed_chunks)}

    def retrieve(self, query: str, *, k: int | None = None, filters: Filters = NO_FILTERS,
                 fusion: str | None = None, cover_sources: Iterable[str] = ()) -> list[Passage]:
        """The ``k`` best passages for ``query``, fused, identical passages merged.

        ``cover_sources``: outlets the question names; when none of the ``k`` passages comes from
        one of them, its best ``COVER_PER_SOURCE`` passages are appended (a question "as reported
        by both The Verge and TechCrunch" needs evidence from both).
        """
        k = k or self.settings.top_k
        rankings = self.rankings(query, filters=filters, candidates=max(k, self.settings.candidates))
        fused = fuse(rankings, method=fusion or self.settings.fusion, rrf_k=self.settings.rrf_k,
                     dense_weight=self.settings.dense_weight)
        found = self.passages(fused, rankings, k=k)
        for outlet in cover_sources:
            if any(outlet.casefold() in (p.location.source or "").casefold() for p in found):
                continue
            if filters.sources and outlet.casefold() not in {s.casefold() for s in filters.sources}:
                continue
            narrowed = replace(filters, sources=(outlet,))
            extra = self.retrieve(query, k=COVER_PER_SOURCE, filters=narrowed, fusion=fusion)
            seen = {p.location.chunk_id for p in found}
            found += [p for p in extra if p.location.chunk_id not in seen]
        return found

    def probe(self, text: str, *, k: int = 3, filters: Filters = NO_FILTERS) -> list[Passage]:
        """Passages holding the words of ``text`` (BM25 alone): where is this name mentioned?"""
        catalog, lexical = self.library.search_index()
        allowed = allowed_articles(catalog, filters)
        allowed_chunks = None if allowed is None else set(catalog.chunk_ids(allowed))
        ranking = lexical.search(text, k, allowed_chunks)
        return self.passages(ranking, {"bm25": ranking}, k=k)

    def passages(self, fused: list[tuple[str, float]], rankings: dict[str, list[tuple[str, float]]],
                 *, k: int) -> list[Passage]:
        catalog = self.library.catalog()
        dense, lexical = dict(rankings.get("dense", [])), dict(rankings.get("bm25", []))
        head = fused[:k * 2]
        chunks = self.library.store.get_chunks([cid for cid, _ in head])
        out: list[Passage] = []
        by_text: dict[str, int] = {}
        for cid, score in head:
            chunk = chunks.get(cid)
            record = catalog.articles.get(chunk.article_id) if chunk else None
            if chunk is None or record is None or record.version != chunk.version:
                continue  # written or removed meanwhile: the next catalog refresh sees it
            where = location(record, cid, chunk.start, chunk.end)
            key = _same_text_key(chunk.body_text)
            if key in by_text:
                i = by_text[key]
                if out[i].location.article_id != record.id:
                    out[i] = replace(out[i], also=out[i].also + (where,))
                continue
            by_text[key] = len(out)
            out.append(Passage(location=where, text=chunk.text, header_len=chunk.header_len,
                               sentences=chunk.sentences, score=score, dense=dense.get(cid),
                               lexical=lexical.get(cid)))
            if len(out) == k:
                break
        return out
