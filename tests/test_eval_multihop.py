"""The MultiHop-RAG runner: on the dev slice (marker ``multihop``: the CI gate on retrieval, the run
folder, compare) and, through the command line, on a three-article corpus written here."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import MULTIHOP

from eval import metrics as m
from eval.compare import compare, gate_applies, gate_failures, load_thresholds
from eval.multihop import FUSIONS
from eval.sets import load_multihop
from index.errors import ConfigError
from rag.types import STAGES, TIMINGS

TYPES = {"inference_query": 84, "comparison_query": 88, "temporal_query": 60, "null_query": 31}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def dev_run(multihop_library, tmp_path_factory):
    """The runner over every question of the dev slice, with the session's index of its corpus."""
    from eval.multihop import run_multihop
    from eval.report import write_run
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings

    pipeline = Pipeline(RagSettings(index=multihop_library.settings), library=multihop_library)
    results = run_multihop(load_multihop(MULTIHOP), pipeline=pipeline)
    out = tmp_path_factory.mktemp("multihop-run")
    write_run(results, out)
    return results, out


@pytest.mark.multihop
def test_retrieval_on_the_dev_slice_clears_the_floors_in_the_repository(dev_run):
    results, _ = dev_run
    thresholds = load_thresholds()
    assert gate_applies(results, thresholds) is None
    measured = {f: {k: round(v, 3) for k, v in results["summary"]["retrieval"][f]["overall"].items()
                    if isinstance(v, float)} for f in FUSIONS}
    assert gate_failures(results, thresholds) == [], measured
    # the floors sit under the values recorded beside them
    floors = thresholds["multihop"]["min"]
    for path, floor in floors.items():
        if path.startswith("retrieval."):
            _, fusion, _, metric = path.split(".")
            assert floor <= thresholds["multihop"]["measured"][fusion][metric], path
        else:  # answer metrics, recorded by their full path
            assert floor <= thresholds["multihop"]["measured"]["answers"][path], path


@pytest.mark.multihop
def test_every_question_is_scored_with_its_type(dev_run):
    results, _ = dev_run
    questions = results["questions"]
    assert len(questions) == 263 and results["data"]["questions_total"] == 263
    assert {t: sum(q["type"] == t for q in questions) for t in TYPES} == TYPES
    assert results["data"]["subset"] is True and results["data"]["limited"] is False
    assert results["index"]["articles"] == 60 and results["index"]["size_bytes"] > 0
    assert results["index"]["ingest"]["added"] == 0 and results["index"]["ingest"]["unchanged"] == 60
    for fusion in FUSIONS:
        overall = results["summary"]["retrieval"][fusion]["overall"]
        assert overall["n"] == 263 - TYPES["null_query"]
        assert overall["hits@k"][3] == overall["hits@4"] and overall["hits@k"][9] == overall["hits@10"]
        assert overall["mrr@k"][9] == pytest.approx(overall["mrr@10"])
    for q in questions:
        if q["type"] == "null_query":
            assert all(q["retrieval"][f] is None for f in FUSIONS)
            assert q["answer"]["citation_precision"] is None and q["answer"]["evidence_coverage"] is None
            continue
        for f in FUSIONS:
            r = q["retrieval"][f]
            # a chunk holding a gold fact (text match) lies in a gold article (URL match): the two
            # independent mappings must agree
            if r["hits@10"]:
                assert r["evidence_recall@10"] > 0, (q["id"], f)
            assert r["mrr@10"] == (1 / r["first_rank"] if r["first_rank"] else 0.0)
        if q["answer"]["refused"]:
            assert q["answer"]["evidence_coverage"] == 0.0 and q["answer"]["citations"] == []
            assert q["answer"]["containment"] is False


@pytest.mark.multihop
def test_answer_refusal_and_latency_summaries_agree_with_the_questions(dev_run):
    results, _ = dev_run
    questions, summary = results["questions"], results["summary"]
    refused = [q["answer"]["refused"] for q in questions]
    null = [q["type"] == "null_query" for q in questions]
    assert summary["refusal"] == m.refusal_scores(refused, null)
    assert summary["answers"]["overall"]["refusal_rate"] == sum(refused) / 263
    inference = [q for q in questions if q["type"] == "inference_query"]
    assert summary["answers"]["by_type"]["inference_query"]["containment"] == (
        sum(q["answer"]["containment"] for q in inference) / len(inference))
    for stage in TIMINGS:
        values = [q["answer"]["timings_ms"][stage] for q in questions if stage in q["answer"]["timings_ms"]]
        assert summary["latency_ms"][stage]["n"] == len(values) > 0
        assert summary["latency_ms"][stage]["p50"] == m.percentile(values, 50)
        assert summary["latency_ms"][stage]["p50"] <= summary["latency_ms"][stage]["p95"]
    for q in questions:
        t = q["answer"]["timings_ms"]
        stages = STAGES if not q["answer"]["refused"] else STAGES[:4]  # the gate's refusals: no select, no answer
        assert list(t) == [*stages, "total"]
        assert sum(t[s] for s in stages) <= t["total"] + 0.05  # rounded to 0.01 ms each


