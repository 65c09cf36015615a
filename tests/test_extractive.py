"""The extractive answerer's choice of sentences (``rag.extractive.select``): tables of scored
evidence sentences (annotated by the real spaCy model) and which of them are quoted, in order."""

from __future__ import annotations

import pytest
from test_direct import sentence

from rag.extractive import select
from rag.question import analyse
from rag.settings import RagSettings

# two sentences of one report, then one of each of two other reports; all above the relative floor
EVIDENCE = [("Air defences intercepted 20 drones over Moscow overnight.", "a", 0.80),
            ("The ministry said the drones were launched from Ukraine.", "a", 0.78),
            ("Officials confirmed that drones were intercepted near Moscow.", "b", 0.70),
            ("Residents of Moscow heard the drones being shot down.", "c", 0.68)]


@pytest.mark.parametrize("question, kind, quoted", [
    # a yes/no question reads one sentence from each report
    ("Did the ministry say that drones were intercepted?", "yes/no", [0, 2, 3]),
    # a question asking for a name may take the sentence beside the best one, from the same report
    ("Who launched the drones that were intercepted?", "person", [0, 1, 2, 3]),
    ("Which country launched the drones that were intercepted?", "place", [0, 1, 2, 3]),
])
def test_a_yes_no_question_reads_one_sentence_per_report(question, kind, quoted):
    cands = [sentence(text, article=article, score=score) for text, article, score in EVIDENCE]
    info = analyse(question)
    assert (info.answer_type, len(info.parts)) == (kind, 1)
    picks = select(info, cands, RagSettings(max_sentences=4))
    assert [cands.index(p.candidate) for p in picks] == quoted


def test_one_report_alone_gives_as_many_sentences_as_it_has():
    cands = [sentence(text, article="a", score=score) for text, _, score in EVIDENCE]
    picks = select(analyse("Did the ministry say that drones were intercepted?"), cands, RagSettings(max_sentences=4))
    assert [cands.index(p.candidate) for p in picks] == [0, 1, 2, 3]
