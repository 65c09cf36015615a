"""Conflicting sources: sentences from different articles that give different figures for the same
thing ("64 Ukrainian drones" / "55 Ukrainian drones"), or, asked "who", name different people in
nearly the same statement.

Figures and names come from the facts the language layer stored for each sentence
(``index.language``): a figure is a number with what it counts. Two figures conflict when they come
from different articles and count the unit the question asks about ("how many drones" -> drone) or,
when the question names no unit, count the same thing in sentences that say nearly the same
(embedding cosine >= ``Tuning.conflict_similar``). Parts of a whole ("25 of these drones") are never rivals.

Every conflict names the outlet and date of each side. It is a disagreement ("Sources disagree")
only when the dates show the reports are about the same day; otherwise "Reports differ": two undated
reports of "the night" may well describe different nights. When every side comes from one outlet,
or from one story (syndicated copies, ``index.stories``), on different days, the later figure is an
update, not a disagreement: "Figure updated: 55 (Outlet, 2023-10-04) → 64 (Outlet, 2023-10-05)".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from index.figures import Figure, figures
from rag.direct import linked
from rag.evidence import Candidate
from rag.question import ORGANISATION, PERSON, Question
from rag.tuning import Tuning
from rag.types import DIFFER, DISAGREE, UPDATED, Claim, Conflict

_BARE = {"$", "%"}  # a bare "$" or "%" says too little to tell two figures are about the same thing


def _figures(candidate: Candidate) -> tuple[Figure, ...]:
    return candidate.facts.figures or tuple(figures(candidate.text))


def describe(candidate: Candidate) -> str:
    """"Miami News, KMIA, 2023-10-05" / "outlet unknown, undated": where a claim comes from."""
    outlet = candidate.location.source or "outlet unknown"
    day = candidate.day
    return f"{outlet}, {day.isoformat() if day else 'undated'}"


def kind_of(sides: Sequence[Candidate]) -> str:
    """``DISAGREE`` when every side is dated and all on the same day; else ``DIFFER``."""
    days = {c.day for c in sides}
    return DISAGREE if len(days) == 1 and None not in days else DIFFER


def updated(sides: Sequence[Candidate]) -> bool:
    """Every side from one outlet, or one story, each on a day of its own: a figure updated."""
    days = [c.day for c in sides]
    if None in days or len(set(days)) < len(days):
        return False
    outlets = {(c.location.source or "").casefold() for c in sides}
    stories = {c.story for c in sides}
    return (len(outlets) == 1 and "" not in outlets) or (len(stories) == 1 and None not in stories)


def note(kind: str, claims: Sequence[tuple[int, Candidate, str]]) -> str:
    if kind == UPDATED:
        ordered = sorted(claims, key=lambda item: item[1].day)
        steps = " → ".join(f"{text} ({describe(c)}) [{n}]" for n, c, text in ordered)
        return f"Figure updated: {steps}."
    heading = "Sources disagree" if kind == DISAGREE else "Reports differ"
    listed = "; ".join(f"{text} — {describe(c)} [{n}]" for n, c, text in claims)
    return f"{heading}: {listed}."


def find_conflicts(question: Question, cited: Sequence[tuple[int, Candidate]], *, tuning: Tuning,
                   names_of: Callable[[str], dict] | None = None) -> list[Conflict]:
    """Conflicts among the cited sentences, each side with its own citation number (``names_of``:
    the articles' name indexes and the library's short-form links, ``rag.pipeline``)."""
    found: dict[str, list[tuple[int, Candidate, Figure]]] = {}
    for n, candidate in cited:
        for figure in _figures(candidate):
            if figure.part:
                continue
            for unit in figure.units:
                found.setdefault(unit, []).append((n, candidate, figure))
    conflicts: list[Conflict] = []
    used: set[int] = set()
    units = [question.unit] if question.unit else sorted(u for u in found if u not in _BARE)
    for unit in units:
        claims: list[tuple[int, Candidate, Figure]] = []
        for n, candidate, figure in found.get(unit, []):
            if any(figure.value == f.value for _, _, f in claims):
                continue
            rivals = [c for _, c, f in claims if f.value != figure.value and not (c.article_ids & candidate.article_ids)
                      and (question.unit or _similar(c, candidate, tuning.conflict_similar))]
            if not claims or rivals:
                claims.append((n, candidate, figure))
        if len(claims) < 2 or any(n in used for n, _, _ in claims):
            continue
        if len({min(c.article_ids) for _, c, _ in claims}) < 2:
            continue
        used.update(n for n, _, _ in claims)
        claims.sort(key=lambda item: item[0])
        kind = UPDATED if updated([c for _, c, _ in claims]) else kind_of([c for _, c, _ in claims])
        conflicts.append(Conflict(claims=tuple(Claim(n=n, text=f.phrase) for n, _, f in claims),
                                  note=note(kind, [(n, c, f.phrase) for n, c, f in claims]), kind=kind))
    return conflicts + find_name_conflicts(question, cited, tuning=tuning, names_of=names_of)


def _names(candidate: Candidate, exclude: set[str], names_of: Callable[[str], dict] | None = None
           ) -> list[tuple[str, str]]:
    """People and organisations the sentence names that the question does not: ``(as written, the
    full form a short one is linked to at ingest)`` ("Fed", "Federal Reserve"; ``rag.direct.linked``)."""
    from index.names import word_keys

    out = []
    for mention in candidate.facts.names({"PERSON", "ORG"}):
        full = (linked(mention, candidate, names_of) if names_of is not None else None) or mention.text
        if not word_keys(mention.text) & exclude and not word_keys(full) & exclude:
            out.append((mention.text, full))
    return out


def _frame(sentence: str, found: list[str]) -> set[str]:
    """The words of a sentence around its names: "X won the election in Springfield"."""
    for name in found:
        sentence = sentence.replace(name, " ")
    return set(re.findall(r"\w+", sentence.lower()))


def find_name_conflicts(question: Question, cited: Sequence[tuple[int, Candidate]], *, tuning: Tuning,
                        names_of: Callable[[str], dict] | None = None) -> list[Conflict]:
    """"Who won?": two nearly identical sentences (``Tuning.same_frame`` of their words, names aside)
    from different articles naming different people ("the Fed" and "the Federal Reserve" are one,
    by the links made at ingest)."""
    from index.names import word_keys

    if question.answer_type not in {PERSON, ORGANISATION}:
        return []
    exclude = word_keys(question.text)
    named = [(n, c, _names(c, exclude, names_of)) for n, c in cited]
    for i, (n1, c1, names1) in enumerate(named):
        for n2, c2, names2 in named[i + 1:]:
            if not names1 or not names2 or c1.article_ids & c2.article_ids:
                continue
            keys1 = set().union(*(word_keys(full) for _, full in names1))
            keys2 = set().union(*(word_keys(full) for _, full in names2))
            only1 = [x for x, full in names1 if not word_keys(full) & keys2]
            only2 = [x for x, full in names2 if not word_keys(full) & keys1]
            frame1, frame2 = _frame(c1.text, [x for x, _ in names1]), _frame(c2.text, [x for x, _ in names2])
            if not only1 or not only2 or len(frame1 & frame2) < tuning.same_frame * len(frame1 | frame2):
                continue  # no name of its own each, or not the same statement about different names
            kind = kind_of([c1, c2])
            sides = [(n1, c1, only1[0]), (n2, c2, only2[0])]
            return [Conflict(claims=(Claim(n=n1, text=only1[0]), Claim(n=n2, text=only2[0])),
                             note=note(kind, sides), kind=kind)]
    return []


def _similar(a: Candidate, b: Candidate, least: float) -> bool:
    if a.vector is None or b.vector is None:
        return False
    return float(a.vector @ b.vector) >= least
