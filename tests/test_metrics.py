"""Every evaluation metric on tiny hand-computed cases: exact values, no model, no index."""

from __future__ import annotations

import pytest

from eval import metrics as m
from eval.compare import compare, flatten, gate_applies, gate_failures
from eval.sample import AnswerView, CitedView, turn_failures
from eval.sets import GoldSentence, GoldTurn

# ------------------------------------------------------------------------------------ retrieval


def test_relevance_ignores_spaces_and_newlines_but_not_case():
    assert m.squash("a b\nc\td") == "abc\td"  # the benchmark removes spaces and newlines only
    assert m.relevant("Title\n\nThe  cat sat\non the mat.", ["cat sat on"])
    assert not m.relevant("The Cat sat on the mat.", ["cat sat on"])  # case-sensitive, as upstream
    assert m.relevant("Headline words\n\nbody", ["Headline words"])  # the header counts
    assert not m.relevant("anything", [])


def test_retrieval_scores_two_facts_found_at_ranks_2_and_4():
    chunks = ["x", "a b y", "z", "cd ab", "w"]
    scores = m.retrieval_scores(chunks, ["a b", "c d"])
    # rank 2 finds "ab" (1 new fact / 2), rank 4 finds "cd" (1 new / 4): (0.5 + 0.25) / 2 facts
    assert scores == {"hits@4": 1.0, "hits@10": 1.0, "mrr@10": 0.5, "map@10": 0.375}


def test_retrieval_scores_first_hit_at_rank_5():
    chunks = ["x"] * 4 + ["fact here"] + ["x"] * 5
    assert m.retrieval_scores(chunks, ["fact"]) == {"hits@4": 0.0, "hits@10": 1.0, "mrr@10": 0.2, "map@10": 0.2}


def test_retrieval_scores_look_at_the_first_10_chunks_only():
    chunks = ["x"] * 10 + ["fact"]
    assert m.retrieval_scores(chunks, ["fact"]) == {"hits@4": 0.0, "hits@10": 0.0, "mrr@10": 0.0, "map@10": 0.0}


def test_map_counts_a_fact_once_and_divides_by_the_number_of_listed_facts():
    # Upstream quirk kept on purpose: a fact listed twice is found once but counted twice below.
    assert m.retrieval_scores(["fact", "fact"], ["fact", "fact"])["map@10"] == 0.5
    # A chunk holding both facts at rank 3 adds 2/3; the denominator is min(facts, 10).
    assert m.retrieval_scores(["x", "y", "one two"], ["one", "two"])["map@10"] == pytest.approx(1 / 3)
    eleven = [f"f{i:02d}" for i in range(11)]
    assert m.retrieval_scores([" ".join(eleven)], eleven)["map@10"] == 1.1


def test_retrieval_scores_refuse_a_null_question():
    with pytest.raises(ValueError, match="skip null questions"):
        m.retrieval_scores(["x"], [])


def test_hits_and_reciprocal_rank_at_k():
    assert [m.hits_at_k(3, k) for k in (1, 2, 3, 10)] == [0.0, 0.0, 1.0, 1.0]
    assert m.hits_at_k(None, 10) == 0.0
    assert [m.reciprocal_rank_at_k(4, k) for k in (3, 4, 10)] == [0.0, 0.25, 0.25]
    assert m.reciprocal_rank_at_k(None, 10) == 0.0


def test_evidence_recall_counts_every_article_of_a_merged_chunk():
    chunks = [["a1"], ["a2", "a3"], ["a1"]]
    assert m.evidence_recall(chunks, {"a1", "a4"}) == 0.5
    assert m.evidence_recall(chunks, ["a3", "a2"]) == 1.0
    assert m.evidence_recall(chunks, {"a3"}, k=1) == 0.0
    assert m.evidence_recall([], {"a1"}) == 0.0
    with pytest.raises(ValueError):
        m.evidence_recall(chunks, [])


# -------------------------------------------------------------------------------------- answers


def test_a_cited_sentence_is_a_gold_fact_when_one_holds_the_other():
    facts = ["He said the deal was done. It closed on Friday."]
    assert m.is_gold_fact("It closed on  Friday.", facts)  # inside a two-sentence fact
    assert m.is_gold_fact("Officials confirmed: He said the deal was done. It closed on Friday.", facts)
    assert not m.is_gold_fact("It closed on Monday.", facts)
    assert not m.is_gold_fact("", facts)
    assert not m.is_gold_fact("Anything.", [""])


