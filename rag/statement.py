"""What a sentence states that can be checked against a source (a ``Statement``): its figures,
names and key terms. (Not the facts stored at ingest, ``index.language.Facts``, which it reads.)

This is the small interface the LLM verifier (``rag/verify.py``) reads sentences through; the
reading itself is the language layer's (``index.language``). Figures are values, however they are
written: "55", "fifty-five", "2,000", "1.5 million", "$5bn" and "1,500,000" are compared as
numbers, years included. Names are the named entities the recognizer finds, read only when asked
for (a claim's names are checked against the words of its sources, which need no recognizer). Key
terms are stemmed content words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from index.figures import figures as read_figures
from index.language import annotate
from index.names import word_keys as token_prefixes
from index.text import STOPWORDS, analyze


def figures(text: str) -> frozenset[float]:
    """The values ``text`` states, in digits or words, years included; list numbering ("1) ...",
    "...: 1.") is no value."""
    return frozenset(f.value for f in read_figures(text, years=True))


def names(sentence: str) -> tuple[str, ...]:
    """The names the recognizer finds in ``sentence`` (people, organisations, places, products,
    events ...), as their content words ("the Ministry of Defense" -> "Ministry Defense")."""
    (found,) = annotate([sentence])
    out = []
    for mention in found.names():
        content = [w for w in re.findall(r"[\w’'-]+", mention.text) if w.lower() not in STOPWORDS]
        if content:
            out.append(" ".join(content))
    return tuple(dict.fromkeys(out))


def terms(text: str) -> frozenset[str]:
    """Stemmed content words, without figures (checked as values)."""
    return frozenset(t for t in analyze(text) if not t.isdigit())


@dataclass(frozen=True)
class Statement:
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

    def __or__(self, other: Statement) -> Statement:
        return Statement(self.figures | other.figures, tuple(dict.fromkeys(self.names + other.names)),
                     self.terms | other.terms, self.prefixes | other.prefixes, self.negation or other.negation)


NOTHING = Statement(frozenset(), (), frozenset(), frozenset())


@lru_cache(maxsize=4096)
def statement(text: str, *, with_names: bool = False) -> Statement:
    """What ``text`` states; its names only ``with_names`` (they cost a run of the recognizer)."""
    return Statement(figures(text), names(text) if with_names else (), terms(text), frozenset(token_prefixes(text)),
                 negation(text))


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
