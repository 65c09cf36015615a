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


SCORE_IN_A_PROCESS = """
import numpy as np
from rag.analysis import analyse
from rag.evidence import Candidate, Scorer
from rag.tuning import Tuning
from rag.types import Location
from rag.understand import QuestionVectors

question = analyse("Which exchange founder faced fraud, conspiracy and money laundering charges in the "
                   "criminal trial that prosecutors opened against the crypto lender?")
rng = np.random.default_rng(7)
texts = ["The founder faced fraud and conspiracy charges at the trial.",
         "Prosecutors opened the criminal trial against the crypto lender's founder.",
         "Money laundering charges were dropped before the trial.",
         "The exchange said its founder would fight the charges."]
cands = [Candidate(location=Location(article_id=str(i), title="t", source=None, published_at=None, url=None,
                                     chunk_id=f"{i}-0", start=0, end=len(t)), text=t, rank=i,
                   vector=rng.standard_normal(8).astype(np.float32)) for i, t in enumerate(texts)]
vectors = QuestionVectors(searched=rng.standard_normal((1, 8)).astype(np.float32))
scored = Scorer(idf=lambda term: 1.0 + sum(map(ord, term)) % 17 / 7, tuning=Tuning()).score(question, vectors, cands)
print(repr([(c.score, c.lexical) for c in scored]))
"""


@pytest.mark.slow
def test_scores_are_the_same_bits_whatever_the_process_string_hashes():
    # the question's words were weighed in a set's order, which each process's string hashes
    # change: the last bits of every score changed with it, and near-ties ranked two ways
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    runs = [subprocess.run([sys.executable, "-c", SCORE_IN_A_PROCESS], cwd=root, capture_output=True, text=True,
                           timeout=300, env={**os.environ, "PYTHONHASHSEED": seed}) for seed in ("1", "2", "3")]
    assert [r.returncode for r in runs] == [0, 0, 0], runs[0].stderr[-2000:]
    assert runs[0].stdout.strip().startswith("[(") and runs[0].stdout == runs[1].stdout == runs[2].stdout