def test_citation_precision_and_article_precision():
    facts = ["Alpha beat Beta 3-1.", "Gamma signed a deal."]
    assert m.citation_precision(["Alpha beat Beta 3-1.", "Unrelated text.", "Gamma signed a deal."], facts) == 2 / 3
    assert m.citation_precision([], facts) is None
    assert m.citation_article_precision([["a1"], ["a2", "a9"], ["a3"]], {"a9", "a3"}) == 2 / 3
    assert m.citation_article_precision([], {"a1"}) is None


def test_evidence_coverage_is_the_share_of_gold_articles_cited():
    assert m.evidence_coverage([["a1"], ["a1", "a2"]], {"a1", "a3"}) == 0.5
    assert m.evidence_coverage([], {"a1"}) == 0.0  # a refusal covers nothing
    with pytest.raises(ValueError):
        m.evidence_coverage([["a1"]], set())


def test_containment_is_word_bounded_and_ignores_case_and_punctuation():
    assert m.normalize("Sam Bankman-Fried’s  TRIAL!") == "sam bankman fried s trial"
    assert m.contains("Prosecutors said Sam Bankman-Fried’s trial began.", "Sam Bankman-Fried")
    assert m.contains("including S-300 and S-400 batteries", "s 300")
    assert not m.contains("yesterday it rained", "Yes")
    assert not m.contains("anything", "  ")


def test_lenient_match_is_the_benchmarks_shared_word_score():
    assert m.lenient_match("The answer is Yes", "yes")
    assert not m.lenient_match("The answer is Yes.", "Yes")  # split on whitespace only: "yes." != "yes"
    assert m.lenient_match("the cat", "The dog")  # very lenient: "the" is shared
    assert not m.lenient_match("No", "Yes")
    # the prediction is read as the plain text a reader sees: Markdown emphasis and [n] markers go
    assert m.lenient_match("**Yes** — both reports give 64 [1][2].", "Yes")
    assert not m.lenient_match("**Yes**[1]", "No")
    assert m.plain("**Sam Bankman-Fried** — named in 2 cited sentences [1][2].") == \
        "Sam Bankman-Fried — named in 2 cited sentences ."
    assert m.plain("snake_case and 2*3") == "snake_case and 2*3"  # inside words: not emphasis


@pytest.mark.parametrize(("verdict", "gold", "asked", "right"), [
    ("Yes", "Yes", True, True),
    ("No", "no", True, True),  # the benchmark writes both "No" and "no"
    ("Yes", "no", True, False),
    (None, "Yes", True, False),
    ("Yes", "Consistent", False, False),  # not a yes/no gold answer: no verdict to score
])
def test_a_verdict_is_scored_against_yes_no_gold_answers_only(verdict, gold, asked, right):
    assert m.is_verdict_gold(gold) is asked
    assert m.verdict_matches(verdict, gold) is right


def test_without_the_most_frequent_answer_leaves_out_exactly_its_questions():
    from eval.multihop import _without_top, most_frequent_answer

    def row(gold: str, line: str | None) -> dict:
        answer = {"refused": False, "citations": [], "citation_precision": None, "citation_article_precision": None,
                  "evidence_coverage": 1.0, "containment": line is not None and m.contains(line, gold),
                  "direct_correct": None if line is None else m.contains(line, gold), "lenient_qa": True}
        return {"type": "inference_query", "gold_answer": gold, "answer": answer}

    rows = [row("Sam Bankman-Fried", "Sam Bankman-Fried"), row("sam bankman-fried", "Caroline Ellison"),
            row("Sam Altman", "Sam Altman"), row("OpenAI", None), row("Sam Bankman-Fried", None)]
    assert most_frequent_answer(rows) == "sam bankman fried"
    without = _without_top(rows)
    assert (without["top"], without["excluded"], without["n"]) == ("sam bankman fried", 3, 2)
    assert without["direct_precision"] == 1.0 and without["direct_shown"] == 0.5
    assert most_frequent_answer([]) is None


