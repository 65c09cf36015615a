"""Figures read with what they measure (rag/measures.py): the grammar of real spaCy parses decides
which number of a sentence answers "how much / how many"."""

from __future__ import annotations

import pytest
from helpers import numbered, sentence

from rag.analysis import analyse
from rag.direct import direct_answer
from rag.measures import measured
from rag.tuning import Tuning

PATH = Tuning().measure_path


@pytest.mark.parametrize(("question", "text", "figures"), [
    # money and percentages tied to the action or the thing asked about
    ("How much money did Scalable Capital raise?",
     "Munich-based Scalable Capital has raised $65 million in a new funding round led by Balderton.", ["$65 million"]),
    ("How much did Microsoft pay for Activision Blizzard?",
     "Microsoft has sealed its long-awaited deal for Activision Blizzard, and it's paid $69bn (£56bn) for the privilege.",
     ["$69bn"]),
    ("How much is NASCAR's new media rights deal worth?",
     "The new media rights deal is worth $7.7 billion over seven years.", ["$7.7 billion"]),  # not the years
    ("How much did Coinbase stock go up in November?", "Coinbase stock has gone up more than 60% in November alone.",
     ["60%"]),
    ("How much revenue did Nike report?", "Nike reported revenue of $12.94 billion for the quarter.", ["$12.94 billion"]),
    # counts in their own words, as before
    ("How many Republicans voted against Jim Jordan?", "Jordan lost 22 Republicans on the second ballot.",
     ["22 Republicans"]),
    # a figure counting something else measures that
    ("How much money did Scalable Capital raise?", "Scalable Capital, founded in 2014, now has 500 employees.", []),
    # a figure of another deal, tied to other words
    ("How much did Palo Alto Networks pay for Cider Security?",
     "Other examples include CrowdStrike acquiring security startup Bionic for $350 million.", []),
])
def test_a_figure_answers_when_the_grammar_ties_it_to_what_is_asked(question, text, figures):
    assert [f.phrase for f in measured(text, analyse(question), max_path=PATH)] == figures


def test_a_how_much_question_gets_the_measured_figure_as_its_answer_line():
    cited = numbered(sentence("Scalable Capital, founded in 2014, now has 500 employees."),
                     sentence("Munich-based Scalable Capital has raised $65 million in a new round."))
    found = direct_answer(analyse("How much money did Scalable Capital raise?"), cited)
    assert (found.kind, found.values) == ("number", (("$65 million", (2,)),))
    # with the tie off (no step allowed), the amount is no answer: no line rather than a wrong one
    assert direct_answer(analyse("How much money did Scalable Capital raise?"), cited,
                         tuning=Tuning(measure_path=0)) is None
