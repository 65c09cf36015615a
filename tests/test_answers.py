"""Extractive answers over the sample articles: exact quotes, conflicts, refusals, follow-ups, and
the same answer from the Python API, the stream and `newsrag ask --json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
from conftest import ROOT

from index.errors import ConfigError, EmptyIndexError
from index.offline import OFFLINE_ENV
from rag.filters import make_filters
from rag.pipeline import Pipeline
from rag.settings import RagSettings
from rag.types import REFUSAL_TEXT, STAGES, Turn

RYAZAN = ("According to the statement, 25 of these drones were shot down over the Ryazan region, a critical "
          "area located approximately 400 kilometers southeast of Moscow.")
S400 = ("According to sources within the Russian defense establishment, advanced air defense systems, "
        "including S-300 and S-400 batteries, were deployed to counter the drone swarm.")
SAID_64 = ("The Russian Ministry of Defense has confirmed that its air defense forces intercepted and "
           "destroyed 64 Ukrainian drones during the night, marking one of the most intense engagements "
           "in recent weeks.")
SAID_55 = ("The Russian Air Defense Forces have intercepted 55 Ukrainian drones over Russian territory "
           "during the night, according to a late-breaking report from the Ministry of Defense of the "
           "Russian Federation.")


def assert_quotes_exact(pipeline, answer):
    for citation in answer.citations:
        where = citation.location
        body = pipeline.library.article(where.article_id).body
        assert body[where.start:where.end] == citation.quote


def test_ryazan_answers_25_with_the_sentence_that_says_so(seed_pipeline):
    answer = seed_pipeline.ask("How many drones were shot down over the Ryazan region?")
    assert answer.status == "answered" and answer.mode == "extractive"
    assert [c.quote for c in answer.citations] == [RYAZAN]
    assert answer.answer == f"**25 drones** [1].\n\n{RYAZAN} [1]"
    assert (answer.direct.kind, answer.direct.values) == ("number", (("25 drones", (1,)),))
    assert [(s.kind, s.text, s.citations) for s in answer.sentences] == [("quoted", RYAZAN, (1,))]
    assert answer.citations[0].location.title == 'Untitled — "The Russian Ministry of Defense has confirmed …"'
    assert answer.conflicts == ()
    assert_quotes_exact(seed_pipeline, answer)


def test_intercept_count_flags_the_64_55_conflict_with_a_citation_each(seed_pipeline):
    answer = seed_pipeline.ask("How many drones did Russian air defences intercept?")
    assert sorted(c.quote for c in answer.citations) == sorted([SAID_64, SAID_55])
    (conflict,) = answer.conflicts
    cited = {c.n: c.quote for c in answer.citations}

    def describe(n):
        return {SAID_55: "Miami News, KMIA", SAID_64: "outlet unknown"}[cited[n]]

    assert {cited[claim.n]: claim.text for claim in conflict.claims} == {
        SAID_64: "64 Ukrainian drones", SAID_55: "55 Ukrainian drones"}
    # neither article is dated: two reports of "the night" may be of different nights
    assert conflict.kind == "differ"
    first, second = sorted(conflict.claims, key=lambda claim: claim.n)
    assert conflict.note == (f"Reports differ: {first.text} — {describe(first.n)}, undated [{first.n}]; "
                             f"{second.text} — {describe(second.n)}, undated [{second.n}].")
    assert answer.answer.endswith("\n\n" + conflict.note)
    assert_quotes_exact(seed_pipeline, answer)


def test_air_defence_systems_cite_the_s300_s400_sentence(seed_pipeline):
    answer = seed_pipeline.ask("Which air defence systems were deployed against the drones?")
    assert answer.citations[0].quote == S400
    assert answer.citations[0].location.source == "Miami News, KMIA"


@pytest.mark.parametrize("question", ["Who won the 2022 World Cup?", "How many drones were shot down over Moscow?",
                                      "What is the capital of France?"])
def test_unanswerable_questions_are_refused_with_the_closest_passages(seed_pipeline, question):
    answer = seed_pipeline.ask(question)
    assert (answer.status, answer.answer, answer.citations, answer.conflicts) == ("refused", REFUSAL_TEXT, (), ())
    assert 1 <= len(answer.closest) <= 3
    assert answer.to_dict()["closest"][0]["text"]


def test_the_outlet_question_is_answered_from_the_header(seed_pipeline):
    answer = seed_pipeline.ask("Which outlet reported 55 drones?")
    assert answer.answer.startswith("Reported by Miami News, KMIA [1]. ")
    assert answer.citations[0].quote == SAID_55


def test_a_follow_up_is_read_against_the_previous_question(seed_pipeline):
    first = seed_pipeline.ask("How many drones were intercepted?")
    assert len(first.conflicts) == 1
    follow = seed_pipeline.ask("And over Ryazan?", history=[Turn(question=first.question, answer=first.answer)])
    assert [c.quote for c in follow.citations] == [RYAZAN]
    assert follow.question == "And over Ryazan?"


def test_an_outlet_filter_removes_the_other_side(seed_pipeline):
    answer = seed_pipeline.ask("How many drones did Russian air defences intercept?",
                               filters=make_filters(sources="Miami News, KMIA"))
    assert [c.quote for c in answer.citations][0] == SAID_55
    assert all(c.location.source == "Miami News, KMIA" for c in answer.citations)
    assert answer.conflicts == ()
    assert answer.to_dict()["filters"] == {"source": ["Miami News, KMIA"], "since": None, "until": None}


def test_the_answer_is_the_collected_stream(seed_pipeline):
    question = "How many drones did Russian air defences intercept?"
    events = list(seed_pipeline.stream(question))
    deltas = [e.text for e in events if e.kind == "delta"]
    assert [e.kind for e in events][-1] == "answer" and len(deltas) >= 2
    streamed = events[-1].answer
    assert "".join(deltas) == streamed.answer
    collected = seed_pipeline.ask(question)
    assert {**collected.to_dict(), "timings_ms": None} == {**streamed.to_dict(), "timings_ms": None}
    # every stage timed, in the order it ran
    assert tuple(streamed.timings_ms) == ("understand", "retrieve", "score", "gate", "select", "answer", "total")
    assert sum(streamed.timings_ms[s] for s in STAGES) <= streamed.timings_ms["total"]
    refused = seed_pipeline.ask("Who won the 2022 World Cup?")
    assert refused.status == "refused"  # the gate refused: nothing was selected or answered
    assert tuple(refused.timings_ms) == ("understand", "retrieve", "score", "gate", "total")


@pytest.mark.parametrize("question", [
    "Which air defence systems were deployed against the drones near Ryazan, while Moscow reported how many "
    "drones it intercepted?",  # two claims: searched as three texts
    # a day: the word searches read it as 2023-10-04, the encoder as typed, in the same one run
    "Which air defence systems were deployed against the drones near Ryazan on October 4, 2023, while Moscow "
    "reported how many drones it intercepted?",
])
def test_the_question_and_its_claims_take_one_encoder_run_made_while_it_is_parsed(seed_pipeline, monkeypatch,
                                                                                   question):
    embedder = seed_pipeline.library.embedder
    runs, batches = [], []
    states, embed = embedder._token_states, embedder.embed

    def spy_states(text):
        runs.append((text, threading.current_thread().name))
        return states(text)

    def spy(texts):
        batches.append(list(texts))
        return embed(texts)

    monkeypatch.setattr(embedder, "_token_states", spy_states)
    monkeypatch.setattr(embedder, "embed", spy)
    monkeypatch.setattr(embedder, "_states", type(embedder._states)())
    answer = seed_pipeline.ask(question)
    assert answer.status == "answered" and len(answer.claims) == 2
    assert runs == [(question, "newsrag-embed-ahead")]  # one run, ahead of the search, beside the parse
    info = seed_pipeline.understand(question)
    assert ("2023-10-04" in info.dated) == ("October 4, 2023" in question)
    claims = [p.said for p in info.parts]
    assert len(claims) == 2
    assert not [b for b in batches if question in b or set(claims) & set(b)]  # claims pooled, never run


def test_a_question_typed_without_its_question_mark_gets_the_same_answer_from_one_encoder_run(
        seed_pipeline, monkeypatch):
    embedder = seed_pipeline.library.embedder
    asked = "How many drones were shot down over the Ryazan region?"
    full = seed_pipeline.ask(asked)
    runs, states = [], embedder._token_states

    def spy_states(text):
        runs.append(text)
        return states(text)

    monkeypatch.setattr(embedder, "_token_states", spy_states)
    monkeypatch.setattr(embedder, "_states", type(embedder._states)())
    monkeypatch.setattr(embedder, "_cache", type(embedder._cache)())
    bare = seed_pipeline.ask(asked.rstrip("?"))
    assert runs == [asked]  # read as the question it is, once
    assert bare.question == asked.rstrip("?")  # the words typed
    assert (bare.answer, bare.citations, bare.direct) == (full.answer, full.citations, full.direct)


def test_cli_json_is_the_python_answer(seed_pipeline):
    question = "How many drones did Russian air defences intercept?"
    env = {**OFFLINE_ENV, "NEWSRAG_HOME": str(seed_pipeline.settings.index.home),
           "PATH": str(ROOT / ".venv/bin"), "NEWSRAG_MODEL_DIR": os.environ["NEWSRAG_MODEL_DIR"]}
    result = subprocess.run([sys.executable, "-m", "ui.cli", "ask", question, "--json"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    ours = seed_pipeline.ask(question).to_dict()
    assert set(printed) == {"question", "answer", "status", "mode", "direct", "claims", "refusal", "citations",
                            "conflicts", "closest", "sentences", "timings_ms", "filters"}
    assert {**printed, "timings_ms": None} == {**ours, "timings_ms": None}
    text = subprocess.run([sys.executable, "-m", "ui.cli", "ask", "Who won the World Cup?"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert text.stdout.startswith(f"{REFUSAL_TEXT}\n\nWhy: the best evidence scores ")
    assert "\n\nClosest passages (not citations):\n" in text.stdout


def test_bad_requests_fail_before_any_work(seed_pipeline, library):
    with pytest.raises(ConfigError, match="The question is empty"):
        seed_pipeline.ask("   ")
    with pytest.raises(ConfigError, match="top_k=0 must be between 1 and 50."):
        seed_pipeline.ask("drones?", top_k=0)
    with pytest.raises(ConfigError, match="The question is 2001 characters long; the limit is 2000."):
        seed_pipeline.ask("x" * 2001)
    empty = Pipeline(RagSettings(index=library.settings), library=library)
    with pytest.raises(EmptyIndexError, match=r"No articles indexed in .*chroma — run `newsrag ingest "
                                              r"data/articles` first\."):
        empty.ask("How many drones?")
