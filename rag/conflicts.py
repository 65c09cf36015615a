"""Conflicting sources: sentences from different articles that give different figures for the same
thing ("64 Ukrainian drones" / "55 Ukrainian drones"), or, asked "who", name different people in
nearly the same sentence.

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
SAME_FRAME = 0.7  # share of words two sentences have in common once their names are removed
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


_WORD_NUMBER = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
                "hundred hundreds thousand thousands million millions dozen dozens").split()
_SPELT = re.compile(r"\b(?:" + "|".join(_WORD_NUMBER) + r")\b(?:[\s-]+\w+){0,3}", re.IGNORECASE)


def counts(sentence: str, unit: str) -> bool:
    """Whether ``sentence`` gives a number of ``unit`` (digits or words: "three civilians")."""
    if any(unit in f.units for f in figures(sentence)):
        return True
    return any(unit in analyze(m.group()) for m in _SPELT.finditer(sentence))


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
    # a bare "$" or "%" says too little to tell two figures are about the same thing
    units = [info.unit] if info.unit else sorted(u for u in found if u not in {"$", "%"})
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
    return conflicts + find_name_conflicts(info, cited)


_WHO = re.compile(r"^\s*(who|which\s+(person|man|woman|player|team|company|candidate|party|country))\b",
                  re.IGNORECASE)
_NAME = re.compile(r"(?<![\w.])[A-Z][\w’'-]*(?:\s+(?:[A-Z][\w’'-]*|of|de|van|von|al))*(?<![\s])")


def names(sentence: str, exclude: set[str]) -> list[str]:
    """Capitalised names in ``sentence`` (not at its start) whose words the question lacks."""
    out = []
    for match in _NAME.finditer(sentence):
        before = sentence[:match.start()].rstrip()
        text = match.group()
        words = [w for w in re.findall(r"\w+", text.lower()) if w not in STOPWORDS and len(w) > 1]
        if (not before or before[-1] in ".!?:\"“(") and len(words) < 2:
            continue  # one capitalised word opening a sentence is not a name
        if words and not {w[:5] for w in words} & exclude:
            out.append(text)
    return out


def _name_words(name: str) -> set[str]:
    return {w[:5] for w in re.findall(r"\w+", name.lower())}


def _frame(sentence: str, found: list[str]) -> set[str]:
    """The words of a sentence around its names: "X won the election in Springfield"."""
    for name in found:
        sentence = sentence.replace(name, " ")
    return set(re.findall(r"\w+", sentence.lower()))


def find_name_conflicts(info: QuestionInfo, cited: Sequence[tuple[int, Candidate]]) -> list[Conflict]:
    """"Who won?": two nearly identical sentences from different articles naming different people."""
    if info.unit or not _WHO.match(info.asked):
        return []
    exclude = {w[:5] for w in re.findall(r"\w+", info.text.lower())}
    named = [(n, c, names(c.text, exclude)) for n, c in cited]
    for i, (n1, c1, names1) in enumerate(named):
        for n2, c2, names2 in named[i + 1:]:
            if not names1 or not names2 or c1.article_ids & c2.article_ids:
                continue
            only1 = [x for x in names1 if not _name_words(x) & set().union(*map(_name_words, names2))]
            only2 = [x for x in names2 if not _name_words(x) & set().union(*map(_name_words, names1))]
            frame1, frame2 = _frame(c1.text, names1), _frame(c2.text, names2)
            if not only1 or not only2 or len(frame1 & frame2) < SAME_FRAME * len(frame1 | frame2):
                continue  # no name of its own each, or not the same statement about different names
            claims = (Claim(n=n1, text=only1[0]), Claim(n=n2, text=only2[0]))
            return [Conflict(claims=claims, note=f"Sources disagree: {only1[0]} [{n1}] vs {only2[0]} [{n2}].")]
    return []


def _similar(a: Candidate, b: Candidate) -> bool:
    if a.vector is None or b.vector is None:
        return False
    return float(a.vector @ b.vector) >= SIMILAR
