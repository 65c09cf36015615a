"""Evidence sentences: the sentences of the retrieved passages, each scored against the question.

A sentence found in several articles (a repeated paragraph, a syndicated copy) is one candidate
with every place it occurs in ``also``, so it is cited once with all its outlets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from index.text import analyze, words
from rag.injection import is_instruction
from rag.question import QuestionInfo, metadata_text, token_prefixes
from rag.types import Location, Passage

if TYPE_CHECKING:
    import numpy as np

# Weights of the sentence score: meaning (embedding cosine) and idf-weighted term coverage.
SEMANTIC_WEIGHT = 0.55
LEXICAL_WEIGHT = 0.45
CONTEXT_WEIGHT = 0.5  # weight of the earlier questions' words in a follow-up
ALREADY_SAID = 0.6  # a sentence the conversation already quoted
PREVIOUS_SENTENCE = 0.5  # weight of question words found only in the sentence before
SAME_STORY = 1.1  # a sentence of an article the previous answer cited


@dataclass
class Candidate:
    location: Location  # start/end are the sentence's offsets in the article body
    text: str
    rank: int  # rank of the passage it came from
    also: tuple[Location, ...] = ()
    meta: set[str] = field(default_factory=set)  # word prefixes of its articles' metadata
    semantic: float = 0.0
    lexical: float = 0.0
    score: float = 0.0
    vector: np.ndarray | None = None
    entities: frozenset[int] = frozenset()
    before: str = ""  # the sentence before it in its passage (what "it", "the attempt" refer to)  # indices of the question's entities it covers

    @property
    def article_ids(self) -> set[str]:
        return {self.location.article_id, *(a.article_id for a in self.also)}


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _shift(location: Location, offset: int, start: int, end: int) -> Location:
    return replace(location, start=location.start + (start - offset), end=location.start + (end - offset))


def candidates(passages: Sequence[Passage], *, min_words: int = 4) -> list[Candidate]:
    """Every distinct sentence of ``passages`` (in passage order), duplicates merged; sentences
    that are instructions to an AI assistant are left out (``rag.injection``)."""
    out: list[Candidate] = []
    seen: dict[str, Candidate] = {}
    for rank, passage in enumerate(passages):
        base = passage.location.start
        previous = ""
        for start, end, text in passage.sentence_texts():
            before, previous = previous, text
            if len(words(text)) < min_words or is_instruction(text):
                continue  # too short to say anything; or text addressed to an AI (rag/injection.py)
            here = replace(passage.location, start=start, end=end)
            elsewhere = tuple(_shift(a, base, start, end) for a in passage.also)
            existing = seen.get(_key(text))
            if existing is not None:
                known = existing.article_ids
                extra = tuple(loc for loc in (here, *elsewhere) if loc.article_id not in known)
                existing.also += extra
                for loc in extra:
                    existing.meta |= token_prefixes(metadata_text(loc.title, loc.source, loc.published_at))
                continue
            meta: set[str] = set()
            for loc in (here, *elsewhere):
                meta |= token_prefixes(metadata_text(loc.title, loc.source, loc.published_at))
            candidate = Candidate(location=here, text=text, rank=rank, also=elsewhere, meta=meta, before=before)
            seen[_key(text)] = candidate
            out.append(candidate)
    return out


class Scorer:
    """Scores candidates: ``0.55 * cosine(question, sentence) + 0.45 * idf-weighted coverage``,
    scaled by ``0.6 + 0.4 * share of the question's named entities the sentence (or its article's
    title, outlet and date) covers`` when the question names any."""

    def __init__(self, *, embedder, idf):
        self.embedder = embedder
        self.idf = idf  # term -> idf (the BM25 index's)

    def score(self, info: QuestionInfo, cands: list[Candidate]) -> None:
        if not cands:
            return
        question_vector = self.embedder.embed_cached([info.text])[0]
        if info.text != info.asked:  # a widened follow-up: its own words matter as much
            asked_vector = self.embedder.embed_cached([info.asked])[0]
            question_vector = (question_vector + asked_vector) / 2
        vectors = self.embedder.embed_cached([c.text for c in cands])
        focus = set(info.focus) or set(info.terms)
        # the words of a follow-up count fully, those of the questions it follows half
        weights = {t: max(self.idf(t), 0.1) * (1.0 if t in focus else CONTEXT_WEIGHT) for t in set(info.terms)}
        total = sum(weights.values()) or 1.0
        for candidate, vector in zip(cands, vectors, strict=True):
            terms = set(analyze(candidate.text))
            before = set(analyze(candidate.before))
            candidate.vector = vector
            candidate.semantic = float(vector @ question_vector)
            # the sentence before counts at half weight: "The statement described the attempt as..."
            candidate.lexical = sum(w if t in terms else PREVIOUS_SENTENCE * w if t in before else 0.0
                                    for t, w in weights.items()) / total
            candidate.score = SEMANTIC_WEIGHT * candidate.semantic + LEXICAL_WEIGHT * candidate.lexical
            candidate.entities = frozenset(i for i, e in enumerate(info.entities)
                                           if e.found_in_sentence(candidate.text) or e.found_in(candidate.meta))
            if info.entities:
                nearby = sum(1 for i, e in enumerate(info.entities)
                             if i not in candidate.entities and e.found_in_sentence(candidate.before))
                share = (len(candidate.entities) + PREVIOUS_SENTENCE * nearby) / len(info.entities)
                candidate.score *= 0.6 + 0.4 * share
            if info.said and candidate.text in info.said:
                candidate.score *= ALREADY_SAID  # the follow-up asks for something new
            elif candidate.article_ids & set(info.prior_articles):
                candidate.score *= SAME_STORY  # "it", "there": the story the conversation is about
