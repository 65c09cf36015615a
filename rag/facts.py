"""What a sentence states that can be checked against a source: its figures, names and key terms.

This is the small interface the LLM verifier (``rag/verify.py``) reads sentences through. Figures
are values, however they are written: "55", "fifty-five", "2,000", "1.5 million" and "1,500,000"
are compared as numbers. Names are capitalised words and runs of them ("Miami News", "S-400"), a
lone capitalised word opening a sentence excepted. Key terms are stemmed content words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from index.language import word_keys as token_prefixes
from index.text import STOPWORDS, analyze

_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_NUMBER_WORDS = {**_UNITS, **_TENS, **_SCALES, "dozen": 12}
_DIGITS = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)")
_TOKEN = re.compile(r"[A-Za-z]+|\d[\d.,]*|[^\sA-Za-z\d]")
_SCALE_AFTER = re.compile(r"\s*(hundred|thousand|million|billion|trillion)\b|(bn|m)\b", re.IGNORECASE)
_SHORT_SCALE = {"bn": 1e9, "m": 1e6}
# List numbering, not a figure: "1) The report ...", "... and 2) the other", a list opened at the
# end of a sentence ("... the charges he faces: 1.", a list starts at 1; "The answer is: 55." is a figure).
_ENUMERATOR = re.compile(r"(^\s*|[:;,]\s*|\b(?:and|or)\s+)\(?\d{1,2}\)|:\s*1\.\s*$")
_NAME = re.compile(r"(?<![\w.])[A-Z][\w’'-]*(?:\s+(?:[A-Z][\w’'-]*|(?:of|de|van|von|al)\b))*(?<![\s])")


def _spelt_runs(text: str) -> list[list[str]]:
    """Runs of number words: "fifty-five", "two hundred and ten", "three million"."""
    runs: list[list[str]] = []
    run: list[str] = []
    tokens = [m.group() for m in _TOKEN.finditer(text)]
    for i, token in enumerate(tokens):
        word = token.lower()
        nxt = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
        if word in _NUMBER_WORDS and not (run == [] and i and tokens[i - 1][0].isdigit()):
            run.append(word)
        elif run and (token == "-" or word == "and" and run[-1] in _SCALES) and nxt in _NUMBER_WORDS:
            continue  # "fifty-five", "two hundred and ten"
        else:
            if run:
                runs.append(run)
            run = []
    if run:
        runs.append(run)
    return runs


def _spelt_value(run: list[str]) -> float:
    """["fifty", "five"] -> 55, ["two", "hundred", "ten"] -> 210, ["three", "million"] -> 3e6."""
    total, current = 0.0, 0.0
    for word in run:
        if word == "dozen":
            current = (current or 1) * 12
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in _SCALES:
            total += (current or 1) * _SCALES[word]
            current = 0.0
        else:
            current += _UNITS.get(word, _TENS.get(word, 0))
    return total + current


def figures(text: str) -> frozenset[float]:
    """The values ``text`` states, in digits or words. A lone "one" is a pronoun as often as a
    number ("one of the largest"), and a lone "million" or "dozen" is vague, so neither counts; list
    numbering ("1) ...", "...: 2.") is no value."""
    found: set[float] = set()
    text = _ENUMERATOR.sub(lambda m: (m.group(1) or "") + " ", text)
    for match in _DIGITS.finditer(text):
        value = float(match.group(1).replace(",", ""))
        scale = _SCALE_AFTER.match(text, match.end())
        if scale:
            word = (scale.group(1) or scale.group(2)).lower()
            value *= _SHORT_SCALE.get(word, _SCALES.get(word, 1))
        found.add(value)
    for run in _spelt_runs(text):
        if len(run) == 1 and (run[0] == "one" or run[0] in _SCALES or run[0] == "dozen"):
            continue
        found.add(_spelt_value(run))
    return frozenset(found)


def names(sentence: str) -> tuple[str, ...]:
    """Capitalised names (stop words dropped: "Ministry of Defense" -> "Ministry Defense"); a single
    word capitalised only because it opens the sentence is not one ("Russia said", but "The S-400")."""
    out = []
    for match in _NAME.finditer(sentence):
        text = match.group()
        content = [w for w in re.findall(r"[\w’'-]+", text) if w.lower() not in STOPWORDS]
        before = sentence[:match.start()].rstrip()
        opens = not before or before[-1] in ".!?:\"“(•*-"
        capitalised_by_position = opens and text.split()[0].lower() not in STOPWORDS
        if not content or capitalised_by_position and len(content) < 2:
            continue
        if all(w.lower() in _NUMBER_WORDS for w in content):
            continue  # "Fifty-five" at the start of a sentence is a figure
        out.append(" ".join(content))
    return tuple(dict.fromkeys(out))


def terms(text: str) -> frozenset[str]:
    """Stemmed content words, without figures (checked as values)."""
    return frozenset(t for t in analyze(text) if not t.isdigit())


@dataclass(frozen=True)
class Facts:
    """What one sentence (or a passage with its metadata) states."""

    figures: frozenset[float]
    names: tuple[str, ...]
    terms: frozenset[str]
    prefixes: frozenset[str]  # word prefixes, for matching names ("Russian" ~ "Russia")
    negation: str | None = None  # the first negating word ("not", "never"): a claim that denies

    @property
    def empty(self) -> bool:
        return not (self.figures or self.names or self.terms)

    def has_name(self, name: str) -> bool:
        return token_prefixes(name) <= self.prefixes

    def __or__(self, other: Facts) -> Facts:
        return Facts(self.figures | other.figures, tuple(dict.fromkeys(self.names + other.names)),
                     self.terms | other.terms, self.prefixes | other.prefixes, self.negation or other.negation)


NO_FACTS = Facts(frozenset(), (), frozenset(), frozenset())


@lru_cache(maxsize=4096)
def facts(text: str) -> Facts:
    return Facts(figures(text), names(text), terms(text), frozenset(token_prefixes(text)), negation(text))


_NEGATION = re.compile(r"\b(not|never|no|none|nobody|nothing|neither|nor|without)\b|n[’']t\b", re.IGNORECASE)
_ANSWER_WORD = re.compile(r"^\s*(?:yes|no)\b[\s,.:;!-]*", re.IGNORECASE)


def negation(text: str) -> str | None:
    """The first word that negates what ``text`` says ("not", "never", "n't" as "not"), or ``None``.
    A reply's opening "No," answers a yes/no question and negates nothing by itself."""
    match = _NEGATION.search(_ANSWER_WORD.sub("", text, count=1))
    if match is None:
        return None
    return (match.group(1) or "not").lower()


def show(value: float) -> str:
    """A figure as a person writes it: 55, 1.5, 2000000."""
    return str(int(value)) if value == int(value) else f"{value:g}"
