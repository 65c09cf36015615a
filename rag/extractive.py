"""The default answerer: no LLM, every answer sentence is a sentence quoted from an article.

It picks the best-scoring evidence sentences (see ``rag/evidence.py``) without repeating itself,
covers every outlet the question names and every named entity the evidence holds, adds the
other side of a conflicting figure, and cites each sentence at its exact offsets.
"""

from __future__ import annotations

from collections.abc import Iterator

from rag.answering import AnswerContext, Draft, Event
from rag.conflicts import counts, figures, find_conflicts
from rag.evidence import Candidate
from rag.question import QuestionInfo
from rag.settings import RagSettings
from rag.types import ANSWERED, AnswerSentence, Citation

RELATIVE_FLOOR = 0.8  # a further sentence must score at least this share of the best one
REDUNDANT = 0.9  # cosine above which two sentences say the same thing
NEXT_FLOOR = 0.65  # the same share for the sentence that follows the best one
NO_NUMBER = 0.6  # "how many X": the score kept by a sentence that gives no number of X
PER_ARTICLE = 2  # at most this many sentences from one article (unless it is the only one)


def _totals(text: str, unit: str) -> set[float]:
    return {f.value for f in figures(text) if unit in f.units and not f.part}


def select(info: QuestionInfo, cands: list[Candidate], settings: RagSettings) -> list[Candidate]:
    """The answer sentences, best first. For a "how many X" question the scores of sentences that
    give no number of X are lowered in place (by ``NO_NUMBER``) before ranking."""
    if info.unit:  # "how many X": a sentence giving a number of X answers better than one without
        for c in cands:
            if not counts(c.text, info.unit):
                c.score *= NO_NUMBER
    ranked = sorted(cands, key=lambda c: (-c.score, c.rank, c.location.start))
    if not ranked:
        return []
    best = ranked[0]
    chosen = [best]
    floor = max(settings.refusal_threshold, RELATIVE_FLOOR * best.score)
    single_article = len({c.location.article_id for c in ranked}) == 1

    def fits(c: Candidate) -> bool:
        if c in chosen or len(chosen) >= settings.max_sentences + 2:
            return False
        if any(c.vector is not None and o.vector is not None and float(c.vector @ o.vector) > REDUNDANT
               for o in chosen):
            return False
        same = sum(1 for o in chosen if o.location.article_id == c.location.article_id)
        return single_article or same < PER_ARTICLE

    # "how many X": further sentences must give a number of X too; a total asks for other totals,
    # not for parts of it ("25 of these drones")
    needs_figure = bool(info.unit) and counts(best.text, info.unit)
    needs_total = bool(info.unit) and bool(_totals(best.text, info.unit))
    for c in ranked[1:]:
        if len(chosen) >= settings.max_sentences:
            break
        # the sentence right after the best one often completes it ("The statement described ...")
        follows = c.before == best.text and c.location.article_id == best.location.article_id
        if c.score < (max(settings.refusal_threshold, NEXT_FLOOR * best.score) if follows else floor):
            continue
        if not fits(c) or needs_figure and not counts(c.text, info.unit):
            continue
        if needs_total and not _totals(c.text, info.unit):
            continue
        chosen.append(c)
    # every outlet the question names
    for outlet in info.outlets:
        if any(outlet.casefold() in (c.location.source or "").casefold() for c in chosen):
            continue
        pick = next((c for c in ranked if outlet.casefold() in (c.location.source or "").casefold()
                     and c.score >= 0.5 * floor and fits(c)), None)
        if pick:
            chosen.append(pick)
    # every named entity some evidence covers
    covered = set().union(*(c.entities for c in chosen))
    for i in range(len(info.entities)):
        if i in covered:
            continue
        pick = next((c for c in ranked if i in c.entities and c.score >= 0.5 * floor and fits(c)), None)
        if pick:
            chosen.append(pick)
            covered |= pick.entities
    # the other side of a figure the question asks about
    if info.unit:
        values = set().union(*(_totals(c.text, info.unit) for c in chosen))
        articles = set().union(*(c.article_ids for c in chosen))
        for c in ranked:
            if c.score < 0.75 * floor or c.article_ids & articles:
                continue
            theirs = _totals(c.text, info.unit)
            if theirs and not theirs & values and fits(c):
                chosen.append(c)
                values |= theirs
                articles |= c.article_ids
    return chosen


def citation_for(n: int, candidate: Candidate) -> Citation:
    return Citation.at(n, candidate.location, quote=candidate.text, start=candidate.location.start,
                       end=candidate.location.end, also=candidate.also)


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, *, settings: RagSettings):
        self.settings = settings

    def stream(self, context: AnswerContext) -> Iterator[Event]:
        chosen = select(context.info, context.candidates, self.settings)
        numbered = list(enumerate(chosen, start=1))
        citations = [citation_for(n, c) for n, c in numbered]
        conflicts = find_conflicts(context.info, numbered)
        pieces: list[str] = []
        if context.info.asks_outlet and chosen and chosen[0].location.source:
            pieces.append(f"Reported by {chosen[0].location.source} [1].")
        sentences = [AnswerSentence(text=c.text, citations=(n,)) for n, c in numbered]
        pieces += [f"{s.text} [{s.citations[0]}]" for s in sentences]
        text = ""
        for piece in pieces:
            delta = piece if not text else " " + piece
            text += delta
            yield Event.delta(delta)
        if conflicts:
            delta = "\n\n" + " ".join(c.note for c in conflicts)
            text += delta
            yield Event.delta(delta)
        yield Event.final(Draft(status=ANSWERED, text=text, citations=tuple(citations),
                                conflicts=tuple(conflicts), sentences=tuple(sentences)))
