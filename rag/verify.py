"""Checking an LLM's citations against the passages it cites.

The model writes sentences with ``[n]`` markers pointing at numbered passages. Unknown numbers are
removed. A sentence is *supported* when its figures and names all occur in the passages it cites
and most of its content words do; otherwise it is flagged with the reason (or dropped, by setting).
Every cited passage is then narrowed to the one sentence of it that best backs the claim, so LLM
answers carry the same sentence-level citations as extractive ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.chunking import split_sentences
from index.language import word_keys as token_prefixes
from index.text import STOPWORDS, analyze
from rag.evidence import Candidate

MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"\b[A-Z][\w’'-]*[\w]")
MIN_TERM_SHARE = 0.5


@dataclass(frozen=True)
class ClaimSentence:
    text: str  # the sentence without its markers
    cited: tuple[int, ...]  # valid passage numbers, in order
    unknown: tuple[int, ...] = ()  # numbers that point at no passage (removed)


def parse_citations(text: str, n_passages: int) -> list[ClaimSentence]:
    """Sentences of a generated answer with the passage numbers each cites."""
    out = []
    for start, end in split_sentences(text.strip()):
        raw = text.strip()[start:end]
        numbers = [int(n) for group in MARKER.findall(raw) for n in re.split(r"[,;]", group)]
        clean = " ".join(MARKER.sub("", raw).split())
        clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
        if not clean or clean in {".", "!", "?"}:
            continue
        valid = tuple(dict.fromkeys(n for n in numbers if 1 <= n <= n_passages))
        unknown = tuple(dict.fromkeys(n for n in numbers if not 1 <= n <= n_passages))
        out.append(ClaimSentence(clean, valid, unknown))
    return out


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def _names(sentence: str) -> list[str]:
    names = []
    for match in _NAME.finditer(sentence):
        before = sentence[:match.start()].rstrip()
        if not before or before[-1] in ".!?:\"“(":
            continue  # capitalised only because a sentence starts here
        if match.group().lower() not in STOPWORDS:
            names.append(match.group())
    return names


def support(sentence: str, passages: list[str]) -> tuple[bool, str | None]:
    """Whether ``passages`` back ``sentence``: every figure and name, and most content words."""
    if not passages:
        return False, "it cites no passage"
    sentence = MARKER.sub("", sentence)
    evidence = " ".join(passages)
    missing_figures = sorted(_numbers(sentence) - _numbers(evidence))
    if missing_figures:
        return False, f"the figure {missing_figures[0]} is not in the cited passages"
    prefixes = token_prefixes(evidence)
    for name in _names(sentence):
        if not token_prefixes(name) <= prefixes:
            return False, f"'{name}' is not in the cited passages"
    terms = set(analyze(sentence))
    if len(terms) >= 3:
        found = terms & set(analyze(evidence))
        if len(found) / len(terms) < MIN_TERM_SHARE:
            return False, (f"only {len(found)} of its {len(terms)} key terms occur in the cited passages")
    return True, None


def best_quote(sentence: str, pool: list[Candidate]) -> Candidate | None:
    """The evidence sentence (of one passage) that best backs ``sentence``: shared figures and
    content words, then the retrieval score."""
    if not pool:
        return None
    terms, figures = set(analyze(sentence)), _numbers(sentence)

    def fit(c: Candidate) -> tuple:
        return (len(figures & _numbers(c.text)), len(terms & set(analyze(c.text))), c.score)

    return max(pool, key=fit)
