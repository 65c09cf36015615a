"""Checking what an LLM wrote against the numbered passages it was shown.

The reply is split into sentences, each with the ``[n]`` markers that follow it (a marker after
the full stop belongs to the sentence before; list items are sentences). Each sentence is judged:

- ``cited``: the passages it cites state it;
- ``attributed``: it cites nothing valid, or its passages do not state it, but one passage does
  (its citation is found by matching, the product's citation replaces the model's);
- ``unsupported``: no passage states it; the reason says what is missing.

A passage *states* a sentence when every figure (digits or words: "fifty-five" is 55) and every
name of the sentence occurs in the passage or in its outlet, date and title, a sentence that
denies something ("does not", "never") finds a denial in the passage too, and enough of the
rest matches: a share of its key terms (``Tuning.min_term_share``), or an embedding similarity
(``Tuning.verify_similar``) with one of the passage's sentences. Attribution looks at one passage at a time, so a sentence that glues
a figure from one article to a place from another ("55 drones over Ryazan") is not supported by
either. The citation is then narrowed to the sentences of the passage that carry the sentence's
figures and names (the most similar one when its facts are all in the metadata).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from index.chunking import split_sentences
from rag.evidence import Candidate
from rag.prompts import Excerpt, spelt_date
from rag.statement import NOTHING, Statement, show, statement
from rag.tuning import Tuning
from rag.types import ATTRIBUTED, CITED, UNSUPPORTED

MARKER = re.compile(r"\[(\s*\d+(?:\s*[,;]\s*\d+)*\s*)\]")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_LABEL = re.compile(r"^\s*(?:answer|a)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class ClaimSentence:
    text: str  # the sentence without its markers
    cited: tuple[int, ...]  # valid passage numbers, in order
    unknown: tuple[int, ...] = ()  # numbers that point at no passage (removed)


def strip_label(text: str) -> str:
    """The reply without an "Answer:" label copied from the prompt's example."""
    return _LABEL.sub("", text.strip(), count=1)


def _pieces(text: str) -> list[str]:
    """Sentences and list items of a reply, markers still attached."""
    out = []
    for line in strip_label(text).split("\n"):
        line = _BULLET.sub("", line)
        out += [line[s:e] for s, e in split_sentences(line)]
    return out


def _has_words(piece: str) -> bool:
    return bool(re.search(r"\w", MARKER.sub("", piece)))


def parse_reply(text: str, n_passages: int, *, final: bool = True) -> list[ClaimSentence]:
    """The sentences of a reply with the passages each cites. Markers opening a sentence belong to
    the one before ("... drones. [1] The ..."). With ``final=False`` (a reply still streaming) the
    last sentence is left out: more words or markers may follow it."""
    groups: list[list[str]] = []
    opening: list[str] = []  # markers before the first sentence ("[2]\nThe drones ...") are its own
    for piece in _pieces(text):
        if not _has_words(piece):
            (groups[-1] if groups else opening).append(piece)  # markers alone close the sentence before
            continue
        lead = re.match(r"^(\s*(?:\[[\d\s,;]*\]\s*)+)", piece)
        if lead and groups:
            groups[-1].append(lead.group(1))
            piece = piece[lead.end():]
        groups.append([*opening, piece] if not groups else [piece])
    if not final:
        groups = groups[:-1]
    out = []
    for group in groups:
        raw = " ".join(group)
        numbers = [int(n) for g in MARKER.findall(raw) for n in re.split(r"[,;]", g) if n.strip()]
        clean = " ".join(MARKER.sub(" ", raw).split())
        clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
        if not re.search(r"\w", clean):
            continue
        valid = tuple(dict.fromkeys(n for n in numbers if 1 <= n <= n_passages))
        unknown = tuple(dict.fromkeys(n for n in numbers if not 1 <= n <= n_passages))
        out.append(ClaimSentence(clean, valid, unknown))
    return out


