"""Stage 1, understand: the text of a question (and the conversation before it) -> a ``Question``
and its vectors.

The question is parsed by ``rag.analysis.analyse`` against the outlets in the index and the newest
article's date, while the encoder reads it on the other core (``Embedder.embed_spans``: the
question's word-piece states are kept, so its claims' vectors are pooled from that one run). An
answerer that can rewrite a follow-up as a standalone question (an LLM's ``condense`` capability)
does so here; the extractive answerer's follow-ups are widened by ``analyse`` instead.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rag.analysis import analyse, as_asked, is_followup
from rag.outlets import missing_outlets
from rag.question import Question
from rag.tuning import Tuning
from rag.types import Turn

if TYPE_CHECKING:
    import numpy as np

    from index.embedding import Embedder
    from index.library import Catalog


@dataclass(frozen=True, eq=False)
class QuestionVectors:
    """The vectors a question is searched and scored with, all from one run of the encoder."""

    searched: np.ndarray  # the question as read (a follow-up widened), then one row per claim when it has several
    asked: np.ndarray | None = None  # the question as typed, when a follow-up was widened

    @property
    def question(self) -> np.ndarray:
        return self.searched[0]

    @property
    def claims(self) -> np.ndarray:
        return self.searched[1:]


def encode(embedder: Embedder, question: Question) -> QuestionVectors:
    """The question's vector, then one per claim when it has several, from one run of the encoder:
    a claim's vector is pooled from the question's word pieces where the claim is said
    (``Embedder.embed_spans``), so it costs nothing and reads the claim in its question. A widened
    follow-up also gets the vector of its own words (``asked``)."""
    parts = question.parts if len(question.parts) > 1 else ()
    searched = embedder.embed_spans(question.text, [(p.said, p.spans) for p in parts])
    asked = embedder.embed_cached([question.asked])[0] if question.text != question.asked else None
    return QuestionVectors(searched=searched, asked=asked)


def _embed_ahead(embedder: Embedder, text: str) -> threading.Thread:
    """The question run through the encoder while spaCy parses it (the encoder leaves the GIL; two
    cores): ``encode`` then finds its states, and pools its claims from them, without running the
    encoder again. An error is left for ``encode`` to raise."""
    def embed() -> None:
        with contextlib.suppress(Exception):
            embedder.embed_spans(text, ())

    thread = threading.Thread(target=embed, name="newsrag-embed-ahead", daemon=True)
    thread.start()
    return thread


def read(text: str, *, catalog: Catalog, history: Sequence[Turn] = (), tuning: Tuning,
         cited_as_outlet: Callable[[str], bool | None] | None = None) -> Question:
    """``text`` as a ``Question``, read against the outlets in the index and the newest article's
    date, with the outlets it leans on that the library lacks (``rag.outlets``; ``cited_as_outlet``
    tells whether the library's articles use a name as an outlet)."""
    question = analyse(text, history=history, outlets=catalog.outlets, newest=catalog.newest, tuning=tuning)
    missing = missing_outlets(as_asked(question.asked), catalog.outlets, cited_as_outlet=cited_as_outlet)
    return replace(question, missing_outlets=missing) if missing else question


def understand(text: str, *, history: Sequence[Turn], catalog: Catalog, embedder: Embedder, tuning: Tuning,
               condense: Callable[[str, Sequence[Turn]], str | None] | None = None,
               cited_as_outlet: Callable[[str], bool | None] | None = None) -> tuple[Question, QuestionVectors]:
    """The question and its vectors. ``condense`` (an answerer's capability) rewrites a follow-up as a
    standalone question, which is then read in its place."""
    ahead = _embed_ahead(embedder, as_asked(text))
    question = read(text, catalog=catalog, history=history, tuning=tuning, cited_as_outlet=cited_as_outlet)
    ahead.join()
    if history and condense is not None and is_followup(text, tuning=tuning):
        standalone = condense(text, history)
        if standalone:
            question = read(standalone, catalog=catalog, tuning=tuning, cited_as_outlet=cited_as_outlet)
    return question, encode(embedder, question)
