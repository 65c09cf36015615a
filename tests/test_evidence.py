"""Which sentences of the retrieved passages are evidence (``rag.evidence.candidates``)."""

from __future__ import annotations

import pytest

from rag.evidence import asks, candidates
from rag.types import Location, Passage


@pytest.mark.parametrize("sentence, question", [
    ("Do you work at OpenAI and know more about Sam Altman’s departure?", True),
    ("Or what if Altman has been secretly pursuing an internal project?", True),
    ("“Who is responsible?” the minister asked.", False),  # a statement that quotes a question
    ("He asked: “Who is responsible?”", True),  # ends with the question it quotes: read as one
    ("Why did the board act? (It did not say.)", False),
    ("The board no longer has confidence in his ability to lead OpenAI.", False),
])
def test_a_question_is_told_from_a_statement(sentence, question):
    assert asks(sentence) is question


def test_questions_in_a_passage_are_not_evidence_but_stay_the_context_of_the_next_sentence():
    body = ("Do you work at OpenAI and know more? The board said it had lost confidence in him. "
            "It gave no other reason.")
    spans, start = [], 0
    for part in ("Do you work at OpenAI and know more?", "The board said it had lost confidence in him.",
                 "It gave no other reason."):
        start = body.index(part, start)
        spans.append((start, start + len(part)))
    location = Location(article_id="a", title="t", source="TechCrunch", published_at=None, url=None,
                        chunk_id="a-0", start=0, end=len(body))
    found = candidates([Passage(location=location, text=body, header_len=0, sentences=tuple(spans), score=1.0)])
    assert [(c.text, c.before) for c in found] == [
        ("The board said it had lost confidence in him.", "Do you work at OpenAI and know more?"),
        ("It gave no other reason.", "The board said it had lost confidence in him.")]
