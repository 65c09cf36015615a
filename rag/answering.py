"""What every answerer receives and produces, and the refusal gate they all share.

An answerer turns an ``AnswerContext`` (the analysed question, retrieved passages and scored
evidence sentences) into a stream of ``Event``: text deltas, then one final ``Draft``. There is one
streaming path; the non-streaming answer is the collected stream (``rag.pipeline.Pipeline.ask``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from index.text import analyze
from rag.conflicts import counts
from rag.evidence import Candidate
from rag.question import QuestionInfo
from rag.types import AnswerSentence, Citation, Conflict, Passage, Refusal, Turn


@dataclass(frozen=True)
class AnswerContext:
    info: QuestionInfo
    passages: Sequence[Passage]
    candidates: list[Candidate]
    history: Sequence[Turn] = ()
    embed: Callable[[list[str]], object] | None = None  # texts -> unit vectors (the retrieval embedder)


@dataclass(frozen=True, kw_only=True)
class Draft:
    status: str
    text: str
    citations: tuple[Citation, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    sentences: tuple[AnswerSentence, ...] = ()
    closest: tuple[Passage, ...] = ()
    refusal: Refusal | None = None  # why a refused draft was refused (LLM modes: the reply, the verdicts)


@dataclass(frozen=True)
class Event:
    """``kind`` is "delta" (``text`` to append), "answer" (the final ``answer``)."""

    kind: str
    text: str = ""
    draft: Draft | None = None
    answer: object = field(default=None)  # rag.types.Answer on the final event of the pipeline

    @classmethod
    def delta(cls, text: str) -> Event:
        return cls("delta", text=text)

    @classmethod
    def final(cls, draft: Draft) -> Event:
        return cls("draft", draft=draft)


class Answerer(Protocol):
    name: str

    def stream(self, context: AnswerContext) -> Iterator[Event]: ...


def refusal_reason(info: QuestionInfo, candidates: Sequence[Candidate], threshold: float) -> str | None:
    """Why the evidence cannot answer the question, or ``None`` when it may.

    Refuse when the best sentence scores under ``threshold``; when a name or number the question
    depends on appears nowhere in the evidence (tied to the same place preposition, so "shot down
    over Moscow" is not supported by "400 kilometers southeast of Moscow"); when the attribute asked
    for ("Who is the *mayor* of Ryazan?") is never mentioned; or when a "how many X" question finds
    no number of X.
    """
    if not candidates:
        return "nothing relevant was retrieved"
    best = max(c.score for c in candidates)
    if best < threshold:
        return f"the best evidence scores {best:.3f}, under the threshold {threshold:.3f}"
    covered = set().union(*(c.entities for c in candidates))
    missing = [e.text for i, e in enumerate(info.entities) if i not in covered]
    if missing:
        return "the articles never mention " + ", ".join(repr(m) for m in missing) + " in this sense"
    if info.attribute and not any(info.attribute in analyze(c.text) for c in candidates):
        return f"the articles never mention the {info.attribute!r} asked about"
    if info.unit and not any(counts(c.text, info.unit) for c in candidates):
        return f"no article gives a number of {info.unit!r}"
    return None
