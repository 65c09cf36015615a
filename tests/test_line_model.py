"""The answer line's learned model (rag/line_model.py): deterministic training, the file it is
shipped as, and the line it shows or withholds beside the ratio rule it replaces."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
from helpers import sentence

from eval import train_line
from index.errors import ConfigError
from rag import line_model
from rag.analysis import analyse
from rag.direct import choose_name, line_candidate
from rag.line_model import FEATURES, LineModel, fit
from rag.tuning import Tuning

TUNING = Tuning()


def _rows(n: int = 60) -> tuple[list[list[float]], list[int]]:
    """A small fixed data set: the label follows the lead and the sentences, with exceptions."""
    rows, labels = [], []
    for i in range(n):
        lead = (i % 7) / 2.0
        sentences = 2 + i % 4
        rows.append([lead, sentences, i % 3, 1 + i % 2, i % 2, 0.5 + (i % 5) / 10, i % 2, 0.3 + (i % 6) / 10,
                     1 + i % 3, i % 2, 0.2 + (i % 8) / 10, 0.5 + (i % 4) / 4])
        labels.append(int(lead + 0.3 * sentences > 2.0) ^ int(i % 13 == 0))
    return rows, labels


def test_training_is_deterministic_and_learns_the_direction_of_the_data():
    rows, labels = _rows()
    first, second = fit(rows, labels), fit(rows, labels)
    assert first.to_json() == second.to_json()
    assert json.dumps(first.to_json(), sort_keys=True) == json.dumps(fit(rows, labels).to_json(), sort_keys=True)
    lead = FEATURES.index("log_lead")
    assert first.coef[lead] > 0  # a bigger lead over the next name: more often right
    strong, weak = list(rows[0]), list(rows[0])
    strong[lead], weak[lead] = 3.0, 0.0
    assert first.probability(strong) > 0.5 > first.probability(weak)


def test_a_model_file_round_trips_and_a_stale_one_is_refused_in_one_line(tmp_path):
    rows, labels = _rows()
    model = fit(rows, labels, trained={"command": "python -m eval.train_line --data x"})
    path = tmp_path / "m.json"
    path.write_text(json.dumps(model.to_json()), encoding="utf-8")
    assert line_model.load(path) == model
    stale = {**model.to_json(), "features": ["log_lead"]}
    path2 = tmp_path / "stale.json"
    path2.write_text(json.dumps(stale), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"was trained for other features .* python -m eval.train_line"):
        line_model.load(path2)
    assert line_model.load(tmp_path / "none.json") is None


def test_the_shipped_model_is_for_these_features_and_records_how_it_was_trained():
    model = line_model.load()
    assert model is not None and len(model.coef) == len(FEATURES)
    trained = model.trained
    assert trained["command"].startswith("python -m eval.train_line --data ")
    assert set(trained["sha256"]) == {"corpus.json", "MultiHopRAG.json"}
    assert TUNING.line_probability == (trained["veto_probability"] if TUNING.line_model == 2
                                       else trained["line_probability"])
    # the value the model stands alone from was measured (``eval.train_line`` measures each of ALONE)
    assert TUNING.line_alone_probability in train_line.ALONE
    assert f"veto or alone {TUNING.line_alone_probability} all precision" in trained["cross_validated"]
    assert trained["alone_probability"] in train_line.ALONE and len(trained["alone_by_fold"]) == trained["folds"]


# two names nearly as strong as each other (Ellison cited, Wang not): under the ratio rule's lead
CANDS = [sentence("Caroline Ellison ran the trading firm for two years.", source="Fortune", article="a", score=0.6),
         sentence("Caroline Ellison testified that she had committed fraud.", source="Fortune", article="b",
                  score=0.5),
         sentence("Ellison said the firm took customer money.", source="The Age", article="c", score=0.5),
         sentence("Gary Wang wrote the code that hid the losses.", source="Fortune", article="d", score=0.75),
         sentence("Gary Wang testified for the prosecution.", source="The Age", article="e", score=0.75),
         sentence("Gary Wang pleaded guilty last year.", source="The Age", article="f", score=0.75)]
QUESTION = "Who ran the trading firm and testified about fraud?"


def _model(intercept: float) -> LineModel:
    return LineModel(coef=(0.0,) * len(FEATURES), intercept=intercept, mean=(0.0,) * len(FEATURES),
                     scale=(1.0,) * len(FEATURES), trained={})


@pytest.mark.parametrize(("use", "model", "alone", "shown"), [
    (1, None, 0.97, None),  # no model: the ratio rule (under its lead)
    (1, _model(3.0), 0.97, "Caroline Ellison"),  # the model alone, sure: shown
    (1, _model(-3.0), 0.97, None),  # the model alone, in doubt: withheld
    (2, _model(3.0), 1.01, None),  # the ratio proposes, and it proposes nothing here
    (2, _model(3.0), 0.95, "Caroline Ellison"),  # ... but the model is sure (0.953) enough to stand alone
    (2, _model(3.0), 0.97, None),  # ... not this sure
    (2, _model(1.0), 0.85, None),  # ... and at 0.731 it stands with the ratio only
])
def test_the_model_decides_the_line_where_the_ratio_rule_would(use, model, alone, shown):
    question = analyse(QUESTION)
    tuning = replace(TUNING, line_model=use, line_alone_probability=alone)
    choice = choose_name(question, CANDS[:3], CANDS, tuning=tuning, model=model)
    assert (choice.name if choice else None) == shown


@pytest.mark.parametrize(("use", "intercept", "shown"), [
    (0, -3.0, "Caroline Ellison"),  # the ratio alone: ahead, shown
    (2, 3.0, "Caroline Ellison"),  # the ratio proposes, the model agrees
    (2, -3.0, None),  # the ratio proposes, the model withholds
])
def test_the_model_can_withhold_what_the_ratio_proposes(use, intercept, shown):
    clear = CANDS[:3]  # Ellison alone: far ahead
    choice = choose_name(analyse(QUESTION), clear, clear, tuning=replace(TUNING, line_model=use),
                         model=_model(intercept) if use else None)
    assert (choice.name if choice else None) == shown


def test_the_features_are_what_the_evidence_says_of_the_name():
    choice, features, ahead = line_candidate(analyse(QUESTION), CANDS[:3], CANDS, tuning=TUNING)
    named = dict(zip(FEATURES, features, strict=True))
    assert choice.name == "Caroline Ellison" and not ahead  # 2.4 against 2.25: under 1.1 times
    assert (named["sentences"], named["cited"], named["articles"]) == (3.0, 3.0, 3.0)
    assert named["log_lead"] == pytest.approx(math.log(2.4 / 2.25))
    assert (named["in_best"], named["words"], named["person"]) == (0.0, 2.0, 1.0)  # Wang's 0.75 is the best
    assert named["share"] == pytest.approx(2.4 / 4.65) and named["names"] == pytest.approx(math.log1p(2))
    assert named["top_weight"] == pytest.approx(0.6 * TUNING.cited_weight)


def test_the_answerer_reads_the_model_only_when_the_tuning_says_so(monkeypatch):
    from rag.answering import AnswerContext
    from rag.extractive import ExtractiveAnswerer
    from rag.selection import Pick
    from rag.settings import RagSettings

    monkeypatch.setattr(line_model, "load", lambda *a: _model(3.0))  # a model sure of every name
    lines = []
    for value in (1, 0):  # the model alone; the ratio alone
        settings = RagSettings.from_env().with_(tuning=replace(TUNING, line_model=value))
        context = AnswerContext(info=analyse(QUESTION), passages=[], candidates=CANDS,
                                picks=[Pick(c, None) for c in CANDS[:3]], history=(), embed=None)
        answer = [e for e in ExtractiveAnswerer(settings=settings).stream(context) if e.kind == "draft"][-1]
        lines.append(answer.draft.direct.text if answer.draft.direct else None)
    assert lines[0] == "Caroline Ellison" and lines[1] is None  # the ratio withholds it


def test_cross_validation_measures_the_model_and_the_ratio_rule_on_held_out_questions():
    from types import SimpleNamespace

    rows, labels = _rows(60)
    cases = [SimpleNamespace(question=SimpleNamespace(type="inference_query", answer="Sam" if i % 3 else f"n{i}"))
             for i in range(60)]
    examples = [{"case": i, "type": "inference_query", "gold": "sam" if i % 3 else f"n{i}", "features": row,
                 "label": label, "ahead": row[0] >= 1.0} for i, (row, label) in enumerate(zip(rows, labels,
                                                                                                 strict=True))]
    contained = {i: False for i in range(60)}
    first = train_line.cross_validate(examples, cases, contained, k=3)
    assert first == train_line.cross_validate(examples, cases, contained, k=3)  # the same every run
    summary = first["cross_validated"]
    assert len(first["folds"]) == 3 and all(f["threshold"] in train_line.THRESHOLDS for f in first["folds"])
    for rule in ("model", "ratio rule"):
        shown = summary[f"{rule} all shown"]["mean"]
        # nothing is contained without a line: the containment is the share of right lines shown
        assert summary[f"{rule} all containment"]["mean"] == pytest.approx(
            shown * summary[f"{rule} all precision"]["mean"], abs=0.05)
    ratio = [e for e in examples if e["ahead"]]
    assert summary["ratio rule all shown"]["mean"] == pytest.approx(len(ratio) / 60)
    # the model never stands alone at 1.01: the veto's figures; from lower, at least as many lines
    for key in ("precision", "shown", "containment"):
        assert summary[f"veto or alone 1.01 all {key}"] == summary[f"veto all {key}"]
    assert summary["veto or alone 0.85 all shown"]["mean"] >= summary["veto all shown"]["mean"]
    assert all(f["alone threshold"] in train_line.ALONE and f["alone threshold"] >= f["veto threshold"]
               for f in first["folds"])