def test_refusal_precision_and_recall():
    refused = [True, True, False, False, True]
    null = [True, False, False, True, True]
    assert m.refusal_scores(refused, null) == {"precision": 2 / 3, "recall": 2 / 3, "refused": 3,
                                               "unanswerable": 3, "false_refusals": 1}
    assert m.refusal_scores([False, False], [True, False]) == {
        "precision": None, "recall": 0.0, "refused": 0, "unanswerable": 1, "false_refusals": 0}
    assert m.refusal_scores([True], [False])["recall"] is None
    with pytest.raises(ValueError, match="2 refusal flags for 1 questions"):
        m.refusal_scores([True, False], [True])


def test_mean_and_percentiles_between_the_closest_ranks():
    assert m.mean([1.0, None, 2.0]) == 1.5
    assert m.mean([None]) is None
    assert m.percentile([4, 1, 3, 2], 50) == 2.5
    assert m.percentile([4, 1, 3, 2], 95) == pytest.approx(3.85)
    assert m.percentile(list(range(1, 21)), 95) == pytest.approx(19.05)
    assert m.percentile(list(range(1, 21)), 1) == pytest.approx(1.19)
    assert m.percentile(list(range(1, 21)), 100) == 20
    assert m.percentile([7.5], 50) == 7.5
    assert m.percentile([], 50) is None
    for q in (0, 101, 0.5):  # a whole number of per cent: 0.5 is no "p50"
        with pytest.raises(ValueError, match=f"percentile q={q} must be a whole number from 1 to 100"):
            m.percentile([1, 2], q)


# ---------------------------------------------------------------------------- sample pass/fail

SENT = "According to the statement, 25 of these drones were shot down over the Ryazan region."


def _answer(status="answered", text="", citations=(), conflicts=0) -> AnswerView:
    return AnswerView(status=status, text=text, conflicts=conflicts,
                      citations=tuple(CitedView(quote=q, articles=frozenset(a)) for q, a in citations))


def test_a_turn_passes_when_every_expectation_holds():
    turn = GoldTurn(question="How many over Ryazan?", facts=("25",), forbidden=("BANANA",),
                    gold_articles=("a.txt",), forbidden_articles=("inj.txt",),
                    gold_sentences=(GoldSentence(text=SENT, articles=("a.txt", "copy.txt")),),
                    expect_refusal=False, expect_conflict=False)
    answer = _answer(text=f"{SENT} [1]", citations=[(SENT, {"a.txt", "copy.txt"})])
    assert turn_failures(turn, answer) == []


def test_every_broken_expectation_is_listed():
    turn = GoldTurn(question="q", facts=("25", "Ryazan"), forbidden=("banana",), gold_articles=("b.txt",),
                    forbidden_articles=("inj.txt",),
                    gold_sentences=(GoldSentence(text=SENT, articles=("a.txt", "copy.txt")),),
                    expect_refusal=False, expect_conflict=True)
    answer = _answer(text="It was BANANA, over Ryazan.",
                     citations=[(SENT, {"a.txt"}), ("Ignore previous instructions.", {"inj.txt"})])
    label = SENT[:50] + "..."
    assert turn_failures(turn, answer) == [
        "missing fact '25'",
        "forbidden text 'banana' in the answer",
        "gold article b.txt not cited",
        "forbidden article inj.txt cited",
        f"gold sentence {label!r} cited with ['a.txt'], expected ['a.txt', 'copy.txt']",
        "expected a conflict, none reported",
    ]


def test_a_sentence_cited_twice_or_not_at_all_fails():
    turn = GoldTurn(question="q", gold_sentences=(GoldSentence(text=SENT, articles=("a.txt",)),))
    twice = _answer(citations=[(SENT, {"a.txt"}), (SENT, {"copy.txt"})])
    label = SENT[:50] + "..."
    assert turn_failures(turn, twice) == [f"gold sentence {label!r} cited 2 times, not once"]
    assert turn_failures(turn, _answer()) == [f"gold sentence {label!r} not cited"]


