"""Hybrid retrieval: dense search over chunks (Chroma) and BM25, the chunks both found ranked again
by their closest sentence, all three fused;
outlet and date filters; and, for an analysed question, one ranking per claim merged into one.

``HybridRetriever`` is our own narrow interface (question in, ``Passage`` list out); the LlamaIndex
``BaseRetriever`` in ``rag/llamaindex.py`` wraps it for use in any LlamaIndex app.

A multi-part question ("Who ... according to Fortune, and is also ... as reported by The Age?") is
searched as a whole and claim by claim; the outlets and days a claim names raise the passages that
match them (soft boosts, not filters: a misread outlet never hides the evidence), and the rankings
are merged by reciprocal rank with a small constant, so that every claim's best passage comes
early. This ranking is the one the answerer reads and the one the MultiHop-RAG metrics measure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from index.browse import record_filter
from index.errors import ConfigError
from index.library import Catalog, Library
from index.store import ArticleRecord
from rag.settings import FUSIONS, RagSettings
from rag.tuning import Tuning
from rag.types import NO_FILTERS, Filters, Location, Passage
from rag.understand import QuestionVectors, encode

if TYPE_CHECKING:
    import numpy as np

    from rag.question import Question


@dataclass(frozen=True)
class Reading:
    """What the answer reads: the ranking's ``passages``, best first, and the first passage of a few
    ``further`` reports after them (``Tuning.further_reports``)."""

    passages: list[Passage]
    further: list[Passage]


def fuse(ranked_lists: dict[str, list[tuple[str, float]]], *, method: str, rrf_k: int,
         dense_weight: float) -> list[tuple[str, float]]:
    """Fuse ranked ``(id, score)`` lists into one, best first (ties broken by id).

    ``rrf``: weighted reciprocal rank fusion, ``weight / (rrf_k + rank)`` summed over the lists:
    the dense share ``dense_weight`` is split between the chunk list ("dense") and the sentence list
    ("sentences", chunks ranked by their best sentence) when both are there; BM25 gets the rest.
    ``weighted``: dense cosine (clipped to [0, 1]) and BM25 divided by its best score, mixed by
    ``dense_weight``. ``dense``/``bm25``: one list alone (for comparisons).
    """
    if method not in FUSIONS:
        raise ConfigError(f"fusion={method!r} is unknown: use one of {', '.join(FUSIONS)}.")
    dense = ranked_lists.get("dense", [])
    sentences = ranked_lists.get("sentences", [])
    lexical = ranked_lists.get("bm25", [])
    scores: dict[str, float] = {}
    if method == "dense":
        scores = dict(dense)
    elif method == "bm25":
        scores = dict(lexical)
    elif method == "rrf":
        dense_lists = [(dense, dense_weight / 2), (sentences, dense_weight / 2)] if sentences else \
            [(dense, dense_weight)]
        for ranking, weight in (*dense_lists, (lexical, 1.0 - dense_weight)):
            for rank, (item, _) in enumerate(ranking, start=1):
                scores[item] = scores.get(item, 0.0) + weight / (rrf_k + rank)
    else:
        best = max((s for _, s in lexical), default=0.0) or 1.0
        for item, s in dense:
            scores[item] = scores.get(item, 0.0) + dense_weight * min(max(s, 0.0), 1.0)
        for item, s in lexical:
            scores[item] = scores.get(item, 0.0) + (1 - dense_weight) * s / best
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def merge_rankings(rankings: Sequence[Sequence[str]], *, k: float) -> list[str]:
    """One ranking from several (the whole question's and each claim's): reciprocal rank with a
    small constant, so the first passage of every list comes early and a passage several lists
    agree on comes before one only one list found."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return [item for item, _ in sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))]


