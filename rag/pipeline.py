"""One question from text to cited answer: analyse -> retrieve -> score evidence -> refuse or answer.

``Pipeline.stream`` is the only answering path; ``Pipeline.ask`` collects it. Both the CLI, the
HTTP API and the chat call these.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

from index.errors import ConfigError, EmptyIndexError
from index.library import Library
from rag.answerers import make_answerer
from rag.answering import AnswerContext, Answerer, Event, refusal_reason
from rag.evidence import Candidate, Scorer, candidates, with_stored
from rag.question import Question, analyse, as_asked, is_followup
from rag.retrieval import FURTHER_REPORTS, HybridRetriever
from rag.settings import RagSettings
from rag.types import NO_FILTERS, REFUSAL_TEXT, REFUSED, Answer, Citation, Filters, Location, Refusal, Turn

MAX_QUESTION_CHARS = 2000
CLOSEST = 3


def _names_of(catalog):
    """Article id -> its stored name index (``index.language.name_index``), parsed once."""
    parsed: dict[str, dict] = {}

    def names_of(article_id: str) -> dict:
        if article_id not in parsed:
            record = catalog.articles.get(article_id)
            parsed[article_id] = json.loads(record.names) if record is not None and record.names else {}
        return parsed[article_id]

    return names_of


def with_stories(citations: Sequence[Citation], catalog) -> tuple[Citation, ...]:
    """Each citation with the other articles of its story: every outlet and date that carried the
    syndicated copy it quotes ("also in: ...")."""
    out = []
    for c in citations:
        shown = {c.article_id, *(a.article_id for a in c.also)}
        members = catalog.stories.get(catalog.story_of(c.article_id), ())
        others = tuple(Location(article_id=r.id, title=r.display_title, source=r.source, published_at=r.published_at,
                                url=r.url, chunk_id="", start=0, end=0) for r in members if r.id not in shown)
        out.append(replace(c, story=others) if others else c)
    return tuple(out)


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

    def understand(self, question: str, *, history: Sequence[Turn] = ()) -> Question:
        """The question as data (``rag.question.analyse``), read against the outlets in the index
        and the newest article's date."""
        catalog = self.library.catalog()
        return analyse(question, history=history, outlets=catalog.outlets, newest=catalog.newest)

    def ranking(self, question: Question, *, k: int | None = None, filters: Filters = NO_FILTERS) -> list:
        """The passages the answerer reads, best first: the question and each of its claims searched
        (``HybridRetriever.retrieve_question``). The MultiHop-RAG retrieval metrics measure this."""
        return self.retriever.retrieve_question(question, k=k or self.settings.top_k, filters=filters)

    def _evidence(self, question: Question, passages: list, filters: Filters, further: Sequence = ()
                  ) -> list[Candidate]:
        """Scored evidence sentences of ``passages`` and of the ``further`` reports' passages. A name
        the question depends on that they lack is looked up on its own (BM25); passages mentioning
        it join ``passages`` and the evidence."""
        scorer = self._scorer()
        story_of = self.library.catalog().story_of  # copies of one story: an update, not a disagreement
        evidence = scorer.score(question, with_stored(candidates([*passages, *further], story_of=story_of),
                                                      self.library))
        covered = set().union(*(c.names for c in evidence))
        seen = {p.location.chunk_id for p in passages}
        added = []
        for i, name in enumerate(question.names):
            if i in covered:
                continue
            found = [p for p in self.retriever.probe(name.text, filters=filters) if p.location.chunk_id not in seen]
            extra = scorer.score(question, with_stored(candidates(found, story_of=story_of), self.library))
            if any(i in c.names for c in extra):
                added += found
                seen.update(p.location.chunk_id for p in found)
                covered |= set().union(*(c.names for c in extra))
        if added:  # once more over all passages, so sentences they share are merged
            passages.extend(added)
            evidence = scorer.score(question, with_stored(candidates([*passages, *further], story_of=story_of),
                                                          self.library))
        return evidence

    def _embed_ahead(self, text: str) -> threading.Thread:
        """The question run through the encoder while spaCy parses it (the encoder leaves the GIL;
        two cores): the search then finds its vector, and its claims' (pooled from the same run,
        ``Embedder.embed_spans``), without running the encoder again. An error is left for the
        search to raise."""
        def embed() -> None:
            with contextlib.suppress(Exception):
                self.library.embedder.embed_spans(text, ())

        thread = threading.Thread(target=embed, name="newsrag-embed-ahead", daemon=True)
        thread.start()
        return thread

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
        ahead = self._embed_ahead(as_asked(question))
        info = self.understand(question, history=history)
        ahead.join()
        condense = getattr(answerer, "condense", None)
        if history and condense is not None and is_followup(question):
            standalone = condense(question, history)  # LLM modes; the extractive one widens instead
            if standalone:
                info = self.understand(standalone)
        # the answer reads the ranking's passages, and its sentences may also come from the first
        # passage of a few further reports (``FURTHER_REPORTS``)
        passages, further = self.retriever.read_question(info, k=top_k, filters=filters, further=FURTHER_REPORTS)
        retrieved = time.perf_counter()
        evidence = self._evidence(info, passages, filters, further)
        reason = refusal_reason(info, evidence, self.settings.refusal_threshold)
        draft = None
        if reason is None:
            context = AnswerContext(info=info, passages=passages, candidates=evidence, history=history,
                                    embed=self.library.embedder.embed_cached, names_of=_names_of(catalog))
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
                            closest=tuple(passages[:CLOSEST]), filters=filters, refusal=refusal)
        else:
            answer = Answer(question=question, answer=draft.text, status=draft.status, mode=answerer.name,
                            citations=with_stories(draft.citations, catalog), conflicts=draft.conflicts, sentences=draft.sentences,
                            closest=draft.closest, filters=filters, direct=draft.direct, claims=draft.claims)
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
