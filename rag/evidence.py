"""Stage 3, score: the sentences of the retrieved passages, each scored against the question and
against each of its claims (``gather``).

A sentence's vector and facts (entities, figures) were stored at ingest (``index/ingest_encode.py``,
``index/sentences.py``), and the question's vectors come from stage 1 (``rag/understand.py``), so
scoring runs no model. A sentence found in several articles (a repeated paragraph, a syndicated copy) is one candidate with every place it occurs in ``also``, so
it is cited once with all its outlets. Sentences that instruct whoever answers or state what "the
answer" is (``rag/injection.py``: its patterns, and the grammar of ``addressed``), and questions,
which state nothing, are never evidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from index.language import Facts, annotate
from index.names import word_keys
from index.text import analyze, end_mark, words
from rag.injection import addressed, is_instruction
from rag.question import Question, metadata_text
from rag.retrieval import Reading
from rag.tuning import Tuning
from rag.types import Citation, Filters, Location, Passage
from rag.understand import QuestionVectors

if TYPE_CHECKING:
    import numpy as np

@dataclass(frozen=True, eq=False)
class Candidate:
    """An evidence sentence. Scores are filled by ``Scorer.score``, which returns new candidates."""

    location: Location  # start/end are the sentence's offsets in the article body
    text: str
    rank: int  # rank of the passage it came from
    also: tuple[Location, ...] = ()
    meta: frozenset[str] = frozenset()  # word keys of its articles' titles, outlets and dates
    before: str = ""  # the sentence before it in its passage (what "it", "the attempt" refer to)
    vector: np.ndarray | None = None
    facts: Facts = field(default_factory=Facts)
    semantic: float = 0.0
    lexical: float = 0.0
    score: float = 0.0
    parts: tuple[float, ...] = ()  # its score against each claim of the question
    names: frozenset[int] = frozenset()  # indexes of the question's names it covers
    story: str | None = None  # the story of its article (index/stories.py), when known

    # What follows is derived from the fields above and remembered (a candidate is read by every
    # stage; ``replace`` makes a new one, which derives them again).
    @cached_property
    def article_ids(self) -> frozenset[str]:
        return frozenset(self.articles)

    @cached_property
    def articles(self) -> tuple[str, ...]:
        """Its articles in a fixed order, its own first: what is read article by article must not
        follow a set's order, which changes with each process's string hashing."""
        return tuple(dict.fromkeys((self.location.article_id, *(a.article_id for a in self.also))))

    @cached_property
    def sources(self) -> list[str]:
        """The outlet fields of the articles holding it (each may name several outlets)."""
        return list(dict.fromkeys(s for s in (self.location.source, *(a.source for a in self.also)) if s))

    @cached_property
    def _folded_sources(self) -> tuple[str, ...]:
        return tuple(s.casefold() for s in self.sources)

    def from_outlet(self, outlet: str) -> bool:
        wanted = outlet.casefold()
        return any(wanted in s for s in self._folded_sources)

    @cached_property
    def day(self) -> date | None:
        days = [_day(loc.published_at) for loc in (self.location, *self.also)]
        return min((d for d in days if d is not None), default=None)

    @cached_property
    def keys(self) -> frozenset[str]:
        return word_keys(self.text)

    def citation(self, n: int) -> Citation:
        """The sentence cited as ``[n]``, at its offsets in its article."""
        return Citation(n=n, location=self.location, quote=self.text, also=self.also)


def _day(published_at: str | None) -> date | None:
    try:
        return datetime.fromisoformat(published_at).date() if published_at else None
    except ValueError:
        return None


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _shift(location: Location, offset: int, start: int, end: int) -> Location:
    return replace(location, start=location.start + (start - offset), end=location.start + (end - offset))


def _meta(locations: Sequence[Location]) -> frozenset[str]:
    return frozenset().union(*(_article_keys(loc.title, loc.source, loc.published_at) for loc in locations))


@lru_cache(maxsize=1 << 12)
def _article_keys(title: str, source: str | None, published_at: str | None) -> frozenset[str]:
    """The word keys of an article's title, outlet and date: the same for each of its sentences."""
    return word_keys(metadata_text(title, source, published_at))


def asks(sentence: str) -> bool:
    """Whether the sentence is a question ("Do you work at OpenAI and know more?", "Or what if ...
    Altman has been pursuing a project?"): it states nothing, so it is no evidence. On the dev slice
    none of the 13 questions cited was gold evidence; without them citation precision 0.378 ->
    0.380, evidence coverage 0.810 -> 0.811."""
    return end_mark(sentence) == "?"


def _finished(sentence: str) -> bool:
    """Whether the sentence ends as a sentence does (a full stop, "!", "?", a colon or semicolon,
    before any closing quote or bracket)."""
    return end_mark(sentence) in {".", "!", "?", ":", ";", "…"}