def boost(fused: list[tuple[str, float]], catalog: Catalog, *, outlets: Sequence[str] = (),
          days: Sequence[tuple[date, date]] = (), tuning: Tuning) -> list[tuple[str, float]]:
    """Raise the passages of articles from the outlets, or published on the days, a claim names
    (``Tuning.outlet_boost``, ``Tuning.date_boost``)."""
    if not outlets and not days:
        return fused
    wanted = {o.casefold() for o in outlets}

    def factor(record: ArticleRecord | None) -> float:
        if record is None:
            return 1.0
        value = 1.0
        if wanted and wanted & {s.casefold() for s in record.sources}:
            value += tuning.outlet_boost
        day = _day(record.published_at)
        if day is not None and any(lo <= day <= hi for lo, hi in days):
            value += tuning.date_boost
        return value

    factors: dict[str, float] = {}  # by article: its chunks come several at a time
    out = []
    for item, score in fused:
        record = catalog.article_of(item)
        key = record.id if record is not None else ""
        if key not in factors:
            factors[key] = factor(record)
        out.append((item, score * factors[key]))
    return sorted(out, key=lambda pair: (-pair[1], pair[0]))


def _day(published_at: str | None) -> date | None:
    if not published_at:
        return None
    try:
        return datetime.fromisoformat(published_at).date()
    except ValueError:
        return None


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
    passes = record_filter(filters.sources, filters.since, filters.until)
    return sorted(a for a, r in catalog.articles.items() if passes(r))


def location(record: ArticleRecord, chunk_id: str, start: int, end: int) -> Location:
    return Location(article_id=record.id, title=record.display_title, source=", ".join(record.sources) or None,
                    published_at=record.published_at, url=record.url, chunk_id=chunk_id,
                    start=start, end=end)


def _same_text_key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


