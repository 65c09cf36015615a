"""The tuning harness (eval/tune.py): the utility of an answer, reproducible folds, coordinate ascent,
and a cross-validated choice on captured evidence of the sample articles."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from eval import tune
from rag.tuning import Tuning


def _row(kind: str, *, refused: bool = False, precision=None, coverage=0.0, line=None, contained=False,
         verdict=None) -> dict:
    return {"type": kind, "answer": {"refused": refused, "citation_precision": precision, "evidence_coverage": coverage,
                                     "direct_correct": line, "containment": contained, "verdict_correct": verdict}}


@pytest.mark.parametrize(("row", "value"), [
    (_row("null_query", refused=True), 1.0),  # a refusal of what the articles do not answer
    (_row("null_query"), 0.0),
    (_row("inference_query", refused=True), -0.5),  # refusing an answerable question costs half
    (_row("inference_query", precision=0.5, coverage=1.0, line=True, contained=True), 0.65 + 0.5 + 0.5),
    (_row("inference_query", precision=0.5, coverage=1.0, line=False, contained=False), 0.65 - 2.0),  # wrong line
    (_row("comparison_query", precision=1.0, coverage=0.5, verdict=True), 0.85 + 0.5),
    (_row("comparison_query", precision=None, coverage=0.5, verdict=False), 0.15 - 2.0),
])
def test_the_utility_of_an_answer(row, value):
    assert tune.utility(row) == pytest.approx(value)


def test_folds_are_a_partition_and_the_same_every_run():
    folds = tune.folds_of(103, 5)
    assert sorted(i for f in folds for i in f) == list(range(103))
    assert [len(f) for f in folds] == [21, 21, 21, 20, 20]
    assert folds == tune.folds_of(103, 5) and folds != tune.folds_of(103, 5, seed=1)


@dataclass
class _Replayer:
    """Rows whose utility peaks at refusal_threshold 0.25 and names_floor 0.5 (and counts runs)."""

    cases: list
    runs: int = 0

    def run(self, tuning: Tuning) -> list[dict]:
        self.runs += 1
        good = abs(tuning.refusal_threshold - 0.25) < 1e-9 and abs(tuning.names_floor - 0.5) < 1e-9
        return [_row("null_query", refused=good or i % 2 == 0) for i in range(len(self.cases))]


def test_coordinate_ascent_finds_the_best_values_of_the_space_and_keeps_ties():
    space = {"refusal_threshold": (0.2, 0.225, 0.25, 0.3), "names_floor": (0.4, 0.5, 0.6)}
    replayer = _Replayer(cases=list(range(10)))
    chosen, best = tune.search(replayer, replace(Tuning(), refusal_threshold=0.225, names_floor=0.6), range(10),
                               space=space, passes=2)
    # from (0.225, 0.6): no threshold alone helps (ties keep the current value); names_floor 0.5 alone
    # neither; so nothing changes: coordinate ascent is greedy, and says so
    assert (chosen.refusal_threshold, chosen.names_floor, best) == (0.225, 0.6, 0.5)
    start = replace(Tuning(), names_floor=0.5)
    chosen, best = tune.search(replayer, start, range(10), space=space, passes=2)
    assert (chosen.refusal_threshold, chosen.names_floor, best) == (0.25, 0.5, 1.0)


def test_semantic_weight_carries_the_lexical_weight_with_it():
    tuned = tune.with_value(Tuning(), "semantic_weight", 0.7)
    assert (tuned.semantic_weight, tuned.lexical_weight) == (0.7, 0.3)


@pytest.mark.slow
def test_cross_validation_on_captured_sample_evidence_reports_held_out_figures(seed_pipeline):
    """Real capture and replay over the sample articles: the replay of the shipped tuning answers as
    the pipeline does, and the cross-validated report has every figure with its spread."""
    from eval.sets import MultihopQuestion

    questions = [MultihopQuestion(id=f"q{i}", query=q, answer=a, type=t, facts=f, urls=("seed",))
                 for i, (q, a, t, f) in enumerate([
                     ("How many drones were shot down over the Ryazan region?", "25", "inference_query",
                      ("25 of these drones were shot down over the Ryazan region",)),
                     ("Which outlet reported 55 drones?", "Miami News", "inference_query",
                      ("have intercepted 55 Ukrainian drones",)),
                     ("Who won the 2022 World Cup?", "Insufficient information.", "null_query", ()),
                     ("What did CNN report about the drones?", "Insufficient information.", "null_query", ())])]
    by_url = {"seed": next(iter(seed_pipeline.library.catalog().articles))}
    cases = tune.capture(seed_pipeline, questions, by_url)
    replayer = tune.Replayer(seed_pipeline, cases)
    rows = replayer.run(seed_pipeline.tuning)
    assert [r["answer"]["refused"] for r in rows] == [False, False, True, True]
    for case, row in zip(cases, rows, strict=True):  # the replay is the pipeline's own answer
        asked = seed_pipeline.ask(case.question.query)
        assert (asked.status == "refused") == row["answer"]["refused"]
        assert (asked.direct.text if asked.direct else None) == row["answer"]["direct"]
    space = {"refusal_threshold": (0.2, 0.225, 0.25)}
    result = tune.cross_validate(replayer, seed_pipeline.tuning, k=2, space=space)
    assert len(result["folds"]) == 2 and set(result["chosen"]) == set(space)
    assert result["cross_validated"]["refusal recall"] == {"mean": 1.0, "sd": 0.0}


def test_fields_outside_the_space_are_refused_in_one_line(capsys, tmp_path):
    with pytest.raises(SystemExit) as stopped:
        tune.main(["--data", str(tmp_path), "--fields", "verdict_support,rrf_k"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        "--fields: rrf_k not searched by eval.tune (fields: " + ", ".join(tune.SPACE) + ")")