def candidates(passages: Sequence[Passage], *, min_words: int, story_of=None) -> list[Candidate]:
    """Every distinct sentence of ``passages`` (in passage order), duplicates merged, instructions
    to an AI assistant and questions left out. Vectors and facts are attached by ``with_stored``;
    ``story_of(article id)`` gives each its article's story."""
    out: list[Candidate] = []
    seen: dict[str, int] = {}
    for rank, passage in enumerate(passages):
        base = passage.location.start
        previous = ""
        for start, end, text in passage.sentence_texts():
            before, previous = previous, text
            if len(words(text)) < min_words or asks(text) or is_instruction(text) or addressed(text):
                continue  # too short to say anything; a question; an order to whoever answers (rag/injection.py)
            here = replace(passage.location, start=start, end=end)
            elsewhere = tuple(_shift(a, base, start, end) for a in passage.also)
            index = seen.get(_key(text))
            if index is not None:
                existing = out[index]
                known = existing.article_ids
                extra = tuple(loc for loc in (here, *elsewhere) if loc.article_id not in known)
                if extra:
                    also = existing.also + extra
                    out[index] = replace(existing, also=also, meta=_meta((existing.location, *also)))
                continue
            seen[_key(text)] = len(out)
            out.append(Candidate(location=here, text=text, rank=rank, also=elsewhere,
                                 story=story_of(here.article_id) if story_of else None,
                                 meta=_meta((here, *elsewhere)), before=before))
    return out


def with_stored(cands: Sequence[Candidate], library) -> list[Candidate]:
    """The candidates with the vectors and facts stored at ingest (held by the lexical index); a
    sentence it does not hold (a chunk indexed before sentences were stored) is embedded and
    annotated now."""
    places = [(c.location.chunk_id, c.location.start) for c in cands]
    _, lexical = library.search_index()
    stored = lexical.stored_sentences(places)
    missing = [i for i, place in enumerate(places) if place not in stored]
    vectors = library.embedder.embed_cached([cands[i].text for i in missing]) if missing else []
    facts = annotate([cands[i].text for i in missing]) if missing else []
    fresh = {i: (v, f) for i, v, f in zip(missing, vectors, facts, strict=True)}
    out = []
    for i, (candidate, place) in enumerate(zip(cands, places, strict=True)):
        if place in stored:
            vector, raw = stored[place]
            out.append(replace(candidate, vector=vector, facts=_facts(raw)))
        else:
            vector, fact = fresh[i]
            out.append(replace(candidate, vector=vector, facts=fact))
    return out


class Scorer:
    """Scores candidates against the question and each of its claims (``Tuning``'s score fields).

    A score is ``semantic_weight * cosine + lexical_weight * idf-weighted coverage of the words``
    (a word only in the sentence before counts ``previous_sentence``: "The statement described the
    attempt as ..."). The question's score is then scaled between ``names_floor`` and 1 by the
    share of the question's names the sentence covers (in the text, in the sentence before at
    ``previous_sentence``, or in its articles' title, outlet and date); a claim's score by whether
    the sentence comes from the outlet and day the claim names (``source_match``,
    ``source_miss``); both by ``unfinished`` for a line with no closing punctuation (a heading, a
    caption).
    """

    def __init__(self, *, idf, tuning: Tuning):
        self.idf = idf  # term -> idf (the BM25 index's)
        self.tuning = tuning

    def _idf(self, term: str) -> float:
        return max(self.idf(term), self.tuning.min_idf)

    def score(self, question: Question, vectors: QuestionVectors, cands: Sequence[Candidate]) -> list[Candidate]:
        import numpy as np

        if not cands:
            return []
        t = self.tuning
        parts = question.parts if len(question.parts) > 1 else ()
        question_vector = vectors.question
        if vectors.asked is not None:  # a widened follow-up: its own words matter too
            question_vector = (1 - t.asked_weight) * question_vector + t.asked_weight * vectors.asked
        part_vectors = vectors.claims
        focus = set(question.focus) or set(question.terms)
        # in the question's order, not a set's: a set's order changes with each process's string hashes,
        # and with it the last bits of every sum (a near-tie then ranks two ways from run to run)
        weights = {w: self._idf(w) * (1.0 if w in focus else t.context_weight) for w in dict.fromkeys(question.terms)}
        part_weights = [{w: self._idf(w) for w in dict.fromkeys(p.terms)} for p in parts]
        matrix = np.stack([c.vector for c in cands])
        # einsum, not BLAS: see ``index.lexical.LexicalIndex.best_sentences``
        semantic = np.einsum("ij,j->i", matrix, question_vector)
        part_semantic = np.einsum("ij,kj->ik", matrix, np.asarray(part_vectors)) if parts else None
        # which of the question's and its claims' words each sentence holds: 1, or less when only the
        # sentence before holds it; each coverage is then one product over all sentences
        columns = {w: k for k, w in enumerate(dict.fromkeys([*weights, *(w for ws in part_weights for w in ws)]))}
        held = np.zeros((len(cands), len(columns)))
        for i, candidate in enumerate(cands):
            held[i, [columns[w] for w in columns.keys() & _terms(candidate.before)]] = t.previous_sentence
            held[i, [columns[w] for w in columns.keys() & _terms(candidate.text)]] = 1.0
        coverage = _coverage(held, columns, weights)
        part_coverage = [_coverage(held, columns, w) for w in part_weights]
        out = []
        for i, candidate in enumerate(cands):
            lexical = float(coverage[i])
            score = t.semantic_weight * float(semantic[i]) + t.lexical_weight * lexical
            keys, near = candidate.keys | candidate.meta, word_keys(candidate.before)
            names = frozenset(j for j, n in enumerate(question.names) if n.found_in(keys))
            if question.names:
                nearby = sum(1 for j, n in enumerate(question.names) if j not in names and n.found_in(near))
                score *= t.names_floor + (1 - t.names_floor) * (len(names) + t.previous_sentence * nearby) \
                    / len(question.names)
            if question.said and candidate.text in question.said:
                score *= t.already_said  # the follow-up asks for something new
            elif candidate.article_ids & set(question.prior_articles):
                score *= t.same_story  # "it", "there": the story the conversation is about
            finished = 1.0 if _finished(candidate.text) else t.unfinished
            score *= finished
            part_scores = []
            for j, part in enumerate(parts):
                value = t.semantic_weight * float(part_semantic[i, j]) + t.lexical_weight * float(part_coverage[j][i])
                part_scores.append(value * self._source_factor(candidate, part.outlets, part.days) * finished)
            out.append(replace(candidate, semantic=float(semantic[i]), lexical=lexical, score=score,
                               parts=tuple(part_scores), names=names))
        return out

    def _source_factor(self, candidate: Candidate, outlets: Sequence[str], days: Sequence[tuple[date, date]]
                       ) -> float:
        match, miss = self.tuning.source_match, self.tuning.source_miss
        factor = 1.0
        if outlets:
            factor *= match if any(candidate.from_outlet(o) for o in outlets) else miss
        if days:
            day = candidate.day
            factor *= match if day is not None and any(lo <= day <= hi for lo, hi in days) else miss
        return factor


