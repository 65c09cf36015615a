"""``python -m eval.train_line``: train the answer line's model (``rag/line_model.py``) on the
MultiHop-RAG train split, cross-validated over questions, and write ``rag/models/answer_line.json``.

Each question is read once (``eval.tune.capture``) and answered with the shipped values up to the
answer line; where a name of the type asked leads the evidence (``rag.direct.line_candidate``), its
features become an example, labelled 1 when the name holds the gold answer (a line on a question
the articles do not answer is wrong). A logistic regression (``rag.line_model.fit``, deterministic)
is fitted on the examples of ``k - 1`` folds with the probability to show a line from chosen there
(the best of ``THRESHOLDS`` for ``eval.tune``'s utility: a right line +0.5, a wrong one -2), and
measured on the held-out fold beside the ratio rule it replaces (``Tuning.name_ahead``), the ratio
rule with the model's veto (``Tuning.line_model`` 2), and the veto with the model showing alone a name
it is sure of (``Tuning.line_alone_probability``, chosen from ``ALONE``; each of its values is measured
too). The model written is fitted on every example, with its command, the data's sha256 and the
cross-validated figures.

    python -m eval.train_line --data ../shared/datasets/multihop-rag-train [--out rag/models/answer_line.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Sequence
from pathlib import Path

from eval import metrics as m
from eval.multihop import most_frequent_answer
from eval.report import fmt
from eval.tune import FOLDS, LINE_RIGHT, LINE_WRONG, SEED, Replayer, folds_of, read_split

THRESHOLDS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
# ``Tuning.line_alone_probability``: from which the model shows a name the ratio does not propose
# (1.01: never)
ALONE = (0.85, 0.9, 0.95, 0.97, 0.99, 1.01)
L2 = 1.0
INFERENCE = "inference_query"


def examples(replayer: Replayer, tuning) -> list[dict]:
    """One example per question whose evidence leads with a name of the type asked."""
    from rag.direct import line_candidate
    from rag.gate import refusal_reason
    from rag.pipeline import _names_of
    from rag.selection import select

    pipeline = replayer.base
    names_of = _names_of(pipeline.library.catalog())
    out = []
    for i, (case, cands) in enumerate(zip(replayer.cases, replayer.scored(tuning), strict=True)):
        info = case.info
        if refusal_reason(info, cands, tuning=tuning) is not None:
            continue
        picks = select(info, cands, tuning=tuning, max_sentences=pipeline.settings.max_sentences)
        outlets = sorted({s for c in cands for s in c.sources})
        found = line_candidate(info, [p.candidate for p in picks], cands, outlets, names_of, tuning=tuning)
        if not isinstance(found, tuple):
            continue
        choice, features, ahead = found
        q = case.question
        right = q.answerable and m.contains(choice.name, q.answer)
        out.append({"case": i, "type": q.type, "gold": m.normalize(q.answer), "name": choice.name,
                    "features": list(features), "label": int(right), "ahead": bool(ahead)})
    return out


def utility(shown: Sequence[dict]) -> float:
    return sum(LINE_RIGHT if e["label"] else LINE_WRONG for e in shown)


def choose_threshold(model, rows: Sequence[dict]) -> float:
    """The probability from which a line is shown that does best on ``rows`` (ties: the higher)."""
    scored = [(model.probability(e["features"]), e) for e in rows]
    return max(THRESHOLDS, key=lambda t: (utility([e for p, e in scored if p >= t]), t))


def veto_or_alone(rows: Sequence[dict], probability: dict[int, float], veto: float, alone: float) -> list[dict]:
    """The examples ``Tuning.line_model`` 2 shows a line for: proposed by the ratio rule and not
    vetoed (a probability of ``veto`` or more), or given ``alone`` or more by the model
    (``probability``: by ``id`` of the example)."""
    return [e for e in rows if e["ahead"] and probability[id(e)] >= veto or probability[id(e)] >= alone]


def choose_alone(model, rows: Sequence[dict], veto: float) -> float:
    """The probability from which the model alone shows a line, beside the ratio rule it may veto
    at ``veto``, that does best on ``rows`` (ties: the higher)."""
    p = {id(e): model.probability(e["features"]) for e in rows}
    return max((a for a in ALONE if a >= veto), key=lambda a: (utility(veto_or_alone(rows, p, veto, a)), a))


def figures(shown: Sequence[dict], questions: Sequence[int], top: str | None, contained: dict[int, bool],
            gold: dict[int, str]) -> dict:
    """Precision and share shown of the lines on the inference questions ``questions`` (case
    indexes), and the share whose answer holds the gold answer (``contained``: without any line;
    a right line adds it); the same without the most frequent gold answer ``top``."""
    def of(rows, cases):
        right = {e["case"] for e in rows if e["label"]}
        return {"precision": statistics.fmean(e["label"] for e in rows) if rows else None,
                "shown": len(rows) / len(cases) if cases else None,
                "containment": statistics.fmean(contained[i] or i in right for i in cases) if cases else None}
    inference = [e for e in shown if e["type"] == INFERENCE]
    return {"all": of(inference, questions),
            "without_top": of([e for e in inference if e["gold"] != top], [i for i in questions if gold[i] != top])}


def cross_validate(rows: Sequence[dict], cases: Sequence, contained: dict[int, bool], k: int = FOLDS, *,
                   l2: float = L2) -> dict:
    """Per fold: the model and threshold chosen on the other folds, measured on the held-out
    one beside the ratio rule; then the mean and standard deviation of each figure."""
    from rag.line_model import fit

    gold = {i: m.normalize(case.question.answer) for i, case in enumerate(cases)}
    folds = folds_of(len(cases), k)
    per_fold = []
    for held in folds:
        held_set = set(held)
        train = [e for e in rows if e["case"] not in held_set]
        test = [e for e in rows if e["case"] in held_set]
        model = fit([e["features"] for e in train], [e["label"] for e in train], l2=l2)
        threshold = choose_threshold(model, train)
        veto = choose_threshold(model, [e for e in train if e["ahead"]])
        alone = choose_alone(model, train, veto)
        inference = [i for i in held if cases[i].question.type == INFERENCE]
        top = most_frequent_answer([{"gold_answer": cases[i].question.answer} for i in inference])
        p = {id(e): model.probability(e["features"]) for e in test}
        fold = {
            "threshold": threshold,
            "model": figures([e for e in test if p[id(e)] >= threshold], inference, top, contained, gold),
            "ratio rule": figures([e for e in test if e["ahead"]], inference, top, contained, gold),
            "veto": figures([e for e in test if e["ahead"] and p[id(e)] >= veto], inference, top, contained, gold),
            "veto threshold": veto,
            "alone threshold": alone,
            "veto or alone": figures(veto_or_alone(test, p, veto, alone), inference, top, contained, gold),
            # and with each value of ALONE
            **{f"veto or alone {a}": figures(veto_or_alone(test, p, veto, a), inference, top, contained, gold)
               for a in ALONE},
        }
        per_fold.append(fold)
    summary = {}
    for rule in ("model", "ratio rule", "veto", "veto or alone", *(f"veto or alone {a}" for a in ALONE)):
        for part in ("all", "without_top"):
            for key in ("precision", "shown", "containment"):
                values = [f[rule][part][key] for f in per_fold if f[rule][part][key] is not None]
                summary[f"{rule} {part} {key}"] = {
                    "mean": statistics.fmean(values) if values else None,
                    "sd": statistics.stdev(values) if len(values) > 1 else None}
    return {"folds": per_fold, "cross_validated": summary}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.train_line", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a MultiHop-RAG folder (the train split)")
    parser.add_argument("--home", type=Path, default=None, help="data directory (default: $NEWSRAG_HOME)")
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--out", type=Path, default=None, help="the model file (default: rag/models/answer_line.json)")
    args = parser.parse_args(argv)
    from dataclasses import replace

    from rag.line_model import MODEL_FILE, fit

    pipeline, data, cases = read_split(args.data, args.home)
    replayer = Replayer(pipeline, cases)
    rows = examples(replayer, replace(pipeline.tuning, line_model=0))
    # whether each answer holds the gold answer without any line (no name is ever far enough ahead)
    lineless = replayer.run(replace(pipeline.tuning, line_model=0, name_ahead=1e9, name_ahead_corroborated=1e9))
    contained = {i: bool(r["answer"]["containment"]) for i, r in enumerate(lineless)}
    result = cross_validate(rows, cases, contained, args.folds)
    model = fit([e["features"] for e in rows], [e["label"] for e in rows], l2=L2)
    threshold = choose_threshold(model, rows)
    veto = choose_threshold(model, [e for e in rows if e["ahead"]])
    alone = choose_alone(model, rows, veto)
    command = "python -m eval.train_line --data " + str(args.data)
    model = replace(model, trained={
        "command": command, "data": args.data.name, "sha256": dict(data.sha256), "questions": len(cases),
        "examples": len(rows), "right": sum(e["label"] for e in rows), "l2": L2, "folds": args.folds,
        "seed": SEED, "line_probability": threshold, "veto_probability": veto, "alone_probability": alone,
        "alone_by_fold": [f["alone threshold"] for f in result["folds"]], "cross_validated": result["cross_validated"],
        "encoder": {"backend": pipeline.library.embedder.backend, "precision": pipeline.library.embedder.precision}})
    out = args.out or MODEL_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")
    print(f"{len(rows)} examples ({sum(e['label'] for e in rows)} right) from {len(cases)} questions; "
          f"{args.folds}-fold cross-validation, inference questions:")
    for label, value in result["cross_validated"].items():
        print(f"  {label:36} {fmt(value['mean'])} ± {fmt(value['sd'])}")
    print(f"line probability chosen on all: {threshold} (as a veto of the ratio rule: {veto}; the model alone "
          f"beside it: {alone}; by fold: {[f['alone threshold'] for f in result['folds']]}); written: {out}")
    return 0



if __name__ == "__main__":
    raise SystemExit(main())
