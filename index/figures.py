"""The figures of a sentence, read without a model: every number (digits or words: "fifty-five",
"two hundred and ten", "$5bn") with the words after it, read as what it counts ("64 Ukrainian
drones" -> 64, units {"ukrainian", "drone"}). Stored at ingest with each sentence's facts
(``index.language.annotate``) and read again by the answer (the unit a "how many" question asks).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.text import STOPWORDS, normalize_word, stem

_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "m": 1e6, "bn": 1e9, "k": 1e3,
          "mn": 1e6, "hundred": 1e2, "dozen": 12}


_UNITS_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                "fifteen sixteen seventeen eighteen nineteen").split()


_TENS_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


_NUMBER_WORDS = {w: i for i, w in enumerate(_UNITS_WORDS)} | {w: 10 * (i + 2) for i, w in enumerate(_TENS_WORDS)}


_SCALE_WORDS = {w: _SCALE[w] for w in ("hundred", "thousand", "million", "billion", "trillion")}


# Words that stand for a vague number by themselves.
_COLLECTIVE = {"a dozen": 12, "dozens": 24, "hundreds": 200, "thousands": 2000, "millions": 2e6}


_COLLECTIVE_RE = re.compile(r"(?<![\w-])(" + "|".join(_COLLECTIVE) + r")(?![\w-])", re.IGNORECASE)


_WORD_RE = re.compile(r"[A-Za-z]+")


# "$5bn" and "£3m" carry their scale in a suffix; without a currency only "bn"/"mn" are read so
# ("a 5m wall" is metres).
_DIGITS = re.compile(r"(?<![\w.,-])(\$|€|£)?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
                     r"(?(1)(?!(?!(?:bn|mn|m|k)\b)\w|[.,]\d)|(?!(?!(?:bn|mn)\b)\w|[.,]\d))")


# List numbering, not a figure: "1) The report ...", "... and 2) the other", a list opened at the end
# of a sentence ("... the charges he faces: 1."; a list starts at 1, "The answer is: 55." is a figure).
_ENUMERATOR = re.compile(r"(?:^\s*|[:;,]\s*|\b(?:and|or)\s+)\(?(\d{1,2})\)|:\s*(1)\.\s*$")


_FOLLOWING = re.compile(r"\s*(%|per cent|percent|[A-Za-z][\w'’-]*)")


# What a figure counts ends at a function word ("55 Ukrainian drones | over Russian territory"): the
# stop words of the lexical analyzer (index.text), with modal verbs and a few prepositions of place
# and time, but not the words that never follow a number in a count (pronouns, contractions) nor
# those that can be part of what is counted ("25 down", "many", "according").
_STOP_AFTER = (STOPWORDS | {"along", "among", "around", "may", "might", "must", "since"}) - frozenset(
    """according again am aren't didn't doesn't doing don't down further having hers herself him himself
    isn't it's let many myself ours ourselves say theirs themselves wasn't weren't yours yourself
    yourselves""".split())


_PERCENT = {"%", "per cent", "percent"}


@dataclass(frozen=True)
class Figure:
    """A number in a sentence and what it counts: "64 Ukrainian drones" -> value 64, units
    {"ukrainian", "drone"} (the stems of the words after it, up to a function word; "%" and "$"
    for percentages and money)."""

    value: float
    phrase: str
    start: int  # character offsets of ``phrase`` in the sentence
    end: int
    units: frozenset[str] = frozenset()
    part: bool = False  # "25 of these drones": a part of some total, never a rival figure

    def to_list(self) -> list:
        return [self.value, self.phrase, self.start, self.end, sorted(self.units), int(self.part)]

    @classmethod
    def from_list(cls, row: Sequence) -> Figure:
        value, phrase, start, end, units, part = row
        return cls(float(value), phrase, int(start), int(end), frozenset(units), bool(part))


def _stem(word: str) -> str:
    return stem(normalize_word(word))


def figures(sentence: str, *, years: bool = False) -> list[Figure]:
    """Every number of ``sentence`` (digits or words: "fifty-five", "two hundred and ten", "$5bn";
    years left out unless ``years``; list numbering never) with the words that follow it, read as
    what it counts. "$394 million in operating income" is 394e6 with unit "$"; "38%" is 38 with
    unit "%"; "25 of these drones" is a part (of a total) counting drones."""
    found: list[tuple[int, int, float, str | None]] = []  # start, end, value, currency
    listed = {m.start(g) for m in _ENUMERATOR.finditer(sentence) for g in (1, 2) if m.group(g)}
    for match in _DIGITS.finditer(sentence):
        raw = match.group(2)
        value = float(raw.replace(",", ""))
        if match.start(2) in listed:
            continue
        if (not years and "," not in raw and "." not in raw and len(raw) == 4 and 1900 <= value <= 2100
                and not match.group(1)):
            continue  # a year
        found.append((match.start(), match.end(), value, match.group(1)))
    for start, end, value in _spelt(sentence):
        found.append((start, end, value, None))
    for match in _COLLECTIVE_RE.finditer(sentence):
        if match.group(1).lower() == "a dozen" and not _counts_next(sentence, match.end()):
            continue
        found.append((match.start(), match.end(), float(_COLLECTIVE[match.group(1).lower()]), None))
    out = []
    for start, end, value, currency in sorted(found):
        position, following = end, []
        first = _FOLLOWING.match(sentence, position)
        part = bool(first) and first.group(1).lower() in {"of", "out"}
        if part:  # "25 of these drones": the unit is read after "of these"
            position = first.end()
            while (word := _FOLLOWING.match(sentence, position)) and word.group(1).lower() in _STOP_AFTER:
                position = word.end()
        while len(following) < 4:
            word = _FOLLOWING.match(sentence, position)
            if not word or (word.group(1).lower() in _STOP_AFTER and word.group(1).lower() not in _SCALE):
                break  # "55 Ukrainian drones | over Russian territory"
            following.append(word.group(1))
            position = word.end()
        lowered = [w.lower() for w in following]
        if lowered and lowered[0] in _SCALE:
            value *= _SCALE[lowered[0]]
            lowered, following = lowered[1:], following[1:]
        units = {_stem(w) for w in following if w.lower() not in _PERCENT and not w.isdigit()}
        units.discard("")
        if currency:
            units.add("$")
        if lowered and lowered[0] in _PERCENT:
            units.add("%")
        out.append(Figure(value, sentence[start:position].strip(), start, position, frozenset(units), part))
    return out


def _counts_next(sentence: str, end: int) -> bool:
    word = _FOLLOWING.match(sentence, end)
    return bool(word) and word.group(1).lower() not in _STOP_AFTER


def _spelt(sentence: str) -> list[tuple[int, int, float]]:
    """Numbers in words, as ``(start, end, value)``: a run of number words joined by spaces, hyphens
    or an "and" after a scale word ("fifty-five", "two hundred and ten", "three million"). A run
    starts with a number word (a lone "million" is vague); a lone "one" counts only before what it
    counts ("one drone", not "one of the largest")."""
    words = [(m.start(), m.end(), m.group().lower()) for m in _WORD_RE.finditer(sentence)]
    out: list[tuple[int, int, float]] = []
    i = 0
    while i < len(words):
        start, end, word = words[i]
        if word not in _NUMBER_WORDS:
            i += 1
            continue
        total, current, last = 0.0, float(_NUMBER_WORDS[word]), i
        j = i + 1
        while j < len(words):
            gap = sentence[words[j - 1][1]:words[j][0]]
            nxt = words[j][2]
            if nxt == "and" and words[j - 1][2] in _SCALE_WORDS and j + 1 < len(words) \
                    and words[j + 1][2] in _NUMBER_WORDS and gap.strip() == "":
                j += 1  # "two hundred and ten"
                continue
            if gap.strip() not in {"", "-"} or not (nxt in _NUMBER_WORDS or nxt in _SCALE_WORDS):
                break
            if nxt == "hundred":
                current = (current or 1) * 100
            elif nxt in _SCALE_WORDS:
                total, current = total + (current or 1) * _SCALE_WORDS[nxt], 0.0
            else:
                current += _NUMBER_WORDS[nxt]
            last = j
            j += 1
        if not (last == i and word == "one" and not _counts_next(sentence, end)):
            out.append((start, words[last][1], total + current))
        i = last + 1
    return out


def counts(sentence: str, unit: str) -> list[Figure]:
    """The figures of ``sentence`` that count ``unit`` (a stem)."""
    return [f for f in figures(sentence) if unit in f.units]
