"""Outlets a question leans on, read from its grammar (rag/outlets.py), and those the library lacks."""

from __future__ import annotations

import pytest

from rag.outlets import cited_as_outlet, held, missing_outlets, missing_text, outlet_references

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
    # a piece "on" a name and then "about" its topic appeared on that name; "a report on Sudan" is a topic
    ("Considering an article on Forbes about the Azure tools and another on The Verge, which firm won?", ["Forbes"]),
    ("Considering the report on Sudan, which country sent aid?", []),
    ("Considering an article on Meta's results about advertising, which unit grew?", []),
    # saying something
    ("According to CNET, which feature was added?", []),  # the library's usage decides (below)
    ("Which company was described in The Washington Post as a leader?", ["The Washington Post"]),
    ("What was reported by Reuters and Al Jazeera about the talks?", ["Reuters", "Al Jazeera"]),
    # not outlets: the topic of a report, a person, a date, a title in quotes, another owner's report
    ("What did the article on Microsoft say about layoffs?", []),
    ("Does the article from Fortune credit Sam Altman with the launch?", ["Fortune"]),
    ("Which team won, according to the report published on October 28?", []),
    ("Does the Polygon article on 'Spider-Man: Across the Spider-Verse' praise the film?", ["Polygon"]),
    ("What did the EU's report conclude about the merger?", []),
    ("Considering a New York Times article on Meta Platforms' results and a Wall Street Journal report, who "
     "leads it?", ["New York Times", "Wall Street Journal"]),  # "Platforms'" opens no quotation
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


# what the library's own sentences say of a name: "according to Bloomberg" makes it an outlet
LIBRARY_SENTENCES = ["Data from Apptopia, reported by Bloomberg, noted that users spent 18 minutes a day.",
                     "According to Elon Musk, the launch went well.",  # people are quoted "according to" too
                     "Our Black Friday coverage starts today.",
                     "“I was asleep,” he told The Associated Press.",
                     "Apple said that demand was strong.",
                     "Shoppers spent $5.6 billion online, according to Adobe.",
                     "Apple reported revenue of $89.5 billion for the quarter.",
                     "The Russian Ministry of Defense reported that 64 drones were intercepted.",
                     "Safety experts quoted by Reuters acknowledge there may be a mechanism."]


@pytest.mark.parametrize(("name", "cited"), [
    ("Bloomberg", True),  # the library's articles cite it as an outlet
    ("Apple", False),  # they only write about it
    ("Russian Ministry of Defense", False),
    ("CNN", None),  # they never mention it
    ("Elon Musk", False),
    ("Black Friday", False),  # "Black Friday coverage" is about a day, not by it
    ("Associated Press", True),  # sources tell it things
    ("Reuters", True),  # it quotes people
])
def test_the_librarys_own_usage_tells_an_outlet_from_a_subject(name, cited):
    assert cited_as_outlet(name, LIBRARY_SENTENCES) is cited


@pytest.mark.parametrize(("question", "missing"), [
    ("What did Bloomberg report about how long people spend in the Temu app?", ("Bloomberg",)),
    ("What did CNN report about Shohei Ohtani's contract?", ("CNN",)),  # never mentioned, not a person
    ("What did The Wall Street Journal say Microsoft paid for Activision Blizzard?", ("The Wall Street Journal",)),
    ("What did Apple report about iPhone sales?", ()),  # a company's own words
    ("What did Elon Musk say about the launch?", ()),  # a person, never mentioned: not an outlet either
    ("How much revenue did Apple report?", ()),
    ("According to CNET, which feature was added?", ("CNET",)),  # never mentioned: an outlet we lack
    ("According to Axios, when was Microsoft told that Altman was leaving?", ("Axios",)),  # read as a NORP
    # the parser reads "report" as a noun here: "did" makes it the verb, the name before it its subject
    ("What did Sky Sports report about Man United vs Chelsea?", ("Sky Sports",)),
    # the library's articles cite it as an outlet, and none is from it
    ("What did the Associated Press report about the Nobel chemistry winners?", ("Associated Press",)),
    ("What did Apple report about iPhone sales, according to Adobe?", ()),
    ("How much did Americans spend online, according to Adobe?", ()),  # quoted as a company in the library
])
def test_the_subject_of_a_saying_verb_is_an_outlet_when_the_library_cites_it_as_one(question, missing):
    found = missing_outlets(question, LIBRARY, cited_as_outlet=lambda n: cited_as_outlet(n, LIBRARY_SENTENCES))
    assert found == missing
    assert missing_outlets(question, LIBRARY) == ()  # without the library's usage: subjects are no outlets


def test_reported_that_cites_no_outlet_for_ministries_report_that_too():
    assert cited_as_outlet("Wall Street Journal", [
        "The Wall Street Journal reported that he was considering a run for governor."]) is False
    assert cited_as_outlet("Russian Ministry of Defense", [
        "The Russian Ministry of Defense reported that 64 drones were intercepted."]) is False