@pytest.mark.multihop
def test_the_run_folder_has_results_report_and_plots_and_compare_reads_it(dev_run, tmp_path, capsys):
    from ui.cli import main

    results, out = dev_run
    assert sorted(p.name for p in out.iterdir()) == [
        "latency.png", "metrics_by_type.png", "report.md", "results.json", "retrieval_at_k.png"]
    for png in ("latency.png", "metrics_by_type.png", "retrieval_at_k.png"):
        assert (out / png).read_bytes()[:8] == PNG
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| Published best, full 609-article corpus (different corpus size) | 0.663 | 0.747 | 0.586 |" in report
    fused = results["summary"]["retrieval"]["rrf"]["overall"]
    assert (f"| fused (weighted RRF) | {fused['hits@4']:.3f} | {fused['hits@10']:.3f} | {fused['mrr@10']:.3f} |"
            in report)
    assert "Tang & Yang" in report and "ODC-BY 1.0" in report
    assert "![retrieval_at_k.png](retrieval_at_k.png)" in report
    # compare: a run with itself, then with one question retrieved worse
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert compare(saved, saved)[2].startswith("metrics changed: 0 of ")
    worse = tmp_path / "worse"
    shutil.copytree(out, worse)
    q = next(q for q in saved["questions"] if (q["retrieval"]["rrf"] or {}).get("first_rank") == 1)
    q["retrieval"]["rrf"]["first_rank"] = 2
    saved["summary"]["retrieval"]["rrf"]["overall"]["mrr@10"] -= 0.5 / 232
    (worse / "results.json").write_text(json.dumps(saved), encoding="utf-8")
    capsys.readouterr()
    assert main(["eval", "compare", str(out), str(worse)]) == 0
    lines = capsys.readouterr().out.splitlines()
    mrr = fused["mrr@10"]
    assert f"  retrieval.rrf.overall.mrr@10: {mrr:.3f} -> {mrr - 0.5 / 232:.3f} (-0.002)" in lines
    assert "fused first-relevant rank: 0 questions better, 1 worse" in lines
    assert f"  worse  {q['id']} ({q['type']}): 1 -> 2" in lines


# ---------------------------------------------------------------- data loading (no model needed)


def test_limit_takes_the_first_questions_and_turns_the_gate_off():
    data = load_multihop(MULTIHOP, limit=5)
    in_file = json.loads((MULTIHOP / "MultiHopRAG.json").read_text(encoding="utf-8"))
    assert [q.id for q in data.questions] == [q["query_id"] for q in in_file[:5]]
    assert data.n_questions_total == 263 and data.n_articles == 60
    run = {"kind": "multihop", "mode": "extractive", "data": {"sha256": dict(data.sha256), "limited": True}}
    assert gate_applies(run, load_thresholds()) == "the run used --limit; the floors are for every question"


