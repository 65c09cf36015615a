"""One question from text to cited answer: analyse -> retrieve -> score evidence -> refuse or answer.

``Pipeline.stream`` is the only answering path; ``Pipeline.ask`` collects it. Both the CLI, the
HTTP API and the chat call these.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

from index.errors import ConfigError, EmptyIndexError
from index.library import Library
from rag.answerers import make_answerer
from rag.answering import AnswerContext, Answerer, Event, refusal_reason
from rag.evidence import Scorer, candidates
from rag.question import analyse, is_followup
from rag.retrieval import HybridRetriever
from rag.settings import RagSettings
from rag.types import NO_FILTERS, REFUSAL_TEXT, REFUSED, Answer, Filters, Refusal, Turn

MAX_QUESTION_CHARS = 2000
CLOSEST = 3


class Pipeline:
    def __init__(self, settings: RagSettings, *, library: Library | None = None):
        self.settings = settings
        self.library = library or Library(settings.index)
        self.retriever = HybridRetriever(library=self.library, settings=settings)
        self._answerers: dict[str, Answerer] = {}
        self._lock = threading.Lock()

    def answerer(self, mode: str | None = None) -> Answerer:
        mode = mode or self.settings.mode
        with self._lock:
            if mode not in self._answerers:
                self._answerers[mode] = make_answerer(mode, settings=self.settings)
            return self._answerers[mode]

    def _scorer(self) -> Scorer:
        _, lexical = self.library.search_index()
        return Scorer(embedder=self.library.embedder, idf=lexical.idf)

    def _evidence(self, info, passages: list, filters: Filters) -> list:
        """Scored evidence sentences. A name the question depends on that the passages lack is
        looked up on its own (BM25); passages mentioning it join ``passages`` and the evidence."""
        scorer = self._scorer()
        evidence = candidates(passages)
        scorer.score(info, evidence)
        covered = set().union(*(c.entities for c in evidence))
        seen = {p.location.chunk_id for p in passages}
        added = []
        for i, entity in enumerate(info.entities):
            if i in covered:
                continue
            found = [p for p in self.retriever.probe(entity.text, filters=filters)
                     if p.location.chunk_id not in seen]
            extra = candidates(found)
            scorer.score(info, extra)
            if any(i in c.entities for c in extra):
                added += found
                seen.update(p.location.chunk_id for p in found)
                covered |= set().union(*(c.entities for c in extra))
        if added:  # once more over all passages, so sentences they share are merged
            passages.extend(added)
            evidence = candidates(passages)
            scorer.score(info, evidence)
        return evidence

    def stream(self, question: str, *, history: Sequence[Turn] = (), mode: str | None = None,
               top_k: int | None = None, filters: Filters = NO_FILTERS) -> Iterator[Event]:
        """Text deltas, then one ``Event`` of kind "answer" carrying the ``Answer``."""
        question = (question or "").strip()
        if not question:
            raise ConfigError("The question is empty: type a question about the indexed articles.")
        if len(question) > MAX_QUESTION_CHARS:
            raise ConfigError(f"The question is {len(question)} characters long; the limit is "
                              f"{MAX_QUESTION_CHARS}. Ask something shorter.")
        if top_k is not None and not 1 <= top_k <= 50:
            raise ConfigError(f"top_k={top_k} must be between 1 and 50.")
        answerer = self.answerer(mode)  # an unknown mode fails before any work
        started = time.perf_counter()
        catalog = self.library.catalog()
        if not catalog.articles:
            raise EmptyIndexError(f"No articles indexed in {self.library.store.where} — run "
                                  "`newsrag ingest data/articles` first.")
        outlets = sorted({s for r in catalog.articles.values() for s in r.sources})
        info = analyse(question, history=history, outlets=outlets)
        condense = getattr(answerer, "condense", None)
        if history and condense is not None and is_followup(question):
            standalone = condense(question, history)  # LLM modes; the extractive one widens instead
            if standalone:
                info = analyse(standalone, outlets=outlets)
        passages = self.retriever.retrieve(info.text, k=top_k or self.settings.top_k, filters=filters,
                                           cover_sources=info.outlets)
        retrieved = time.perf_counter()
        evidence = self._evidence(info, passages, filters)
        reason = refusal_reason(info, evidence, self.settings.refusal_threshold)
        draft = None
        if reason is None:
            context = AnswerContext(info=info, passages=passages, candidates=evidence, history=history,
                                    embed=self.library.embedder.embed_cached)
            for event in answerer.stream(context):
                if event.kind == "draft":
                    draft = event.draft
                else:
                    yield event
        if draft is None or draft.status == REFUSED:
            yield Event.delta(REFUSAL_TEXT)
            answer = Answer(question=question, answer=REFUSAL_TEXT, status=REFUSED, mode=answerer.name,
                            closest=tuple(passages[:CLOSEST]), filters=filters,
                            refusal=draft.refusal if draft else Refusal(reason=reason) if reason else None)
        else:
            answer = Answer(question=question, answer=draft.text, status=draft.status, mode=answerer.name,
                            citations=draft.citations, conflicts=draft.conflicts,
                            sentences=draft.sentences, closest=draft.closest, filters=filters)
        done = time.perf_counter()
        timings = {"retrieve": (retrieved - started) * 1000, "answer": (done - retrieved) * 1000,
                   "total": (done - started) * 1000}
        yield Event("answer", answer=replace(answer, timings_ms=timings))

    def ask(self, question: str, **options) -> Answer:
        """The collected stream: the same answer ``stream`` ends with."""
        final = None
        for event in self.stream(question, **options):
            if event.kind == "answer":
                final = event.answer
        return final