def only_markers(text: str) -> bool:
    """A reply that is nothing but ``[n]`` markers ("[2]", "[1] [2]")."""
    return bool(MARKER.search(text)) and not _has_words(text)


_FRAME = re.compile(r"^([^:]{1,80}):\s+(\S.*)$", re.DOTALL)


def claimed(sentence: str) -> str:
    """What a sentence claims: after a label that states nothing ("The answer to the question is:
    400 kilometers." claims "400 kilometers"), the value; otherwise the sentence."""
    frame = _FRAME.match(sentence)
    if frame:
        label = statement(frame.group(1), with_names=True)
        if not (label.figures or label.names):
            return frame.group(2)
    return sentence


@dataclass(frozen=True)
class Verdict:
    kind: str  # CITED, ATTRIBUTED or UNSUPPORTED
    evidence: tuple[tuple[int, Candidate], ...] = ()  # (passage n, sentence) the claim rests on
    reason: str | None = None  # why it is unsupported


@dataclass
class _Check:
    missing: str | None  # the first figure or name not stated
    found: int  # key terms stated ...
    terms: int  # ... of the claim's
    cosine: float  # best similarity with one sentence
    fit: float
    weak: bool = False  # figures and names fine, but too little of the rest matches

    @property
    def ok(self) -> bool:
        return self.missing is None and not self.weak

    def weakness(self) -> str:
        return (f"{self.found} of its {self.terms} key terms and no sentence close in meaning "
                f"(best similarity {self.cosine:.2f})")


@dataclass
class _Source:
    excerpt: Excerpt
    meta: Statement  # outlet, date and title of every article the excerpt's sentences are in
    statement: Statement  # the sentences and the metadata

    @property
    def n(self) -> int:
        return self.excerpt.n


def _meta_text(excerpt: Excerpt) -> str:
    parts = []
    for loc in excerpt.locations():
        parts += [loc.title, loc.source or "", spelt_date(loc.published_at) or "", (loc.published_at or "")[:10]]
    return ". ".join(p for p in parts if p)


