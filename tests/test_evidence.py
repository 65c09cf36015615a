"""Which sentences of the retrieved passages are evidence (``rag.evidence.candidates``)."""

from __future__ import annotations

import pytest

from rag.analysis import analyse
from rag.evidence import Candidate, Scorer, _finished, asks, candidates
from rag.tuning import Tuning
from rag.types import Location, Passage
from rag.understand import encode


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
    found = candidates([Passage(location=location, text=body, header_len=0, sentences=tuple(spans), score=1.0)],
                       min_words=Tuning().min_words)
    assert [(c.text, c.before) for c in found] == [
        ("The board said it had lost confidence in him.", "Do you work at OpenAI and know more?"),
        ("It gave no other reason.", "The board said it had lost confidence in him.")]


@pytest.mark.parametrize("line, finished", [
    ("The board said it had lost confidence in him.", True),
    ("“We will appeal,” the lawyer said.", True),
    ("He listed three reasons:", True),
    ("Was the strike over?", True),
    ("Best NBA betting sites for 2023", False),  # a heading
    ("MORE: Jets vs. Chiefs betting preview", False),  # a link
    ("Jada Pinkett Smith and Will Smith (Getty Images)", False),  # a caption
    ("— Sam Altman (@sama) November 18, 2023", False),  # an embedded post's signature
])
def test_a_line_with_no_closing_punctuation_is_unfinished(line, finished):
    assert _finished(line) is finished


def test_a_heading_weighs_less_than_it_would_as_a_statement(embedder):
    heading, statement = "Drones intercepted over Moscow", "Drones were intercepted over Moscow."
    vectors = embedder.embed([heading, statement])
    cands = [Candidate(location=Location(article_id=a, title="t", source=None, published_at=None, url=None,
                                         chunk_id=f"{a}-0", start=0, end=len(t)), text=t, rank=0, vector=v)
             for a, t, v in zip("ab", (heading, statement), vectors, strict=True)]
    question = analyse("Did TechCrunch report that drones were intercepted over Moscow, while The Verge reported "
                       "that the ministry blamed Ukraine?", outlets=["TechCrunch", "The Verge"])
    vectors = encode(embedder, question)
    tuning = Tuning()
    weighed = Scorer(idf=lambda term: 1.0, tuning=tuning).score(question, vectors, cands)
    plain = Scorer(idf=lambda term: 1.0, tuning=tuning.with_(unfinished=1.0)).score(question, vectors, cands)
    assert len(question.parts) == 2
    # the heading's question and claim scores by Tuning.unfinished (0.8), the statement's as they were
    assert weighed[0].score == pytest.approx(0.8 * plain[0].score)
    assert weighed[0].parts == pytest.approx(tuple(0.8 * p for p in plain[0].parts))
    assert (weighed[1].score, weighed[1].parts) == (plain[1].score, plain[1].parts)
    assert weighed[0].score < weighed[1].score