class HybridRetriever:
    """Stage 2, retrieve: an analysed question and its vectors -> the passages the answer reads
    (``read_question``). Also the plain text search of the API and the MCP server (``retrieve``)
    and the look-up of a name (``probe``)."""

    def __init__(self, *, library: Library, settings: RagSettings):
        self.library = library
        self.settings = settings
        self.tuning = settings.tuning

    def _fuse(self, rankings: dict[str, list[tuple[str, float]]], method: str | None = None
              ) -> list[tuple[str, float]]:
        return fuse(rankings, method=method or self.settings.fusion, rrf_k=self.tuning.rrf_k,
                    dense_weight=self.tuning.dense_weight)

    def rankings(self, query: str, *, filters: Filters = NO_FILTERS, candidates: int | None = None
                 ) -> dict[str, list[tuple[str, float]]]:
        """The dense and BM25 candidate lists, each best first, as ``(chunk_id, score)``."""
        return self.rankings_many([query], filters=filters, candidates=candidates)[0]

    def rankings_many(self, queries: Sequence[str], *, filters: Filters = NO_FILTERS, candidates: int | None = None,
                      vectors: np.ndarray | None = None) -> list[dict[str, list[tuple[str, float]]]]:
        """``rankings`` of each query; the queries embedded in one batch (unless their ``vectors``
        are given) and searched in one round trip. The "sentences" list ranks the chunks of the other two by their closest
        sentence (the vectors stored at ingest, held by the lexical index): a chunk whose one
        sentence answers comes early even when the rest of it is about something else."""
        catalog, lexical = self.library.search_index()
        n = candidates or self.settings.candidates
        allowed = allowed_articles(catalog, filters)
        if vectors is None:
            vectors = self.library.embedder.embed_cached(list(queries))
        dense = self.library.nearest_chunks(vectors, n, allowed)
        allowed_chunks = None if allowed is None else set(catalog.chunk_ids(allowed))
        out = [{"dense": nearest, "bm25": lexical.search(query, n, allowed_chunks)}
               for query, nearest in zip(queries, dense, strict=True)]
        pools = [[cid for cid, _ in found["dense"]] + [cid for cid, _ in found["bm25"]] for found in out]
        for found, ranked in zip(out, lexical.best_sentences(vectors, pools), strict=True):
            if ranked:
                found["sentences"] = ranked[:n]
        return out

    def retrieve_question(self, question: Question, *, k: int | None = None, filters: Filters = NO_FILTERS
                          ) -> list[Passage]:
        """The ``k`` best passages for an analysed question: the whole question and each of its
        claims searched on their own, each ranking raised by the outlets and days it names, merged
        (``merge_rankings``); every outlet the question names is represented."""
        vectors = encode(self.library.embedder, question)
        return self.read_question(question, vectors, k=k, filters=filters, further=0).passages

    def read_question(self, question: Question, vectors: QuestionVectors, *, k: int | None = None,
                      filters: Filters = NO_FILTERS, further: int | None = None) -> Reading:
        """``retrieve_question``'s passages, and the first passage of up to ``further`` more articles
        (``Tuning.further_reports`` unless given) that follow them in the same ranking (within the
        next ``k`` passages): the other reports a question spanning several may need."""
        k = k or self.settings.top_k
        further = self.tuning.further_reports if further is None else further
        catalog = self.library.catalog()
        n = max(k, self.settings.candidates)
        queries = [(question.dated or question.text, question.outlets, question.days)]  # the word searches
        if len(question.parts) > 1:
            queries += [(p.search, p.outlets or question.outlets, p.days or question.days) for p in question.parts]
        rankings, lists = {}, []
        searched = self.rankings_many([text for text, _, _ in queries], filters=filters, candidates=n,
                                      vectors=vectors.searched)
        for (_, outlets, days), found in zip(queries, searched, strict=True):
            fused = boost(self._fuse(found), catalog, outlets=outlets, days=days, tuning=self.tuning)
            lists.append([item for item, _ in fused])
            for name, ranking in found.items():
                rankings.setdefault(name, []).extend(ranking)
        merged = merge_rankings(lists, k=self.tuning.claim_rrf_k)
        scored = [(item, 1.0 / (1 + i)) for i, item in enumerate(merged)]
        pool = self.passages(scored, rankings, k=k * 2 if further else k)
        found = self._cover(pool[:k], question.text, question.outlets, k, filters, None)
        read = {a for p in found for a in (p.location.article_id, *(x.article_id for x in p.also))}
        more: list[Passage] = []
        for passage in pool[k:]:
            if len(more) >= further:
                break
            if passage.location.article_id not in read:
                more.append(passage)
                read.add(passage.location.article_id)
        return Reading(passages=found, further=more)

    def retrieve(self, query: str, *, k: int | None = None, filters: Filters = NO_FILTERS,
                 fusion: str | None = None, cover_sources: Iterable[str] = ()) -> list[Passage]:
        """The ``k`` best passages for ``query``, fused, identical passages merged.

        ``cover_sources``: outlets the question names; when none of the ``k`` passages comes from
        one of them, its best ``Tuning.cover_per_source`` passages are appended (a question "as
        reported by both The Verge and TechCrunch" needs evidence from both).
        """
        k = k or self.settings.top_k
        rankings = self.rankings(query, filters=filters, candidates=max(k, self.settings.candidates))
        found = self.passages(self._fuse(rankings, fusion), rankings, k=k)
        return self._cover(found, query, cover_sources, k, filters, fusion)

    def _cover(self, found: list[Passage], query: str, outlets: Iterable[str], k: int, filters: Filters,
               fusion: str | None) -> list[Passage]:
        for outlet in outlets:
            if any(outlet.casefold() in (p.location.source or "").casefold() for p in found):
                continue
            if filters.sources and outlet.casefold() not in {s.casefold() for s in filters.sources}:
                continue
            narrowed = replace(filters, sources=(outlet,))
            extra = self.retrieve(query, k=self.tuning.cover_per_source, filters=narrowed, fusion=fusion)
            seen = {p.location.chunk_id for p in found}
            found += [p for p in extra if p.location.chunk_id not in seen]
        return found

    def probe(self, text: str, *, filters: Filters = NO_FILTERS, k: int | None = None) -> list[Passage]:
        """Passages holding the words of ``text`` (BM25 alone, the best ``k``, by default
        ``Tuning.name_probe_k``): where is this name mentioned?"""
        k = k or self.tuning.name_probe_k
        catalog, lexical = self.library.search_index()
        allowed = allowed_articles(catalog, filters)
        allowed_chunks = None if allowed is None else set(catalog.chunk_ids(allowed))
        ranking = lexical.search(text, k, allowed_chunks)
        return self.passages(ranking, {"bm25": ranking}, k=k)

    def passages(self, fused: list[tuple[str, float]], rankings: dict[str, list[tuple[str, float]]],
                 *, k: int) -> list[Passage]:
        """The first ``k`` distinct passages of ``fused``: a passage whose text another already has
        (a syndicated copy) is merged into it (``Passage.also``)."""
        catalog = self.library.catalog()
        dense, lexical = dict(rankings.get("dense", [])), dict(rankings.get("bm25", []))
        head = fused[:k * 2]  # room for the copies merged away
        chunks = self.library.chunks([cid for cid, _ in head])
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