@dataclass(frozen=True)
class Evidence:
    """What the answer rests on: the scored sentences, and the passages they were read from."""

    candidates: list[Candidate]
    passages: list[Passage]  # the ranking's, then any found for a name the ranking lacks


def gather(question: Question, vectors: QuestionVectors, reading: Reading, *, library, probe, filters: Filters,
           tuning: Tuning) -> Evidence:
    """The scored evidence sentences of the passages read and of the further reports' passages.
    A name the question depends on that they lack is looked up on its own (``probe``: BM25);
    passages mentioning it join the passages read and the evidence."""
    _, lexical = library.search_index()
    scorer = Scorer(idf=lexical.idf, tuning=tuning)
    passages, further = list(reading.passages), reading.further
    story_of = library.catalog().story_of  # copies of one story: a later figure is an update (rag.conflicts)

    def scored(found: Sequence[Passage]) -> list[Candidate]:
        return scorer.score(question, vectors, with_stored(
            candidates(found, min_words=tuning.min_words, story_of=story_of), library))

    evidence = scored([*passages, *further])
    covered = set().union(*(c.names for c in evidence))
    seen = {p.location.chunk_id for p in passages}
    added = []
    for i, name in enumerate(question.names):
        if i in covered:
            continue
        found = [p for p in probe(name.text, filters=filters) if p.location.chunk_id not in seen]
        extra = scored(found)
        if any(i in c.names for c in extra):
            added += found
            seen.update(p.location.chunk_id for p in found)
            covered |= set().union(*(c.names for c in extra))
    if added:  # once more over all passages, so sentences they share are merged
        passages += added
        evidence = scored([*passages, *further])
    return Evidence(candidates=evidence, passages=passages)


@lru_cache(maxsize=1 << 14)
def _facts(raw: str) -> Facts:
    """Stored facts, read once: the sentences of the articles a conversation is about come back."""
    return Facts.from_json(raw)


@lru_cache(maxsize=1 << 14)
def _terms(sentence: str) -> frozenset[str]:
    """The analyzed words of an evidence sentence, remembered: the sentences of the articles a
    conversation is about come back question after question."""
    return frozenset(analyze(sentence))


def _coverage(held: np.ndarray, columns: dict[str, int], weights: dict[str, float]) -> np.ndarray:
    """The idf-weighted share of the words of ``weights`` each sentence holds (``held``: sentences x
    words: 1, or ``Tuning.previous_sentence`` for a word only in the sentence before)."""
    import numpy as np

    vector = np.zeros(len(columns))
    for term, weight in weights.items():
        vector[columns[term]] = weight
    # einsum, not BLAS: see ``index.lexical.LexicalIndex.best_sentences``
    return np.einsum("ij,j->i", held, vector) / (sum(weights.values()) or 1.0)
