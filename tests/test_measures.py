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
    # counts in their own words, as before; the one tied to the question's action first
    ("How many Republicans voted against Jim Jordan?", "Jordan lost 22 Republicans on the second ballot.",
     ["22 Republicans"]),
    ("How many points were Everton docked?", "Everton, who sit on four points, were docked 10 points on Friday.",
     ["10 points", "four points"]),
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


@pytest.mark.parametrize(("phrase", "nearest", "days"), [
    ("Saturday", False, ("2023-12-09", "2023-12-09")),  # the last one on or before the report
    ("Monday", False, ("2023-12-11", "2023-12-11")),  # the report's own day
    ("next Tuesday", False, ("2023-12-12", "2023-12-12")),
    ("next May", False, ("2024-05-01", "2024-05-31")),
    ("in February", False, ("2023-02-01", "2023-02-28")),  # a question: the one the news has seen
    ("in February", True, ("2024-02-01", "2024-02-29")),  # a report: the nearest ("to be sentenced in February")
    ("October 4", True, ("2023-10-04", "2023-10-04")),
    ("October 4, 2021", True, ("2021-10-04", "2021-10-04")),  # a year said is the year
])
def test_a_date_phrase_is_read_against_its_reference(phrase, nearest, days):
    from datetime import date

    from index.dates import date_range

    lo, hi = date_range(phrase, date(2023, 12, 11), nearest=nearest)
    assert (lo.isoformat(), hi.isoformat()) == days


@pytest.mark.parametrize(("question", "text", "day", "value", "detail"), [
    ("When did Shohei Ohtani agree to his Dodgers deal?",
     "Shohei Ohtani announced Saturday that he has agreed to a contract with the Dodgers.", "2023-12-11",
     "December 9, 2023", "“Saturday” in a report of 2023-12-11"),
    ("When is Changpeng Zhao going to be sentenced?", "Zhao is scheduled to be sentenced in February.", "2023-11-22",
     "February 2024", "“February” in a report of 2023-11-22"),
    ("When was the chemistry Nobel announced?", "The prize was announced on October 4, 2023, in Stockholm.",
     "2023-10-05", "October 4, 2023", ""),
    # a year naming which prize is no date of the announcement
    ("When was the chemistry Nobel announced?", "Three scientists have split the 2023 Nobel prize in chemistry.",
     "2023-10-05", None, None),
    # a date of something else in the sentence is no answer
    ("When did Shohei Ohtani agree to his Dodgers deal?", "Ohtani, who joined the Angels in 2018, is a free agent.",
     "2023-12-11", None, None),
])
def test_a_when_question_gets_the_date_its_sentence_gives(question, text, day, value, detail):
    found = direct_answer(analyse(question), numbered(sentence(text, day=day)))
    assert ((found.values[0][0], found.detail) if found else (None, None)) == (value, detail)


@pytest.mark.parametrize(("days", "values", "detail"), [
    # two reports agreeing on the day: one date, both cited
    (("2023-12-11", "2023-12-11"), (("December 9, 2023", (1, 2)),), "“Saturday” in a report of 2023-12-11"),
    # the same "Saturday" in reports of different weeks: each date with its report, neither alone
    (("2023-12-01", "2023-12-11"), (("November 25, 2023", (1,)), ("December 9, 2023", (2,))),
     "“Saturday” in a report of 2023-12-01; “Saturday” in a report of 2023-12-11"),
])
def test_reports_dating_an_event_differently_are_each_given(days, values, detail):
    cited = numbered(sentence("Shohei Ohtani announced Saturday that he has agreed to a contract with the Dodgers.",
                              day=days[0]),
                     sentence("Shohei Ohtani said Saturday that he has agreed to a deal with the Dodgers.", day=days[1]))
    found = direct_answer(analyse("When did Shohei Ohtani agree to his Dodgers deal?"), cited)
    assert (found.values, found.detail) == (values, detail)
