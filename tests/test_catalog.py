"""Questions about the library itself (``rag.catalog``): which ones are, and their answers from the
catalog on a real library (the samples plus dated articles of two outlets)."""

from __future__ import annotations

import pytest
from conftest import SEEDS, make_library

from rag.catalog import COUNT, NEWEST, OLDEST, OUTLETS, SPAN, LibraryQuestion, about_library
from rag.filters import make_filters

HARBOUR = [
    ("storm.md", "Storm closes Mgarr harbour", "Malta Maritime Review", "2024-02-01",
     "A storm closed the harbour of Mgarr on Thursday night. Ferries stayed in port."),
    ("reopens.md", "Harbour reopens after the storm", "Gozo Gazette", "2024-02-11",
     "The harbour of Mgarr reopened on Sunday. Ferries resumed at noon."),
    ("budget.md", "Council budget passes", "Gozo Gazette", "2024-01-15",
     "The council passed its budget by seven votes to two."),
]


@pytest.mark.parametrize(("question", "expected"), [
    ("Which outlets are in the library?", LibraryQuestion(OUTLETS)),
    ("What outlets does the library have", LibraryQuestion(OUTLETS)),
    ("which sources do you have?", LibraryQuestion(OUTLETS)),
    ("List the outlets.", LibraryQuestion(OUTLETS)),
    ("How many outlets are there?", LibraryQuestion(OUTLETS)),
    ("What is in the library?", LibraryQuestion(OUTLETS)),
    ("How many articles are in the library?", LibraryQuestion(COUNT)),
    ("How many articles from The Verge are there?", LibraryQuestion(COUNT, outlet="The Verge")),
    ("How many articles did Fortune publish about FTX?", LibraryQuestion(COUNT, topic="FTX", outlet="Fortune")),
    ("How many articles mention drones?", LibraryQuestion(COUNT, topic="drones")),
    ("What is the newest article about drones?", LibraryQuestion(NEWEST, topic="drones")),
    ("What’s the latest article on Sam Bankman-Fried?", LibraryQuestion(NEWEST, topic="Sam Bankman-Fried")),
    ("Which is the most recent story?", LibraryQuestion(NEWEST)),
    ("What is the newest article from TechCrunch?", LibraryQuestion(NEWEST, outlet="TechCrunch")),
    ("Which article is the latest about Ryazan?", LibraryQuestion(NEWEST, topic="Ryazan")),
    ("When was the newest article published?", LibraryQuestion(NEWEST)),
    ("What is the oldest article?", LibraryQuestion(OLDEST)),
    ("What period do the articles cover?", LibraryQuestion(SPAN)),
    ("How old are the articles?", LibraryQuestion(SPAN)),
    # questions about the news, not the library
    ("Which outlet reported 55 drones?", None),
    ("Which outlets said the attack failed?", None),
    ("How many drones were intercepted?", None),
    ("What did the latest report say about drones?", None),
    ("What is the latest on the SBF trial?", None),
    ("Which library did the council close?", None),
    ("How many libraries does the council run?", None),
    ("Who won the World Cup?", None),
])
def test_which_questions_are_about_the_library(question, expected):
    assert about_library(question) == expected


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, embedder):
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings

    folder = tmp_path_factory.mktemp("catalog-articles")
    for name, title, outlet, day, text in HARBOUR:
        (folder / name).write_text(f"---\ntitle: {title}\noutlet: {outlet}\ndate: {day}\n---\n{text}\n")
    library = make_library(tmp_path_factory.mktemp("catalog") / "home", embedder)
    assert library.ingest([SEEDS, folder]).added == 5
    return Pipeline(RagSettings(index=library.settings), library=library)