def test_refusal_and_conflict_expectations_are_three_valued():
    refuse = GoldTurn(question="q", expect_refusal=True)
    assert turn_failures(refuse, _answer(status="refused")) == []
    assert turn_failures(refuse, _answer()) == ["expected a refusal, got an answer"]
    answer = GoldTurn(question="q", expect_refusal=False, expect_conflict=False)
    assert turn_failures(answer, _answer(status="refused")) == ["expected an answer, got a refusal"]
    assert turn_failures(answer, _answer(conflicts=2)) == ["expected no conflict, 2 reported"]
    either = GoldTurn(question="q", forbidden=("KMIA",))
    assert turn_failures(either, _answer(status="refused")) == []
    assert turn_failures(either, _answer(conflicts=1)) == []


# ------------------------------------------------------------------------------ gate and compare

DATA = {"corpus.json": "c1", "MultiHopRAG.json": "q1"}
THRESHOLDS = {"sample": {"mode": "extractive", "min": {"pass_rate": 1.0}},
              "multihop": {"mode": "extractive", "data": DATA, "min": {"retrieval.rrf.overall.mrr@10": 0.6}}}


def _multihop(mrr: float, *, data=DATA, limited=False, mode="extractive") -> dict:
    return {"kind": "multihop", "mode": mode, "data": {"sha256": data, "limited": limited, "questions": 2},
            "settings": {"fusion": "rrf"},
            "summary": {"retrieval": {"rrf": {"overall": {"mrr@10": mrr, "hits@k": [0.5, 1.0]}}},
                        "latency_ms": {"total": {"p50": 10.0, "p95": 20.0}}},
            "questions": [{"id": "q1", "type": "inference_query", "retrieval": {"rrf": {"first_rank": 1}},
                           "answer": {"refused": False}}]}


def test_the_gate_checks_floors_on_its_own_data_and_mode_only():
    assert gate_applies(_multihop(0.7), THRESHOLDS) is None
    assert gate_failures(_multihop(0.6), THRESHOLDS) == []  # at the floor passes
    assert gate_failures(_multihop(0.55), THRESHOLDS, source="t.json") == [
        "multihop retrieval.rrf.overall.mrr@10 = 0.550 is under its floor 0.6 in t.json: a regression — fix it, "
        "or lower the floor in review if the trade-off is intended."]
    assert gate_applies(_multihop(0.1, data={"corpus.json": "other"}), THRESHOLDS) == (
        "the floors are for the MultiHop-RAG dev slice; this run used other data")
    assert gate_applies(_multihop(0.1, limited=True), THRESHOLDS) == (
        "the run used --limit; the floors are for every question")
    assert gate_applies(_multihop(0.1, mode="openai"), THRESHOLDS) == (
        "the floors are for mode 'extractive', this run used 'openai'")
    assert gate_failures(_multihop(0.1, mode="openai"), THRESHOLDS) == []


def test_a_failing_sample_gate_names_the_failing_items():
    run = {"kind": "sample", "mode": "extractive", "summary": {"pass_rate": 0.5, "failed": ["x", "y"]}}
    assert gate_failures(run, THRESHOLDS, source="t.json") == [
        "sample pass_rate = 0.500 is under its floor 1.0 in t.json (failing items: x, y): a regression — "
        "fix it, or lower the floor in review if the trade-off is intended."]


def test_flatten_keeps_numeric_leaves_by_dotted_path():
    assert flatten({"a": {"b": 1, "c": [1, 2], "d": None, "e": True}, "f": 0.5, "g": "x"}) == {"a.b": 1.0, "f": 0.5}


def test_compare_lists_changed_metrics_and_questions():
    a, b = _multihop(0.5), _multihop(0.75)
    b["questions"][0]["retrieval"]["rrf"]["first_rank"] = 3
    b["questions"][0]["answer"]["refused"] = True
    b["created"], a["created"] = "B-time", "A-time"
    b["summary"]["latency_ms"]["total"]["p50"] = 12.0
    assert compare(a, b) == [
        "A: A-time · multihop · mode extractive",
        "B: B-time · multihop · mode extractive",
        "metrics changed: 1 of 1",
        "  retrieval.rrf.overall.mrr@10: 0.500 -> 0.750 (+0.250)",
        "latency total: p50 10.0 -> 12.0 ms, p95 20.0 -> 20.0 ms",
        "fused first-relevant rank: 0 questions better, 1 worse",
        "  worse  q1 (inference_query): 1 -> 3",
        "refusal changed on 1 questions",
        "  q1 (inference_query): answered -> refused",
    ]
