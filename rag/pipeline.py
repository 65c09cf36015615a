"""One question from text to cited answer, as named stages called in order, each timed:

1. understand (``rag/understand.py``): text and conversation -> ``Question`` and its vectors
2. retrieve (``rag/retrieval.py``): -> the passages read (``Reading``)
3. score (``rag/evidence.py``): -> the scored evidence sentences (``Evidence``)
4. gate (``rag/gate.py``): -> why the evidence cannot answer, or nothing
5. select (``rag/selection.py``): -> the sentences to quote, claim by claim
6. answer (``rag/answering.py``; ``rag/extractive.py`` or ``rag/llm.py``): -> text deltas and a
   ``Draft``, with the answer line (``rag/direct.py``) and the conflicts (``rag/conflicts.py``)

A question about the library itself ("Which outlets are in the library?") is recognised in stage 1
and answered in stage 6 from the catalog (``rag/catalog.py``), not from the articles' text.

``Pipeline.stream`` is the only answering path; ``Pipeline.ask`` collects it. The CLI, the HTTP
API and the chat all call these. Every weight and threshold the stages use is ``settings.tuning``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import lru_cache

from index.errors import ConfigError, EmptyIndexError
from index.library import Library
from rag import outlets
from rag.answerers import make_answerer
from rag.answering import AnswerContext, Answerer, Event
from rag.catalog import about_library, catalog_answer
from rag.evidence import Evidence, gather
from rag.gate import refusal_reason
from rag.question import Question
from rag.retrieval import HybridRetriever
from rag.selection import select
from rag.settings import MAX_TOP_K, RagSettings
from rag.types import NO_FILTERS, REFUSAL_TEXT, REFUSED, Answer, Citation, Filters, Location, Refusal, Turn
from rag.understand import read, understand

MAX_QUESTION_CHARS = 2000
CLOSEST = 3  # passages a refusal lists for the reader to check
# passages read to tell whether the library cites a name as an outlet: the best of a name's BM25
# list are its most repeated mentions (photo credits such as "Getty Images | Reuters"), not the
# sentence that quotes it ("Data from Apptopia, reported by Bloomberg"; 10th of 11 in the
# plain-question set's library)
OUTLET_PROBE_K = 12


@lru_cache(maxsize=1 << 13)
def _parsed_names(raw: str) -> dict:
    """A stored name index, parsed once for every question that reads its article (read only)."""
    return json.loads(raw)


class _Names:
    """Article id -> its stored name index (``index.language.name_index``); ``links``: the
    library's short forms and the full forms they stand for (``index.catalog.Catalog.name_links``)."""

    def __init__(self, catalog):
        self.catalog = catalog

    def __call__(self, article_id: str) -> dict:
        record = self.catalog.articles.get(article_id)
        return _parsed_names(record.names) if record is not None and record.names else {}

    @property
    def links(self) -> dict[str, str]:
        return self.catalog.name_links


def _names_of(catalog) -> _Names:
    return _Names(catalog)


def with_stories(citations: Sequence[Citation], catalog) -> tuple[Citation, ...]:
    """Each citation with the other articles of its story: every outlet and date that carried the
    syndicated copy it quotes ("also in: ...", ``index.stories``)."""
    out = []
    for c in citations:
        shown = {c.location.article_id, *(a.article_id for a in c.also)}
        members = catalog.stories.get(catalog.story_of(c.location.article_id), ())
        others = tuple(Location(article_id=r.id, title=r.display_title, source=r.source, published_at=r.published_at,
                                url=r.url, chunk_id="", start=0, end=0) for r in members if r.id not in shown)
        out.append(replace(c, story=others) if others else c)
    return tuple(out)


class _Clock:
    """Milliseconds spent in each stage (``rag.types.STAGES``) that ran, and in all of them."""

    def __init__(self):
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = (time.perf_counter() - start) * 1000

    def done(self) -> dict[str, float]:
        return {**self.timings, "total": (time.perf_counter() - self.started) * 1000}


