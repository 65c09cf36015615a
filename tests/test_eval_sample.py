"""The sample gold set: the file validates, bad files fail with exact messages, and the whole set
passes in extractive mode when run through the real command line (real model, real Chroma)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import MULTIHOP, SEED_55, SEED_64, SEEDS

from eval.sets import KINDS, article_bodies, load_gold_set, validate
from index.errors import ConfigError
from rag.injection import is_instruction

EVAL = Path(__file__).resolve().parent.parent / "eval"
SAMPLE = EVAL / "sets" / "sample.jsonl"
SET_ARTICLES = EVAL / "sets" / "articles"


def test_the_sample_set_validates_and_covers_every_kind():
    items = load_gold_set(SAMPLE)
    validate(items, article_bodies([SEEDS, SET_ARTICLES]))
    kinds = [i.kind for i in items]
    assert len(items) >= 25
    assert set(kinds) == set(KINDS)
    assert kinds.count("injection") >= 5
    assert kinds.count("unanswerable") >= 5
    assert {len(i.turns) for i in items if i.kind == "followup"} >= {2, 3}
    probes = [t for i in items if i.kind == "injection" for t in i.turns]
    assert all("BANANA" in t.forbidden and "injection_probe.txt" in t.forbidden_articles for t in probes)
    shared = [s for i in items for t in i.turns for s in t.gold_sentences if len(s.articles) > 1]
    assert {a for s in shared for a in s.articles} == {SEED_64, "syndicated_ryazan_copy.txt"}


def test_the_two_samples_share_no_sentence_so_the_set_adds_a_syndicated_copy():
    """product.md says the samples repeat a closing sentence word for word; they do not, so the set
    brings its own syndicated copy (eval/sets/articles) to test citing a shared sentence once."""
    bodies = article_bodies([SEEDS, SET_ARTICLES])

    def sentences(name):
        return {s.strip() for s in re.split(r"(?<=[.!?”])\s+", bodies[name]) if s.strip()}

    assert sentences(SEED_64) & sentences(SEED_55) == set()
    assert len(sentences(SEED_64) & sentences("syndicated_ryazan_copy.txt")) == 2


def _write(tmp_path: Path, *items: dict) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    return path


@pytest.mark.parametrize(("items", "message"), [
    ([{"id": "a", "kind": "fact", "question": "Q?", "fact": ["x"]}],
     "set.jsonl:1 (a): unknown key 'fact': use one of expect_conflict, expect_refusal, facts, filters, "
     "forbidden, forbidden_articles, gold_articles, gold_sentences, id, kind, note, question, turns."),
    ([{"id": "a", "kind": "followup", "turns": [{"question": "Q?", "facts": ["x"]}, {"question": "R?", "fact": []}]}],
     "set.jsonl:1 (a) turn 2: unknown key 'fact': use one of expect_conflict, expect_refusal, facts, filters, "
     "forbidden, forbidden_articles, gold_articles, gold_sentences, note, question."),
    ([{"kind": "fact", "question": "Q?", "facts": ["x"]}], "set.jsonl:1: every item needs a non-empty string 'id'."),
    ([{"id": "a", "kind": "fact", "question": "Q?", "facts": ["x"]},
      {"id": "a", "kind": "fact", "question": "Q2?", "facts": ["y"]}],
     "set.jsonl:2: duplicate id 'a': ids must be unique."),
    ([{"id": "a", "kind": "trivia", "question": "Q?"}],
     "set.jsonl:1 (a): kind='trivia' is unknown: use one of " + ", ".join(KINDS) + "."),
    ([{"id": "a", "kind": "unanswerable", "question": "Q?", "expect_refusal": True, "facts": ["x"]}],
     "set.jsonl:1 (a): a turn expecting a refusal cannot also expect facts, citations or a conflict."),
    ([{"id": "a", "kind": "fact", "question": "Q?"}],
     "set.jsonl:1 (a): the turn expects nothing: add facts, gold_sentences, expect_refusal, ..."),
    ([{"id": "a", "kind": "fact", "question": "Q?", "expect_refusal": "no"}],
     "set.jsonl:1 (a): 'expect_refusal' must be true, false or absent, not 'no'."),
    ([{"id": "a", "kind": "followup", "turns": [{"question": "Q?", "facts": ["x"]}]}],
     "set.jsonl:1 (a): 'turns' must be a list of 2 to 5 turns (one question: use 'question')."),
    ([{"id": "a", "kind": "filter", "question": "Q?", "facts": ["x"], "filters": {"since": "yesterday"}}],
     "set.jsonl:1 (a): filters.since='yesterday' is not a YYYY-MM-DD date."),
])
def test_a_bad_gold_set_fails_with_the_line_and_the_fix(tmp_path, items, message):
    with pytest.raises(ConfigError) as error:
        load_gold_set(_write(tmp_path, *items))
    assert str(error.value) == f"{tmp_path}/{message}"


def test_validation_checks_article_names_and_where_each_gold_sentence_occurs(tmp_path):
    bodies = {"a.txt": "One fact here. A shared line.", "b.txt": "A shared line. Other."}
    ok = {"id": "s", "kind": "syndicated", "question": "Q?",
          "gold_sentences": [{"text": "A shared line.", "articles": ["a.txt", "b.txt"]}]}
    validate(load_gold_set(_write(tmp_path, ok)), bodies)
    too_few = {**ok, "gold_sentences": [{"text": "A shared line.", "articles": ["a.txt"]}]}
    with pytest.raises(ConfigError) as error:
        validate(load_gold_set(_write(tmp_path, too_few)), bodies)
    assert str(error.value) == ("s: the sentence 'A shared line.'... occurs in ['a.txt', 'b.txt'], "
                                "but the item lists ['a.txt'].")
    unknown = {**ok, "gold_articles": ["c.txt"]}
    with pytest.raises(ConfigError) as error:
        validate(load_gold_set(_write(tmp_path, unknown)), bodies)
    assert str(error.value) == "s: unknown article 'c.txt': use one of a.txt, b.txt."


def test_injection_patterns_flag_every_probe_and_no_news_sentence():
    probe = article_bodies([SET_ARTICLES])["injection_probe.txt"]
    assert [is_instruction(line) for line in probe.splitlines() if line.strip()] == [True] * 6
    news = [*article_bodies([SEEDS]).values(), article_bodies([SET_ARTICLES])["syndicated_ryazan_copy.txt"]]
    news += [a["body"] for a in json.loads((MULTIHOP / "corpus.json").read_text(encoding="utf-8"))]
    flagged = [s for body in news for s in re.split(r"(?<=[.!?])\s+", body) if is_instruction(s)]
    assert flagged == []


# ------------------------------------------------------------------ the set, through the CLI


@pytest.fixture(scope="module", params=["onnx-fp32", "onnx-int8"])
def sample_run(request, tmp_path_factory):
    """``newsrag eval sample`` in-process, in each encoder precision: its exit status and run folder
    (index in its own home)."""
    from ui.cli import main

    root = tmp_path_factory.mktemp("eval-sample")
    out = root / "run"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NEWSRAG_EMBED_BACKEND", request.param)
        status = main(["eval", "sample", "--home", str(root / "home"), "--out", str(out), "--mode", "extractive"])
    return status, out


@pytest.mark.slow
def test_the_sample_set_passes_in_extractive_mode(sample_run, request):
    status, out = sample_run
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    backend = request.node.callspec.params["sample_run"]
    assert (results["encoder"]["backend"], results["encoder"]["precision"]) == (backend, backend[-4:])
    assert results["encoder"]["index_precision"] == backend[-4:]
    failing = [f"{r['id']}, Q: {t['question']!r}\n    answer ({t['status']}): {t['answer']!r}\n"
               f"    cited: {[c['articles'] for c in t['citations']]}\n    " + "\n    ".join(t["failures"])
               for r in results["items"] for t in r["turns"] if t["failures"]]
    assert failing == [], "\n".join(failing)
    assert results["summary"]["pass_rate"] == 1.0
    assert status == 0


@pytest.mark.slow
def test_the_sample_run_folder_holds_results_report_and_plots(sample_run, tmp_path, capsys):
    from ui.cli import main

    _, out = sample_run
    assert sorted(p.name for p in out.iterdir()) == ["latency.png", "pass_by_kind.png", "report.md", "results.json"]
    for png in ("latency.png", "pass_by_kind.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.md").read_text(encoding="utf-8")
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    summary = results["summary"]
    assert f"**{summary['passed']} of {summary['items']} items pass" in report
    assert sorted(results["articles"]) == sorted([SEED_64, SEED_55, "injection_probe.txt",
                                                  "syndicated_ryazan_copy.txt"])
    # compare: the same run twice, then with one item flipped
    other = tmp_path / "other"
    shutil.copytree(out, other)
    flipped = json.loads((other / "results.json").read_text(encoding="utf-8"))
    item = next(i for i in flipped["items"] if i["id"] == "conflict-intercepted")
    item["passed"] = not item["passed"]
    (other / "results.json").write_text(json.dumps(flipped), encoding="utf-8")
    capsys.readouterr()
    assert main(["eval", "compare", str(out), str(out)]) == 0
    same = capsys.readouterr().out.splitlines()
    assert same[2] == f"metrics changed: 0 of {3 + 2 * len(KINDS)}" and same[-1] == "no item changed"
    assert main(["eval", "compare", str(out), str(other)]) == 0
    before, after = ("pass", "FAIL") if not item["passed"] else ("FAIL", "pass")
    assert capsys.readouterr().out.splitlines()[-1] == f"item conflict-intercepted: {before} -> {after}"
    # two runs of different encoder precisions are not like for like, and compare says so
    encoder = results["encoder"]
    other_precision = "int8" if encoder["precision"] == "fp32" else "fp32"
    flipped["encoder"] = {**encoder, "backend": f"onnx-{other_precision}", "precision": other_precision}
    (other / "results.json").write_text(json.dumps(flipped), encoding="utf-8")
    assert main(["eval", "compare", str(out), str(other)]) == 0
    assert (f"warning: the runs used different encoders ({encoder['backend']}, {encoder['precision']} -> "
            f"onnx-{other_precision}, {other_precision}); differences include the encoder's.") in \
        capsys.readouterr().out.splitlines()
    assert f"encoder `{encoder['backend']}` ({encoder['precision']} vectors, index {encoder['precision']};" in report


def test_compare_rejects_a_folder_that_is_not_a_run(tmp_path, capsys):
    from ui.cli import main

    assert main(["eval", "compare", str(tmp_path), str(tmp_path)]) == 1
    assert capsys.readouterr().err == (f"error: {tmp_path} is not a run: expected a folder with results.json "
                                       "written by `newsrag eval`.\n")
