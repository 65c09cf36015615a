"""Conflicting sources: sentences from different articles that give different figures for the same
thing ("64 Ukrainian drones" / "55 Ukrainian drones").

A figure is a number with the words that follow it (its unit). Two figures conflict when they come
from different articles, share the unit the question asks about ("how many drones" -> drone) or,
when the question names no unit, share a unit and come from sentences that say nearly the same
thing (embedding cosine >= ``SIMILAR``). Parts of a whole ("25 of these drones") and years are not
figures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.text import STOPWORDS, analyze
from rag.evidence import Candidate
from rag.question import QuestionInfo
from rag.types import Claim, Conflict

SIMILAR = 0.7
_NUMBER = re.compile(r"(?<![\w.,-])(\$)?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w]|[.,]\d)")
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "m": 1e6, "bn": 1e9,
          "k": 1e3}
_PERCENT = {"%", "percent", "per cent"}
_FOLLOWING = re.compile(r"\s*(%|per cent|[A-Za-z][\w-]*)")


@dataclass(frozen=True)
class Figure:
    value: float
    phrase: str  # "64 Ukrainian drones"
    units: frozenset[str]  # stems of the words after the number
    part: bool = False  # "25 of these drones": a part of a total, never a rival figure


def figures(sentence: str) -> list[Figure]:
    out = []
    for match in _NUMBER.finditer(sentence):
        raw = match.group(2)
        value = float(raw.replace(",", ""))
        if "," not in raw and "." not in raw and 1900 <= value <= 2100 and len(raw) == 4:
            continue  # a year
        position, following = match.end(), []
        first = _FOLLOWING.match(sentence, position)
        part = bool(first) and first.group(1).lower() in {"of", "out"}
        if part:  # "25 of these drones": a part of a total; its unit is read after "of these"
            position = first.end()
            while (word := _FOLLOWING.match(sentence, position)) and word.group(1).lower() in STOPWORDS:
                position = word.end()
        while len(following) < 3:
            word = _FOLLOWING.match(sentence, position)
            if not word or word.group(1).lower() in STOPWORDS - _SCALE.keys():
                break  # "55 Ukrainian drones | over Russian territory"
            following.append(word.group(1))
            position = word.end()
        lowered = [w.lower() for w in following]
        if lowered and lowered[0] in _SCALE:
            value *= _SCALE[lowered[0]]
        units = frozenset(analyze(" ".join(w for w in following if w.lower() not in _SCALE)))
        if match.group(1):
            units |= {"$"}
        if lowered and lowered[0] in _PERCENT:
            units |= {"%"}
        phrase = sentence[match.start():position].strip()
        out.append(Figure(value, phrase, units, part))
    return out


def find_conflicts(info: QuestionInfo, cited: Sequence[tuple[int, Candidate]]) -> list[Conflict]:
    """Conflicts among the cited sentences, each claim with its own citation number."""
    found: dict[str, list[tuple[int, Candidate, Figure]]] = {}
    for n, candidate in cited:
        for figure in figures(candidate.text):
            if figure.part:
                continue
            for unit in figure.units:
                found.setdefault(unit, []).append((n, candidate, figure))
    conflicts: list[Conflict] = []
    used: set[int] = set()
    units = [info.unit] if info.unit else sorted(found)
    for unit in units:
        entries = found.get(unit, [])
        claims: list[tuple[int, Candidate, Figure]] = []
        for n, candidate, figure in entries:
            if any(figure.value == f.value for _, _, f in claims):
                continue
            rivals = [c for _, c, f in claims if f.value != figure.value
                      and not (c.article_ids & candidate.article_ids)
                      and (info.unit or _similar(c, candidate))]
            if not claims or rivals:
                claims.append((n, candidate, figure))
        if len(claims) < 2 or any(n in used for n, _, _ in claims):
            continue
        if len({min(c.article_ids) for _, c, _ in claims}) < 2:
            continue
        used.update(n for n, _, _ in claims)
        listed = " vs ".join(f"{f.phrase} [{n}]" for n, _, f in claims)
        conflicts.append(Conflict(claims=tuple(Claim(n=n, text=f.phrase) for n, _, f in claims),
                                  note=f"Sources disagree: {listed}."))
    return conflicts


def _similar(a: Candidate, b: Candidate) -> bool:
    if a.vector is None or b.vector is None:
        return False
    return float(a.vector @ b.vector) >= SIMILAR
