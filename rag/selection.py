"""Stage 5, select: the evidence sentences an answer quotes, claim by claim (``select``), and the
order it gives them in (``ordered``). Both answerers read these: the extractive one quotes them,
an LLM is shown them.

Every claim of the question gets its best evidence sentence before any claim gets a second one
(from a report not quoted yet, if one is close; from a report a claim only names, what the question
asks; a claim naming an outlet and no day: the best of the outlet's two best reports; a yes/no
question comparing the reports it pins: those reports only); then the next best sentences are
added without repeating (a question of several claims: only from reports not quoted yet); every
outlet the question names is covered and, in a question of one claim, every name the evidence
holds; and the other side of a conflicting figure is added. Sentences of nearly the same weight
are taken in the ranking's order. The weights and floors are ``Tuning``'s select fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from index.figures import counts
from rag.evidence import Candidate
from rag.question import NUMBER, ORGANISATION, OUTLET, PERSON, PLACE, YES_NO, Question
from rag.tuning import Tuning


@dataclass(frozen=True)
class Pick:
    candidate: Candidate
    claim: int | None = None  # the index of the question's claim it was chosen for


def _totals(text: str, unit: str) -> set[float]:
    return {f.value for f in counts(text, unit) if not f.part}


def select(question: Question, cands: Sequence[Candidate], *, tuning: Tuning, max_sentences: int) -> list[Pick]:
    """The answer sentences: the best one, each claim's best, then the next best ones, at most
    ``max_sentences`` (more for a question of many claims, and for the outlets, names and figures
    it asks about)."""
    t = tuning
    unit = question.unit if question.answer_type == NUMBER else None

    def weight(c: Candidate) -> float:  # "how many X": a sentence giving a number of X answers better
        relevance = (1 - t.claim_share) * c.score + t.claim_share * max(c.parts) if c.parts else c.score
        return relevance * (1.0 if not unit or counts(c.text, unit) else t.no_number)

    ranked = sorted(cands, key=lambda c: (-weight(c) * (1 - t.rank_prior * c.rank), c.rank, c.location.start))
    if not ranked:
        return []
    best = ranked[0]
    parts = question.parts if len(question.parts) > 1 else ()
    chosen = [Pick(best, claim_of(best))]
    floor = max(t.refusal_threshold, t.relative_floor * weight(best))
    single_article = len({c.location.article_id for c in ranked}) == 1
    # a name or figure often sits in the sentence beside the one describing it; a yes/no question
    # is answered by what each report says, so it reads one sentence from each of more reports
    per_article = t.per_report if question.answer_type == YES_NO else t.per_article
    limit = max_sentences + max(0, len(parts) - t.claims_within_limit)

    # A question naming its outlets asks what those outlets said. On the dev slice the name step had
    # quoted 16 sentences, none gold evidence, 13 of them from outlets the question did not name;
    # with this, citation precision 0.339 -> 0.350 (comparison questions 0.369 -> 0.396).
    def named(c: Candidate) -> bool:
        return not question.outlets or any(c.from_outlet(o) for o in question.outlets)

    def quoted(c: Candidate) -> bool:  # from a report already quoted
        return any(p.candidate.article_ids & c.article_ids for p in chosen)

    def taken(c: Candidate) -> bool:
        return any(p.candidate is c for p in chosen)

    def fits(c: Candidate, *, new_figure: bool = False) -> bool:
        if taken(c) or len(chosen) >= limit + t.extra_sentences:
            return False
        if not new_figure and any(c.vector is not None and p.candidate.vector is not None
               and float(c.vector @ p.candidate.vector) > t.redundant for p in chosen):
            return False
        same = sum(1 for p in chosen if p.candidate.location.article_id == c.location.article_id)
        return single_article or same < per_article

    # every claim its best sentence, before any claim gets a second one. A yes/no question comparing
    # reports it pins by outlet or day ("Between the Sporting News report on ... and the one on ...,
    # was the reporting consistent?") is answered by what each of those reports says: its claims
    # pinning none ("was the reporting consistent") get no sentence of their own (on the dev slice
    # such sentences were gold evidence 11-15 % of the time; citation precision 0.372 -> 0.384).
    # An outlet often runs several reports on one story, and a claim naming the outlet but no day
    # ("while the TechCrunch articles allege ...") may mean any of them: it also gets the best
    # sentence of the outlet's next report, if close (evidence coverage 0.773 -> 0.785, citation
    # precision 0.384 -> 0.375: one report in three of those is gold evidence)
    pinned = {j for j, part in enumerate(parts) if part.outlets or part.days}
    for j in range(len(parts)):
        if question.answer_type == YES_NO and pinned and j not in pinned:
            continue
        top = max(c.parts[j] for c in ranked)
        by_claim = sorted(ranked, key=lambda c: -c.parts[j])
        if not any(p.claim == j for p in chosen):
            near = [c for c in by_claim if c.parts[j] >= t.claim_floor * top and weight(c) >= t.side_floor * floor]
            pick = next((c for c in near if c.parts[j] >= t.claim_new_report * top and not quoted(c) and fits(c)),
                        None) or next((c for c in near if fits(c)), None)
            if pick is None:
                continue
            # a claim that only names a report ("the Sporting News report on NBA betting sites published
            # on October 2") chose that report; what to quote from it is what the question asks. On the
            # dev slice: temporal citation precision 0.246 -> 0.266, the rest unchanged
            if parts[j].names_report:
                pick = next(c for c in ranked if c.location.article_id == pick.location.article_id and fits(c))
            chosen.append(Pick(pick, j))
        if parts[j].outlets and not parts[j].days:
            other = next((c for c in by_claim if c.parts[j] >= t.other_report * top
                          and any(c.from_outlet(o) for o in parts[j].outlets)
                          and not quoted(c) and fits(c)), None)
            if other is not None:
                chosen.append(Pick(other, j))
    # further sentences: from the outlets the question names, if it names some (the best sentence
    # and each claim's may come from any: an outlet's report can be carried by another). "How many
    # X": they give a number of X too; a total asks for other totals, not for parts of it ("25 of
    # these drones")
    needs_figure = bool(unit) and bool(counts(best.text, unit))
    needs_total = bool(unit) and bool(_totals(best.text, unit))
    for c in ranked[1:]:
        if len(chosen) >= limit:
            break
        # the sentence right after the best one often completes it ("The statement described ...")
        follows = c.before == best.text and c.location.article_id == best.location.article_id
        if parts and quoted(c):
            continue  # a question of several claims: only another report, at multi_claim_floor
        share = (t.multi_claim_floor if parts else t.next_floor if follows
                 else t.quoted_report_floor if quoted(c) else t.new_report_floor)
        if weight(c) < max(t.refusal_threshold, share * weight(best)):
            continue
        if not fits(c) or not named(c) or needs_figure and not counts(c.text, unit):
            continue
        if needs_total and not _totals(c.text, unit):
            continue
        chosen.append(Pick(c, claim_of(c)))
    # every outlet the question names
    for outlet in question.outlets:
        if any(p.candidate.from_outlet(outlet) for p in chosen):
            continue
        pick = next((c for c in ranked if c.from_outlet(outlet) and weight(c) >= t.side_floor * floor and fits(c)),
                    None)
        if pick:
            chosen.append(Pick(pick, claim_of(pick)))
    # every name some evidence from the named outlets covers. A question of several claims has had
    # each claim's sentence, chosen for the claim's words, its names among them: a sentence for a
    # name alone was gold evidence 1 time in 16 on the dev slice, from another report 13 times
    # (without: citation precision 0.387 -> 0.397, evidence coverage 0.812 -> 0.809)
    covered = set().union(*(p.candidate.names for p in chosen))
    for i in range(len(question.names)) if not parts else ():
        if i in covered:
            continue
        pick = next((c for c in ranked if i in c.names and weight(c) >= t.side_floor * floor and fits(c)
                     and named(c)), None)
        if pick:
            chosen.append(Pick(pick, claim_of(pick)))
            covered |= pick.names
    # the other side of a figure the question asks about (about the same place, when it names one)
    places = [n for n in question.names if n.place]
    if unit:
        values = set().union(*(_totals(p.candidate.text, unit) for p in chosen))
        articles = set().union(*(p.candidate.article_ids for p in chosen))
        for c in ranked:
            if weight(c) < t.other_side_floor * floor or c.article_ids & articles \
                    or not all(p.found_in(c.keys) for p in places):
                continue
            theirs = _totals(c.text, unit)  # a figure of its own: never redundant (an update, a rival)
            if theirs and not theirs & values and fits(c, new_figure=True):
                chosen.append(Pick(c, claim_of(c)))
                values |= theirs
                articles |= c.article_ids
    return chosen


def claim_of(c: Candidate) -> int | None:
    """The claim of the question the sentence answers best (``None`` for a question of one)."""
    if not c.parts:
        return None
    return max(range(len(c.parts)), key=lambda j: c.parts[j])


def ordered(question: Question, picks: list[Pick]) -> list[Pick]:
    """A question about time reads its evidence in order of publication (undated last); a
    question asking for a name or a figure keeps the best first."""
    if not question.about_time or question.answer_type in {PERSON, ORGANISATION, PLACE, NUMBER, OUTLET}:
        return picks
    return sorted(picks, key=lambda p: (p.candidate.day is None, p.candidate.day or 0))