def test_the_outlets_and_the_dates_come_from_the_catalog(pipeline):
    answer = pipeline.ask("Which outlets are in the library?")
    assert (answer.status, answer.mode, answer.citations) == ("answered", "catalog", ())
    assert [s.text for s in answer.sentences] == [
        "The library holds 5 articles from 3 outlets, and 1 article without one, dated 2024-01-15 to 2024-02-11 "
        "(2 undated):",
        "Gozo Gazette: 2 articles, 2024-01-15 to 2024-02-11.",
        "Malta Maritime Review: 1 article, 2024-02-01.",
        "Miami News, KMIA: 1 article, undated."]
    assert answer.answer == " ".join(s.text for s in answer.sentences)
    assert [s.kind for s in answer.sentences] == ["catalog"] * 4
    assert pipeline.ask("What period do the articles cover?").answer == \
        "The 5 articles are dated 2024-01-15 to 2024-02-11; 2 articles undated."
    within = pipeline.ask("How many articles are in the library?", filters=make_filters(since="2024-02-01"))
    assert within.answer == "The library holds 2 articles (published 2024-02-01 to …), dated 2024-02-01 to 2024-02-11."
    assert within.filters.since.isoformat() == "2024-02-01"


def test_the_newest_article_about_a_topic_is_cited_by_its_matching_sentence(pipeline):
    answer = pipeline.ask("What is the newest article about Mgarr?")
    assert answer.answer == ("The newest article about “Mgarr” is “Harbour reopens after the storm” (Gozo Gazette, "
                             "2024-02-11). [1] Then: “Storm closes Mgarr harbour” (Malta Maritime Review, "
                             "2024-02-01). [2]")
    assert [(c.n, c.location.title, c.quote) for c in answer.citations] == [
        (1, "Harbour reopens after the storm", "The harbour of Mgarr reopened on Sunday."),
        (2, "Storm closes Mgarr harbour", "A storm closed the harbour of Mgarr on Thursday night.")]
    for citation in answer.citations:  # a citation like any other: the quote is body[start:end]
        where = citation.location
        assert pipeline.library.article(where.article_id).body[where.start:where.end] == citation.quote
    oldest = pipeline.ask("What is the oldest article?")
    assert oldest.answer.startswith("The oldest article is “Council budget passes” (Gozo Gazette, 2024-01-15). [1]")
    assert oldest.citations[0].quote == "The council passed its budget by seven votes to two."
    undated = pipeline.ask("What is the newest article about drones?")
    assert undated.answer.startswith("None of the 2 articles about “drones” is dated, so none is the newest; "
                                     "they are:")
    assert len(undated.citations) == 2


def test_what_the_library_does_not_hold_is_said_plainly(pipeline):
    missing = pipeline.ask("How many articles from Bloomberg are there?")
    assert (missing.status, missing.answer, missing.refusal.reason) == (
        "refused", "The library holds no article from Bloomberg.", "no article from 'Bloomberg' is indexed")
    topic = pipeline.ask("What is the newest article about zebras?")
    assert (topic.status, topic.answer) == ("refused", "No article mentions “zebras”.")
    assert pipeline.ask("How many articles did the Gozo Gazette publish?").answer == \
        "The library holds 2 articles from Gozo Gazette, dated 2024-01-15 to 2024-02-11."
    filtered = pipeline.ask("Which outlets are in the library?", filters=make_filters(sources=["Gozo Gazette"],
                                                                                       until="2024-01-31"))
    assert filtered.answer == ("The library holds 1 article (from Gozo Gazette; published … to 2024-01-31) from "
                               "1 outlet, dated 2024-01-15: Gozo Gazette: 1 article, 2024-01-15.")


def test_a_question_about_the_news_is_answered_from_the_articles_and_the_stream_matches(pipeline):
    news = pipeline.ask("Which outlet reported 55 drones?")
    assert news.mode == "extractive" and news.citations
    events = list(pipeline.stream("Which outlets are in the library?"))
    assert [e.kind for e in events] == ["delta", "answer"]
    assert events[0].text == events[1].answer.answer
    assert events[1].answer.timings_ms["total"] > 0