def test_a_folder_without_the_benchmark_files_is_refused(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_multihop(tmp_path)
    assert str(error.value) == (f"{tmp_path}/corpus.json is missing: --data must be a folder with corpus.json "
                                "and MultiHopRAG.json (the MultiHop-RAG format); corpus.json lists the articles.")
    (tmp_path / "corpus.json").write_text(json.dumps([{"url": "https://a.example/1", "body": "x"}]))
    (tmp_path / "MultiHopRAG.json").write_text(json.dumps([{
        "query_id": "t9", "query": "Q?", "answer": "A", "question_type": "inference_query",
        "evidence_list": [{"url": "https://b.example/2", "fact": "F."}]}]))
    with pytest.raises(ConfigError) as error:
        load_multihop(tmp_path)
    assert str(error.value) == (f"{tmp_path}/MultiHopRAG.json: t9 cites https://b.example/2, which is not in "
                                f"{tmp_path}/corpus.json: use the corpus the questions were written for.")
    with pytest.raises(ConfigError, match=r"--limit 0 must be at least 1\."):
        load_multihop(MULTIHOP, limit=0)


# ----------------------------------------------------- the command line on a tiny corpus of ours

CORPUS = [
    {"doc_id": "d1", "title": "Harbor town opens a lighthouse museum", "author": "A. Writer", "source": "Coastal Times",
     "published_at": "2023-10-01T10:00:00+00:00", "category": "culture", "url": "https://example.org/lighthouse",
     "body": "The harbor town of Port Ellis opened a lighthouse museum on Saturday. The museum displays a brass "
             "lens made in 1890. Visitors can climb the tower on weekends."},
    {"doc_id": "d2", "title": "Quill takes the Valley Marathon", "author": "B. Writer", "source": "Sports Daily",
     "published_at": "2023-10-02T10:00:00+00:00", "category": "sports", "url": "https://example.org/marathon",
     "body": "Runner Mara Quill won the Valley Marathon in two hours and eight minutes. She finished forty "
             "seconds ahead of the defending champion. Organisers said a record crowd lined the course."},
    {"doc_id": "d3", "title": "Voltera revenue beats forecasts", "author": "C. Writer", "source": "Market Wire",
     "published_at": "2023-10-03T10:00:00+00:00", "category": "business", "url": "https://example.org/chips",
     "body": "Chipmaker Voltera reported quarterly revenue of 4 billion dollars. The company plans a new factory "
             "in Ohio. Its shares rose five percent after the report."},
]


def _evidence(doc: dict, fact: str) -> dict:
    return {k: doc[k] for k in ("title", "author", "url", "source", "category", "published_at")} | {"fact": fact}


QUESTIONS = [
    {"query_id": "t1", "query": "Who won the Valley Marathon, as reported by Sports Daily?", "answer": "Mara Quill",
     "question_type": "inference_query",
     "evidence_list": [_evidence(CORPUS[1], "Runner Mara Quill won the Valley Marathon in two hours and eight minutes.")]},
    {"query_id": "t2", "query": "Does the Port Ellis museum display a brass lens, and does Voltera plan a factory in Ohio?",
     "answer": "Yes", "question_type": "comparison_query",
     "evidence_list": [_evidence(CORPUS[0], "The museum displays a brass lens made in 1890."),
                       _evidence(CORPUS[2], "The company plans a new factory in Ohio.")]},
    {"query_id": "t3", "query": "Which team won the 1954 World Cup final in Bern?", "answer": "Insufficient information.",
     "question_type": "null_query", "evidence_list": []},
]


def _write(folder, corpus, questions):
    folder.mkdir(exist_ok=True)
    (folder / "corpus.json").write_text(json.dumps(corpus), encoding="utf-8")
    (folder / "MultiHopRAG.json").write_text(json.dumps(questions), encoding="utf-8")


@pytest.mark.slow
def test_the_command_line_indexes_once_reuses_and_prunes_its_own_collection(tmp_path, capsys):
    from ui.cli import main

    data, home = tmp_path / "tiny-set", tmp_path / "home"
    _write(data, CORPUS, QUESTIONS)
    assert main(["eval", "multihop", "--data", str(data), "--home", str(home), "--out", str(tmp_path / "r1")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "gate (multihop): not applied — the floors are for the MultiHop-RAG dev slice; this run used other data")
    first = json.loads((tmp_path / "r1" / "results.json").read_text(encoding="utf-8"))
    assert first["index"]["collection"] == "eval-multihop-tiny-set"
    assert first["index"]["where"].startswith(str(home / "eval" / "eval-multihop-tiny-set"))
    assert not (home / "chroma").exists()  # the user's own index is untouched
    assert first["index"]["ingest"] == {"added": 3, "updated": 0, "unchanged": 0, "duplicates": 0, "removed": 0,
                                        "chunks_written": 3}
    for fusion in FUSIONS:  # 3 one-chunk articles: every chunk is in the first 10
        overall = first["summary"]["retrieval"][fusion]["overall"]
        assert (overall["hits@10"], overall["evidence_recall@10"], overall["n"]) == (1.0, 1.0, 2)
    answers = {q["id"]: q["answer"] for q in first["questions"]}
    assert answers["t3"]["refused"] is True and first["summary"]["refusal"]["recall"] == 1.0
    assert answers["t1"]["containment"] is True  # the answer quotes "Runner Mara Quill won ..."
    assert first["data"]["subset"] is True and first["data"]["questions"] == 3

    # unchanged data: nothing is embedded again
    assert main(["eval", "multihop", "--data", str(data), "--home", str(home), "--out", str(tmp_path / "r2"),
                 "--limit", "1"]) == 0
    second = json.loads((tmp_path / "r2" / "results.json").read_text(encoding="utf-8"))
    assert second["index"]["ingest"]["unchanged"] == 3 and second["index"]["ingest"]["chunks_written"] == 0
    assert second["data"]["limited"] is True and [q["id"] for q in second["questions"]] == ["t1"]

    # an article gone from corpus.json leaves the collection
    _write(data, CORPUS[1:], [QUESTIONS[0], QUESTIONS[2]])
    assert main(["eval", "multihop", "--data", str(data), "--home", str(home), "--out", str(tmp_path / "r3")]) == 0
    third = json.loads((tmp_path / "r3" / "results.json").read_text(encoding="utf-8"))
    assert third["index"]["ingest"]["removed"] == 1 and third["index"]["articles"] == 2