class Pipeline:
    def __init__(self, settings: RagSettings, *, library: Library | None = None):
        self.settings = settings
        self.tuning = settings.tuning
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

    def understand(self, question: str, *, history: Sequence[Turn] = ()) -> Question:
        """The question as data (stage 1 without the encoder), read against the outlets in the
        index and the newest article's date."""
        return read(question, catalog=self.library.catalog(), history=history, tuning=self.tuning,
                    cited_as_outlet=self.cited_as_outlet)

    def cited_as_outlet(self, name: str) -> bool | None:
        """Whether the library's articles that mention ``name`` use it as an outlet ("according to
        Bloomberg"); ``None`` when none does (``rag.outlets.cited_as_outlet``)."""
        passages = self.retriever.probe(name, k=OUTLET_PROBE_K)
        return outlets.cited_as_outlet(name, [text for p in passages for _, _, text in p.sentence_texts()])

    def ranking(self, question: Question, *, k: int | None = None, filters: Filters = NO_FILTERS) -> list:
        """The passages the answerer reads, best first: the question and each of its claims searched
        (``HybridRetriever.retrieve_question``). The MultiHop-RAG retrieval metrics measure this."""
        return self.retriever.retrieve_question(question, k=k or self.settings.top_k, filters=filters)

    def stream(self, question: str, *, history: Sequence[Turn] = (), mode: str | None = None,
               top_k: int | None = None, filters: Filters = NO_FILTERS) -> Iterator[Event]:
        """Text deltas, then one ``Event`` of kind "answer" carrying the ``Answer``."""
        question = (question or "").strip()
        if not question:
            raise ConfigError("The question is empty: type a question about the indexed articles.")
        if len(question) > MAX_QUESTION_CHARS:
            raise ConfigError(f"The question is {len(question)} characters long; the limit is "
                              f"{MAX_QUESTION_CHARS}. Ask something shorter.")
        if top_k is not None and not 1 <= top_k <= MAX_TOP_K:
            raise ConfigError(f"top_k={top_k} must be between 1 and {MAX_TOP_K}.")
        answerer = self.answerer(mode)  # an unknown mode fails before any work
        with self.library.reading():  # a writer of this library waits for the answer (``Library.reading``)
            yield from self._stream(question, answerer, history=history, top_k=top_k, filters=filters)

    def _stream(self, question: str, answerer: Answerer, *, history: Sequence[Turn], top_k: int | None,
                filters: Filters) -> Iterator[Event]:
        clock = _Clock()
        catalog = self.library.catalog()
        if not catalog.articles:
            raise EmptyIndexError(f"No articles indexed in {self.library.where} — run "
                                  "`newsrag ingest data/articles` first.")
        with clock.stage("understand"):
            asked = about_library(question)
            if asked is None:
                info, vectors = understand(question, history=history, catalog=catalog,
                                           embedder=self.library.embedder, tuning=self.tuning,
                                           condense=answerer.condense if answerer.capabilities.condense else None,
                                           cited_as_outlet=self.cited_as_outlet)
        if asked is not None:  # about the library itself: its catalog answers, not its articles' text
            with clock.stage("answer"):
                answer = catalog_answer(asked, self.library, question=question, filters=filters)
            yield Event.delta(answer.answer)
            yield Event("answer", answer=replace(answer, timings_ms=clock.done()))
            return
        with clock.stage("retrieve"):
            reading = self.retriever.read_question(info, vectors, k=top_k, filters=filters)
        with clock.stage("score"):
            evidence = gather(info, vectors, reading, library=self.library, probe=self.retriever.probe,
                              filters=filters, tuning=self.tuning)
        yield from self.conclude(question, info, evidence, answerer=answerer, catalog=catalog, clock=clock,
                                 history=history, filters=filters)

    def conclude(self, question: str, info: Question, evidence: Evidence, *, answerer: Answerer, catalog,
                 clock: _Clock, history: Sequence[Turn] = (), filters: Filters = NO_FILTERS) -> Iterator[Event]:
        """Stages 4 to 6 on scored evidence: the gate, the selection and the answerer; text deltas,
        then the "answer" event. (The tuning harness, ``eval/tune.py``, replays these on evidence
        it read once.)"""
        with clock.stage("gate"):
            reason = refusal_reason(info, evidence.candidates, tuning=self.tuning)
        draft = None
        if reason is None:
            with clock.stage("select"):
                picks = select(info, evidence.candidates, tuning=self.tuning,
                               max_sentences=self.settings.max_sentences)
            context = AnswerContext(info=info, passages=evidence.passages, candidates=evidence.candidates,
                                    picks=picks, history=history, embed=self.library.embedder.embed_cached,
                                    names_of=_names_of(catalog))
            with clock.stage("answer"):
                for event in answerer.stream(context):
                    if event.kind == "draft":
                        draft = event.draft
                    else:
                        yield event
        if draft is None or draft.status == REFUSED:
            yield Event.delta(REFUSAL_TEXT)
            refusal = draft.refusal if draft is not None and draft.refusal else Refusal(
                reason=reason or "the answer was not supported by the articles")
            answer = Answer(question=question, answer=REFUSAL_TEXT, status=REFUSED, mode=answerer.name,
                            closest=tuple(evidence.passages[:CLOSEST]), filters=filters, refusal=refusal)
        else:
            answer = Answer(question=question, answer=draft.text, status=draft.status, mode=answerer.name,
                            citations=with_stories(draft.citations, catalog), conflicts=draft.conflicts,
                            sentences=draft.sentences,
                            closest=draft.closest, filters=filters, direct=draft.direct, claims=draft.claims)
        yield Event("answer", answer=replace(answer, timings_ms=clock.done()))

    def ask(self, question: str, **options) -> Answer:
        """The collected stream: the same answer ``stream`` ends with."""
        final = None
        for event in self.stream(question, **options):
            if event.kind == "answer":
                final = event.answer
        return final
