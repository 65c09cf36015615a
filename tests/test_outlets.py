"""Outlets a question leans on, read from its grammar (rag/outlets.py), and those the library lacks."""

from __future__ import annotations

import pytest

from rag.outlets import held, missing_outlets, missing_text, outlet_references

LIBRARY = ("The Verge", "TechCrunch", "The New York Times", "BBC News - Technology", "Fortune",
           "Business Today | Latest Stock Market And Economy News India", "The Guardian")


@pytest.mark.parametrize(("question", "names"), [
    # a name modifying a noun that names a piece of journalism
    ("Considering a Bloomberg article and a Wall Street Journal report on Goodyear, which letter starts its name?",
     ["Bloomberg", "Wall Street Journal"]),
    ("What did The Verge's coverage say about the Steam Deck?", ["The Verge"]),
    # after "by", "from" or "in", also for "another"
    ("Considering an article by The Verge and another by Forbes about Sygic, where is it based?",
     ["The Verge", "Forbes"]),
    ("Which actor did a review in Rolling Stone praise?", ["Rolling Stone"]),
    # saying something
    ("According to CNET, which feature was added?", ["CNET"]),
    ("Which company was described in The Washington Post as a leader?", ["The Washington Post"]),
    ("What was reported by Reuters and Al Jazeera about the talks?", ["Reuters", "Al Jazeera"]),
    # not outlets: the topic of a report, a person, a date, a title in quotes, another owner's report
    ("What did the article on Microsoft say about layoffs?", []),
    ("Does the article from Fortune credit Sam Altman with the launch?", ["Fortune"]),
    ("Which team won, according to the report published on October 28?", []),
    ("Does the Polygon article on 'Spider-Man: Across the Spider-Verse' praise the film?", ["Polygon"]),
    ("What did the EU's report conclude about the merger?", []),
    ("How much revenue did Apple report, while Moscow reported how many drones it intercepted?", []),
])
def test_outlets_are_read_from_how_the_question_uses_a_name(question, names):
    assert [question[s:e] for s, e in outlet_references(question)] == names


@pytest.mark.parametrize(("name", "is_held"), [
    ("The Verge", True), ("Verge", True), ("the verge", True),
    ("BBC News", True), ("BBC", True),  # the first part of "BBC News - Technology"
    ("Business Today", True),
    ("BBC Radio 1", False), ("Bloomberg", False), ("The Washington Post", False), ("New York", True),
])
def test_a_named_outlet_is_held_when_it_is_one_or_the_first_part_of_one(name, is_held):
    assert held(name, LIBRARY) is is_held


@pytest.mark.parametrize(("question", "missing"), [
    ("Considering an article from The New York Times discussing Ron DeSantis and another from The Washington "
     "Post detailing his plans, what is the first letter of his party?", ("The Washington Post",)),
    ("Considering a Bloomberg article and a report by The Wall Street Journal, which CEO resigned?",
     ("Bloomberg", "The Wall Street Journal")),
    ("Did the TechCrunch article and the BBC News report agree on the fine?", ()),
    ("Who did The Verge say won the trial?", ()),
    ("Who won the World Cup?", ()),
])
def test_only_outlets_the_library_lacks_are_missing(question, missing):
    assert missing_outlets(question, LIBRARY) == missing


def test_the_missing_outlets_are_named_in_one_sentence():
    assert missing_text(["Bloomberg"]) == "The library holds no article from Bloomberg."
    assert missing_text(["Bloomberg", "CNET", "The Wall Street Journal"]) == \
        "The library holds no article from Bloomberg, CNET or The Wall Street Journal."
