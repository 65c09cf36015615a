"""Stage 6, answer: what every answerer receives and produces, and what it can do.

An answerer turns an ``AnswerContext`` (the analysed question, the passages read, the scored
evidence sentences and the ones ``select`` chose) into a stream of ``Event``: text deltas, then one
final ``Draft``. There is one streaming path; the non-streaming answer is the collected stream
(``rag.pipeline.Pipeline.ask``). What an answerer can do beyond answering it declares in its
``capabilities``; the pipeline reads them, never probes for methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rag.evidence import Candidate
from rag.question import Question
from rag.selection import Pick
from rag.types import AnswerSentence, Citation, Conflict, Direct, Passage, Refusal, Turn


@dataclass(frozen=True)
class AnswerContext:
    info: Question
    passages: Sequence[Passage]
    candidates: list[Candidate]
    picks: Sequence[Pick] = ()  # the sentences ``rag.selection.select`` chose, in its order
    history: Sequence[Turn] = ()
    embed: Callable[[list[str]], object] | None = None  # texts -> unit vectors (the retrieval embedder)
    names_of: Callable[[str], dict] | None = None  # article id -> how it names people (name_index)


@dataclass(frozen=True, kw_only=True)
class Draft:
    status: str
    text: str
    citations: tuple[Citation, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    sentences: tuple[AnswerSentence, ...] = ()
    closest: tuple[Passage, ...] = ()
    direct: Direct | None = None
    claims: tuple[str, ...] = ()
    refusal: Refusal | None = None  # why a refused draft was refused (LLM modes: the reply, the verdicts)


@dataclass(frozen=True)
class Event:
    """``kind`` is "delta" (``text`` to append), "draft" (an answerer's final ``draft``) or
    "answer" (the pipeline's final ``answer``)."""

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


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What an answerer can do besides ``stream``."""

    # rewrites a follow-up as a standalone question (``Answerer.condense``), which is then read in
    # its place; without it a follow-up is widened with the questions before it (``rag.question``)
    condense: bool = False


class Answerer(Protocol):
    name: str
    capabilities: Capabilities

    def stream(self, context: AnswerContext) -> Iterator[Event]: ...

    def condense(self, question: str, history: Sequence[Turn]) -> str | None:
        """A standalone version of a follow-up question, or ``None``; called only when
        ``capabilities.condense``."""
        ...
