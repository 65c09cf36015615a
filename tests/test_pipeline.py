"""The pipeline as stages: stage 1's output (a question and its vectors), and the optional
capabilities an answerer declares, read by the pipeline instead of probed."""

from __future__ import annotations

import numpy as np
import pytest

from rag.answerers import ANSWERERS
from rag.answering import Capabilities
from rag.extractive import ExtractiveAnswerer
from rag.types import Turn
from rag.understand import encode, understand

DRONES = "How many drones were intercepted?"
FOLLOW_UP = "And over Ryazan?"
STANDALONE = "Which outlet reported 55 drones?"  # not what a model would write: an answer of its own


@pytest.mark.parametrize("text, history, claims, widened", [
    (DRONES, (), 0, False),
    ("Which air defence systems were deployed near Ryazan, while Moscow reported how many drones it intercepted?",
     (), 2, False),
    (FOLLOW_UP, (Turn(question=DRONES),), 0, True),  # read with the question before it
])
def test_understand_gives_the_question_and_a_vector_for_it_and_each_claim(seed_pipeline, text, history, claims,
                                                                           widened):
    library = seed_pipeline.library
    question, vectors = understand(text, history=history, catalog=library.catalog(), embedder=library.embedder,
                                   tuning=seed_pipeline.tuning)
    assert len(question.parts) == max(claims, 1)
    assert vectors.searched.shape == (1 + claims, library.embedder.dimension)
    assert np.array_equal(vectors.searched, encode(library.embedder, question).searched)
    assert (question.text != question.asked) is widened
    if widened:
        assert question.text == f"{DRONES} {FOLLOW_UP}"
        assert np.allclose(vectors.asked, library.embedder.embed([FOLLOW_UP])[0], atol=1e-5)
    else:
        assert vectors.asked is None


class Rewriting(ExtractiveAnswerer):
    """The extractive answerer with the condense capability: it rewrites every follow-up as
    ``STANDALONE`` and keeps what it was asked."""

    capabilities = Capabilities(condense=True)

    def __init__(self, *, settings):
        super().__init__(settings=settings)
        self.calls: list[tuple[str, tuple]] = []

    def condense(self, question, history):
        self.calls.append((question, tuple(t.question for t in history)))
        return STANDALONE


class Refusing(ExtractiveAnswerer):
    """The extractive answerer, whose condense must never be called: it declares no capability."""

    def condense(self, question, history):
        raise AssertionError("condense called without the capability")


def test_a_follow_up_is_condensed_only_by_an_answerer_that_declares_it(seed_pipeline, monkeypatch):
    made = {}

    def factory(cls):
        def make(settings):
            made[cls.__name__] = cls(settings=settings)
            return made[cls.__name__]
        return make

    monkeypatch.setitem(ANSWERERS, "rewriting", factory(Rewriting))
    monkeypatch.setitem(ANSWERERS, "refusing", factory(Refusing))
    monkeypatch.setattr(seed_pipeline, "_answerers", {})
    history = [Turn(question=DRONES)]
    rewritten = seed_pipeline.ask(FOLLOW_UP, history=history, mode="rewriting")
    assert made["Rewriting"].calls == [(FOLLOW_UP, (DRONES,))]
    # the standalone question is what was read: the same answer as asking it outright
    direct = seed_pipeline.ask(STANDALONE, mode="rewriting")
    assert (rewritten.answer, rewritten.citations) == (direct.answer, direct.citations)
    assert made["Rewriting"].calls == [(FOLLOW_UP, (DRONES,))]  # a question that is no follow-up: not asked
    # without the capability the follow-up is widened with the question before it, never condensed
    widened = seed_pipeline.ask(FOLLOW_UP, history=history, mode="refusing")
    assert widened.answer == seed_pipeline.ask(FOLLOW_UP, history=history).answer != rewritten.answer
    assert widened.answer.startswith("**25 drones** [1].") and rewritten.answer.startswith("Reported by Miami News")
