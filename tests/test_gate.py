"""Stage 4, the gate (``rag.gate.refusal_reason``): tables of evidence sentences, scored against the
question the way the pipeline scores them (real encoder, real spaCy), and why each is refused."""

from __future__ import annotations

import pytest
from helpers import sentence

from rag.analysis import analyse
from rag.evidence import Candidate, Scorer
from rag.gate import refusal_reason
from rag.tuning import Tuning
from rag.understand import encode


@pytest.fixture(scope="module")
def scored(embedder):
    """Evidence scored against a question the way the pipeline scores it (real vectors)."""
    def score(question: str, texts: list[str]) -> list[Candidate]:
        vectors = embedder.embed(texts)
        cands = [sentence(t, vector=v, score=0.0) for t, v in zip(texts, vectors, strict=True)]
        info = analyse(question)
        return Scorer(idf=lambda term: 1.0, tuning=Tuning()).score(info, encode(embedder, info), cands)
    return score


RYAZAN = ("According to the statement, 25 of these drones were shot down over the Ryazan region, a critical "
          "area located approximately 400 kilometers southeast of Moscow.")


@pytest.mark.parametrize("question, texts, reason", [
    ("How many drones were shot down over the Ryazan region?", [RYAZAN], None),
    ("How many drones were shot down near Ryazan?", [RYAZAN], None),  # another preposition, same place
    ("How many drones were shot down over Moscow?", [RYAZAN],
     "no article gives a number of 'drone' for 'Moscow'"),  # Moscow only locates Ryazan
    ("How many drones were shot down over Kharkiv?", [RYAZAN], "the articles never mention 'Kharkiv'"),
    ("How many civilians were killed over Ryazan?", [RYAZAN], "no article gives a number of 'civilian'"),
    ("Who is the mayor of Ryazan?", [RYAZAN], "the articles never mention the 'mayor' asked about"),
    ("How many drones were shot down over France?", [RYAZAN], "the articles never mention 'France'"),
])
def test_refusal_reasons(scored, question, texts, reason):
    assert refusal_reason(analyse(question), scored(question, texts), tuning=Tuning(refusal_threshold=0.2)) == reason


def test_refusal_under_the_score_threshold_says_by_how_much(scored):
    evidence = scored("What did the ministry release?", ["The weather in Lisbon was mild all week long."])
    best = max(c.score for c in evidence)
    reason = refusal_reason(analyse("What did the ministry release?"), evidence, tuning=Tuning(refusal_threshold=0.9))
    assert reason == f"the best evidence scores {best:.3f}, under the threshold 0.900"
    # the same evidence passes a threshold under its best score
    assert refusal_reason(analyse("What did the ministry release?"), evidence,
                          tuning=Tuning(refusal_threshold=round(best, 3) - 0.01)) is None
    assert refusal_reason(analyse("What did the ministry release?"), [], tuning=Tuning()) == (
        "nothing relevant was retrieved")


def test_a_question_leaning_on_an_outlet_the_library_lacks_is_refused_saying_so(scored, seed_library):
    """The refusal names the outlet as the question writes it, whatever the evidence scores; the
    same question about an outlet the library holds goes on to the other checks."""
    from dataclasses import replace

    from rag.understand import read

    catalog = seed_library.catalog()
    assert catalog.outlets == ["Miami News, KMIA"]
    asked = "According to a Bloomberg report and a Reuters article, how many drones were intercepted?"
    # articles of other outlets quote both: the names alone are no reason to refuse
    evidence = scored(asked, [RYAZAN, "Bloomberg and Reuters reported that 64 drones were intercepted overnight."])
    question = read(asked, catalog=catalog, tuning=Tuning())
    assert question.missing_outlets == ("Bloomberg", "Reuters")
    assert refusal_reason(question, evidence, tuning=Tuning(refusal_threshold=0.2)) == \
        "The library holds no article from Bloomberg or Reuters."
    assert read("According to the Miami News report, how many drones were intercepted?", catalog=catalog,
                tuning=Tuning()).missing_outlets == ()  # the first part of "Miami News, KMIA"
    # the mechanism off (no missing outlets read), the same question is answered from what other
    # outlets say Bloomberg and Reuters reported
    assert refusal_reason(replace(question, missing_outlets=()), evidence, tuning=Tuning(refusal_threshold=0.2)) is None


@pytest.mark.parametrize(("question", "reason"), [
    ("What did CNN report about the drones over Ryazan?", "The library holds no article from CNN."),
    # the recognizer reads "Bloomberg" as a person's name here, and no sample article mentions it
    ("What did Bloomberg report about the drones over Ryazan?", "the articles never mention 'Bloomberg'"),
    ("According to a Reuters report, how many drones were intercepted?", "The library holds no article from Reuters."),
    ("What did the Russian Ministry of Defense report about the drones?", None),  # written about, no outlet
])
def test_the_pipeline_refuses_a_question_leaning_on_a_missing_outlet(seed_pipeline, question, reason):
    answer = seed_pipeline.ask(question)
    assert (answer.status, answer.refusal.reason if answer.refusal else None) == (
        ("refused", reason) if reason else ("answered", None))
    if reason:
        assert answer.closest  # the nearest passages are still shown to check


@pytest.mark.parametrize("question, texts, reason", [
    # the role asked must be the named thing's, by the grammar of a sentence
    ("Who is the CEO of Temu?",
     ["Temu, the Chinese e-commerce app, kept users for 18 minutes a day.",
      "Amazon's CEO Andy Jassy said the company would keep investing in its logistics."],
     "no article names the 'ceo' of 'Temu'"),
    ("Who is the CEO of Temu?",
     ["Temu's CEO said the company would keep investing in its logistics."], None),
    # an amount must be one the grammar ties to what is asked, not another deal's
    ("How much did Palo Alto Networks pay for Cider Security?",
     ["Palo Alto Networks bought Cider Security last year.",
      "Other deals include CrowdStrike acquiring the startup Bionic for $350 million."],
     "no article gives the amount asked about 'Palo Alto Networks'"),
    ("How much did Palo Alto Networks pay for Cider Security?",
     ["Palo Alto Networks paid $195 million for Cider Security last year."], None),
])
def test_what_is_asked_must_be_tied_to_what_the_question_names(scored, question, texts, reason):
    assert refusal_reason(analyse(question), scored(question, texts), tuning=Tuning(refusal_threshold=0.2)) == reason