class Verifier:
    """Judges the sentences of one reply against the passages of its prompt. ``embed`` maps texts
    to unit vectors (the retrieval embedder); without it only figures, names and terms count."""

    def __init__(self, passages: Sequence[Excerpt], *, tuning: Tuning,
                 embed: Callable[[list[str]], np.ndarray] | None = None):
        self.tuning = tuning
        self.sources = []
        for excerpt in passages:
            meta = statement(_meta_text(excerpt))
            body = NOTHING
            for c in excerpt.sentences:
                body = body | statement(c.text)
            self.sources.append(_Source(excerpt, meta, body | meta))
        self.embed = embed

    def _vector(self, text: str) -> np.ndarray | None:
        return None if self.embed is None else self.embed([text])[0]

    @staticmethod
    def _cosine(vector: np.ndarray | None, c: Candidate) -> float:
        if vector is None or c.vector is None:
            return 0.0
        return float(vector @ c.vector)

    def _missing(self, claim: Statement, stated: Statement) -> str | None:
        """The first figure or name of ``claim`` that ``stated`` lacks, as a phrase."""
        for value in sorted(claim.figures - stated.figures):
            return f"the figure {show(value)}"
        for name in claim.names:
            if not stated.has_name(name):
                return f"'{name}'"
        if claim.negation and not stated.negation:
            return f"the negation '{claim.negation}'"
        return None

    def _states(self, claim: Statement, vector, sources: Sequence[_Source]) -> _Check:
        """Whether ``sources`` together state ``claim``."""
        stated = NOTHING
        for source in sources:
            stated = stated | source.statement
        found = len(claim.terms & stated.terms)
        share = found / len(claim.terms) if claim.terms else 1.0
        cosine = max((self._cosine(vector, c) for s in sources for c in s.excerpt.sentences), default=0.0)
        check = _Check(self._missing(claim, stated), found, len(claim.terms), cosine, share + cosine)
        t = self.tuning
        if check.missing is None and (len(claim.terms) >= t.verify_min_terms or not (claim.figures or claim.names)):
            check.weak = share < t.min_term_share and cosine < t.verify_similar
        return check

    def _narrow(self, claim: Statement, vector, sources: Sequence[_Source]) -> tuple[tuple[int, Candidate], ...]:
        """The sentences of ``sources`` that carry the claim's figures and names, fewest first; the
        one most like the claim when the metadata alone carries them."""
        pool = [(s.n, c, statement(c.text)) for s in sources for c in s.excerpt.sentences]
        meta = NOTHING
        for s in sources:
            meta = meta | s.meta
        needed = {("fig", v) for v in claim.figures} | {("name", n) for n in claim.names}

        def covers(f: Statement) -> set:
            return ({("fig", v) for v in claim.figures & f.figures}
                    | {("name", n) for n in claim.names if f.has_name(n)})

        def rank(item, todo) -> tuple:
            n, c, f = item
            # then close to the claim and to the question: for a claim whose facts are all in the
            # metadata ("Miami News, KMIA reported it"), the sentence that answers the question
            return (len(covers(f) & todo), len(claim.terms & f.terms), self._cosine(vector, c) + c.score)

        chosen = [max(pool, key=lambda item: rank(item, needed))]
        todo = needed - covers(chosen[0][2])
        while todo and len(chosen) < self.tuning.max_narrowed:
            item = max(pool, key=lambda item: rank(item, todo))
            gain = covers(item[2]) & todo
            if not gain:
                break  # the rest is in the metadata (an outlet, a date)
            chosen.append(item)
            todo -= gain
        return tuple((n, c) for n, c, _ in chosen)

    def judge(self, claim: ClaimSentence) -> Verdict:
        stated = statement(claimed(claim.text), with_names=True)
        if stated.empty:
            return Verdict(UNSUPPORTED, reason="it states nothing a passage could support")
        vector = self._vector(claim.text)
        by_n = {s.n: s for s in self.sources}
        cited = [by_n[n] for n in claim.cited if n in by_n]
        cited_reason = None
        if cited:
            check = self._states(stated, vector, cited)
            if check.ok:
                return Verdict(CITED, self._narrow(stated, vector, cited))
            where = ("the cited passages " if len(cited) > 1 else "the cited passage ") + \
                " ".join(f"[{s.n}]" for s in cited)
            cited_reason = (f"{check.missing} is not in {where}" if check.missing
                            else f"{where} {'hold' if len(cited) > 1 else 'holds'} only {check.weakness()}")
        checks = [(self._states(stated, vector, [source]), source) for source in self.sources]
        fitting = [(check.fit, -source.n, source) for check, source in checks if check.ok]
        if fitting:
            best = max(fitting, key=lambda f: f[:2])[2]
            return Verdict(ATTRIBUTED, self._narrow(stated, vector, [best]))
        return Verdict(UNSUPPORTED, reason=cited_reason or self._why_unstated(stated, checks))

    def _why_unstated(self, claim: Statement, checks: list[tuple[_Check, _Source]]) -> str:
        everything = NOTHING
        for s in self.sources:
            everything = everything | s.statement
        missing = self._missing(claim, everything)
        if missing:
            return f"{missing} is in no passage"
        parts = [show(v) for v in sorted(claim.figures)] + [f"'{n}'" for n in claim.names]
        parts += [f"the negation '{claim.negation}'"] if claim.negation else []
        if len(parts) > 1 and any(check.missing for check, _ in checks):
            return "no single passage states " + ", ".join(parts[:-1]) + " and " + parts[-1] + " together"
        holding = [check for check, _ in checks if check.missing is None] or [check for check, _ in checks]
        best = max(holding, key=lambda c: c.fit, default=None)
        if best is None:
            return "no passage was given"
        return f"the closest passage holds only {best.weakness()}"
