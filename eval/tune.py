"""``python -m eval.tune``: choose the answer layer's weights and thresholds by k-fold
cross-validation over questions, on the MultiHop-RAG train split.

Each question is read once (understood, retrieved, its evidence sentences gathered with their
stored vectors and facts: ``capture``); a ``Tuning`` is then tried by replaying the stages that its
searched fields act on (score, gate, select, answer: ``replay``), which costs milliseconds a
question instead of a full run. Retrieval is not searched here: its fields change what is read.

The search is coordinate ascent over ``SPACE`` (each field in turn, every value tried with the
others held, two passes), maximizing the mean ``utility`` of the questions it is given. Cross-
validation: the questions are cut into ``k`` folds (a seeded shuffle, so a run is reproducible);
for each fold the search runs on the other folds and the values it chooses are measured on the
held-out fold. The report gives each held-out metric's mean and standard deviation over the folds
(the figure to expect on questions the values were not chosen on), then the values chosen on all
the questions: those are the ones to ship in ``rag/tuning.py``.

    python -m eval.tune --data ../shared/datasets/multihop-rag-train [--folds 5] [--out DIR] [--fields a,b]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

from eval.multihop import NULL_TYPE, answer_row, prepare_library, score_question, summarize
from eval.report import fmt
from eval.sets import MultihopQuestion, load_multihop

# The fields searched and the values tried (the shipped value is always among them). Retrieval's
# fields are not here: they change what is read, which ``capture`` reads once.
SPACE: dict[str, tuple] = {
    "refusal_threshold": (0.175, 0.2, 0.225, 0.25, 0.275, 0.3),
    "semantic_weight": (0.35, 0.45, 0.55, 0.65),  # lexical_weight follows: 1 - semantic_weight
    "names_floor": (0.5, 0.6, 0.7, 0.8),
    "unfinished": (0.7, 0.8, 0.9, 1.0),
    "relative_floor": (0.75, 0.8, 0.85, 0.9),
    "new_report_floor": (0.65, 0.7, 0.75, 0.8, 0.85),
    "quoted_report_floor": (0.75, 0.8, 0.85, 0.9, 0.95),
    "multi_claim_floor": (0.75, 0.8, 0.85, 0.9, 0.95),
    "claim_floor": (0.7, 0.75, 0.8, 0.85),
    "claim_share": (0.3, 0.5, 0.7, 0.85),
    "rank_prior": (0.0, 0.02, 0.04),
    "name_ahead": (1.25, 1.5, 2.0, 2.5, 3.0),
    "name_ahead_corroborated": (1.1, 1.2, 1.4, 1.6, 1.8),
    "cited_weight": (1.0, 1.5, 2.0, 3.0),
    "verdict_support": (0.3, 0.4, 0.5, 0.6, 0.7, 1.01),  # 1.01: never "Yes"
}
TIED = {"semantic_weight": lambda v: {"lexical_weight": round(1.0 - v, 6)}}
PASSES = 2  # for the values shipped: a second pass over the fields
FOLD_PASSES = 1  # for each cross-validation fold (a second pass moved fold 1's training utility 0.8910 -> 0.8935)
FOLDS = 5
SEED = 20261207


# ------------------------------------------------------------------------------------ utility

# What one answer is worth, in the product's own order of priorities: a refusal of a question the
# articles do not answer is worth what a good answer is; refusing an answerable question costs half
# of that; a wrong answer line costs four times what a right one earns ("no line rather than a
# wrong one": a line is worth showing when it is right 80 % of the time or more); citations are
# worth their precision (weighed 0.7: every sentence shown should be evidence) and the share of
# the gold articles they cover (0.3).
REFUSED_NULL = 1.0
FALSE_REFUSAL = -0.5
LINE_RIGHT = 0.5
LINE_WRONG = -2.0
CONTAINED = 0.5
VERDICT_RIGHT = 0.5
VERDICT_WRONG = -2.0
CITATION_PRECISION = 0.7
EVIDENCE_COVERAGE = 0.3


def utility(row: Mapping) -> float:
    """The worth of one scored answer (a row of ``eval.multihop.score_question``)."""
    a = row["answer"]
    if row["type"] == NULL_TYPE:
        return REFUSED_NULL if a["refused"] else 0.0
    if a["refused"]:
        return FALSE_REFUSAL
    value = CITATION_PRECISION * (a["citation_precision"] or 0.0) + EVIDENCE_COVERAGE * a["evidence_coverage"]
    if a.get("direct_correct") is not None:
        value += LINE_RIGHT if a["direct_correct"] else LINE_WRONG
    if row["type"] == "inference_query" and a.get("containment"):
        value += CONTAINED
    if a.get("verdict_correct") is not None:
        value += VERDICT_RIGHT if a["verdict_correct"] else VERDICT_WRONG
    return value


# ------------------------------------------------------------------------------ read, replay


@dataclass(eq=False)
class Case:
    """One question, read once: what the stages after retrieval start from."""

    question: MultihopQuestion
    gold: list[str]  # its gold articles' ids
    info: object  # rag.question.Question
    vectors: object  # rag.understand.QuestionVectors
    passages: list  # the passages read, and any found for a name they lacked
    raw: list  # their evidence sentences, with stored vectors and facts, not scored


def capture(pipeline, questions: Sequence[MultihopQuestion], by_url: Mapping[str, str], *,
            progress: Callable[[int], None] | None = None) -> list[Case]:
    """Understand, retrieve and gather every question once (with ``pipeline``'s tuning)."""
    from rag.evidence import candidates, gather, with_stored
    from rag.types import NO_FILTERS
    from rag.understand import understand

    library, tuning = pipeline.library, pipeline.tuning
    catalog = library.catalog()
    cases = []
    for i, q in enumerate(questions):
        info, vectors = understand(q.query, history=(), catalog=catalog, embedder=library.embedder, tuning=tuning,
                                   cited_as_outlet=pipeline.cited_as_outlet)
        reading = pipeline.retriever.read_question(info, vectors, filters=NO_FILTERS)
        evidence = gather(info, vectors, reading, library=library, probe=pipeline.retriever.probe,
                          filters=NO_FILTERS, tuning=tuning)
        raw = with_stored(candidates([*evidence.passages, *reading.further], min_words=tuning.min_words), library)
        cases.append(Case(question=q, gold=sorted({by_url[u] for u in q.urls}), info=info, vectors=vectors,
                          passages=evidence.passages, raw=raw))
        if progress is not None:
            progress(i + 1)
    return cases


class Replayer:
    """Answers captured cases with a given tuning (stages score to answer), remembering each
    tuning's rows."""

    # the fields the score stage reads: a search that varies another field scores nothing again
    SCORE_FIELDS = ("min_idf", "semantic_weight", "lexical_weight", "context_weight", "asked_weight",
                    "previous_sentence", "names_floor", "already_said", "same_story", "unfinished",
                    "source_match", "source_miss")

    def __init__(self, pipeline, cases: Sequence[Case]):
        self.base = pipeline
        self.cases = list(cases)
        self.rows: dict[tuple, list[dict]] = {}
        self._scored: dict[tuple, list[list]] = {}  # the last few score settings' scored candidates

    def pipeline_for(self, tuning):
        from rag.pipeline import Pipeline

        return Pipeline(self.base.settings.with_(tuning=tuning), library=self.base.library)

    def run(self, tuning) -> list[dict]:
        key = tuple(getattr(tuning, f.name) for f in fields(tuning))
        if key not in self.rows:
            scored = self.scored(tuning)
            pipeline = self.pipeline_for(tuning) if tuning is not self.base.tuning else self.base
            self.rows[key] = [self.replay(case, tuning, cands, pipeline)
                              for case, cands in zip(self.cases, scored, strict=True)]
        return self.rows[key]

    def scored(self, tuning) -> list[list]:
        """Every case's candidates scored with ``tuning``'s score fields (the last 3 settings kept)."""
        from rag.evidence import Scorer

        key = tuple(getattr(tuning, name) for name in self.SCORE_FIELDS)
        if key not in self._scored:
            _, lexical = self.base.library.search_index()
            scorer = Scorer(idf=lexical.idf, tuning=tuning)
            if len(self._scored) >= 3:
                self._scored.pop(next(iter(self._scored)))
            self._scored[key] = [scorer.score(case.info, case.vectors, case.raw) for case in self.cases]
        return self._scored[key]

    def replay(self, case: Case, tuning, scored: list, pipeline) -> dict:
        from rag.evidence import Evidence

        answer = _collect(pipeline.conclude(case.question.query, case.info, Evidence(scored, case.passages),
                                            answerer=pipeline.answerer("extractive"),
                                            catalog=pipeline.library.catalog(), clock=_NoClock()))
        row = score_question(case.question, case.gold, {}, answer_row(answer))
        scored = row["answer"]  # kept small: a search holds hundreds of tunings' rows
        scored.update(answer="", sentences=[], citations=[None] * len(scored["citations"]))
        return row


class _NoClock:
    """A clock that times nothing (replays are not latency measurements)."""

    timings: dict = {}

    def stage(self, _name):
        import contextlib

        return contextlib.nullcontext()

    def done(self) -> dict:
        return {}


def _collect(events) -> object:
    final = None
    for event in events:
        if event.kind == "answer":
            final = event.answer
    return final


# ------------------------------------------------------------------------------------- search


def with_value(tuning, name: str, value):
    return replace(tuning, **{name: value, **(TIED[name](value) if name in TIED else {})})


def mean_utility(rows: Sequence[dict], indexes: Sequence[int]) -> float:
    return statistics.fmean(utility(rows[i]) for i in indexes) if indexes else 0.0


def search(replayer: Replayer, start, indexes: Sequence[int], *, space: Mapping[str, tuple] = SPACE,
           passes: int = PASSES, log: Callable[[str], None] | None = None):
    """Coordinate ascent from ``start`` over ``space``, maximizing the mean utility of the
    questions at ``indexes``. A value must beat the current one to replace it (ties keep it)."""
    current = start
    best = mean_utility(replayer.run(current), indexes)
    for n in range(passes):
        changed = False
        for name, values in space.items():
            for value in values:
                if value == getattr(current, name):
                    continue
                trial = with_value(current, name, value)
                score = mean_utility(replayer.run(trial), indexes)
                if score > best + 1e-9:
                    current, best, changed = trial, score, True
            if log is not None:
                log(f"pass {n + 1} {name} = {getattr(current, name)} (utility {best:.4f})")
        if not changed:
            break
    return current, best


def folds_of(n: int, k: int, seed: int = SEED) -> list[list[int]]:
    """``k`` folds of question indexes ``0..n-1``, from a seeded shuffle: the same every run."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [sorted(order[i::k]) for i in range(k)]


HEADLINES = (
    ("inference answer line right", ("answers", "by_type", "inference_query", "direct_precision")),
    ("inference answer line shown", ("answers", "by_type", "inference_query", "direct_shown")),
    ("inference gold answer in the answer", ("answers", "by_type", "inference_query", "containment")),
    ("inference answer line right, without the most frequent answer",
     ("answers", "without_top", "inference_query", "direct_precision")),
    ("inference gold answer in the answer, without the most frequent answer",
     ("answers", "without_top", "inference_query", "containment")),
    ("refusal recall", ("refusal", "recall")),
    ("answerable questions refused", ("false_refusal_rate",)),
    ("citation precision", ("answers", "overall", "citation_precision")),
    ("evidence coverage", ("answers", "overall", "evidence_coverage")),
    ("verdict precision", ("answers", "overall", "verdict_precision")),
    ("verdict shown", ("answers", "overall", "verdict_shown")),
    ("lenient QA", ("answers", "overall", "lenient_qa")),
)


def headline(rows: Sequence[dict]) -> dict[str, float | None]:
    """The figures the issue's goals are stated in, for ``rows``."""
    summary = summarize(rows, fusions=())
    answerable = [r for r in rows if r["type"] != NULL_TYPE]
    summary["false_refusal_rate"] = (sum(r["answer"]["refused"] for r in answerable) / len(answerable)
                                     if answerable else None)
    out = {}
    for label, path in HEADLINES:
        value = summary
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        out[label] = value
    return out


def cross_validate(replayer: Replayer, start, k: int = FOLDS, *, space: Mapping[str, tuple] = SPACE,
                   log: Callable[[str], None] | None = None) -> dict:
    """Per fold: the values chosen on the other folds, and the held-out figures they give; then
    each figure's mean and standard deviation over the folds, and the values chosen on all."""
    n = len(replayer.cases)
    folds = folds_of(n, k)
    per_fold = []
    for i, held in enumerate(folds):
        train = sorted(set(range(n)) - set(held))
        chosen, _ = search(replayer, start, train, space=space, passes=FOLD_PASSES,
                           log=(lambda s, i=i: log(f"fold {i + 1}: {s}")) if log else None)
        rows = replayer.run(chosen)
        figures = headline([rows[j] for j in held])
        figures["utility"] = mean_utility(rows, held)
        per_fold.append({"held_out": len(held), "chosen": _searched(chosen, space), "figures": figures})
    summary = {}
    for label in [*(label for label, _ in HEADLINES), "utility"]:
        values = [f["figures"][label] for f in per_fold if f["figures"][label] is not None]
        summary[label] = {"mean": statistics.fmean(values) if values else None,
                          "sd": statistics.stdev(values) if len(values) > 1 else None}
    final, _ = search(replayer, start, list(range(n)), space=space, log=(lambda s: log(f"all: {s}")) if log else None)
    shipped = headline(replayer.run(start))
    return {"folds": per_fold, "cross_validated": summary, "chosen": _searched(final, space),
            "in_sample": headline(replayer.run(final)), "start": _searched(start, space), "start_in_sample": shipped}


def _searched(tuning, space: Mapping[str, tuple] = SPACE) -> dict:
    return {name: getattr(tuning, name) for name in space}


# ---------------------------------------------------------------------------------------- CLI


def read_split(folder: Path, home: Path | None, *, tuning=None, limit: int | None = None):
    """The MultiHop-RAG split at ``folder`` indexed in its own collection under ``home`` (default
    ``$NEWSRAG_HOME``), and each of its questions read once (``capture``): ``(pipeline, data, cases)``.
    What ``eval.tune`` and ``eval.train_line`` start from."""
    from eval.cli import eval_settings, multihop_collection
    from index.settings import IndexSettings
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings

    settings = RagSettings.from_env(index=IndexSettings.from_env(**({"home": home} if home else {})))
    if tuning is not None:
        settings = settings.with_(tuning=tuning)
    data = load_multihop(folder, limit=limit)
    pipeline = Pipeline(eval_settings(settings, multihop_collection(folder)))
    started = time.perf_counter()
    by_url, _ = prepare_library(pipeline.library, data)
    cases = capture(pipeline, list(data.questions), by_url,
                    progress=lambda i: i % 200 == 0 and print(f"read {i} questions", file=sys.stderr, flush=True))
    print(f"read {len(cases)} questions in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return pipeline, data, cases


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.tune", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a MultiHop-RAG folder (the train split)")
    parser.add_argument("--home", type=Path, default=None, help="data directory (default: $NEWSRAG_HOME)")
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions (a quick look)")
    parser.add_argument("--tuning", type=Path, default=None, help="start from this tuning file")
    parser.add_argument("--out", type=Path, default=Path("eval/runs/tune"), help="where to write the results")
    parser.add_argument("--fields", default=None,
                        help="search only these fields of SPACE, comma-separated (the others keep their values)")
    args = parser.parse_args(argv)
    space = SPACE
    if args.fields:
        wanted = [f.strip() for f in args.fields.split(",") if f.strip()]
        unknown = [f for f in wanted if f not in SPACE]
        if unknown:
            parser.error(f"--fields: {', '.join(unknown)} not searched by eval.tune (fields: {', '.join(SPACE)})")
        space = {f: SPACE[f] for f in wanted}
    tuning = None
    if args.tuning is not None:
        from rag.tuning import Tuning

        tuning = Tuning.from_file(args.tuning)
    started = time.perf_counter()
    pipeline, data, cases = read_split(args.data, args.home, tuning=tuning, limit=args.limit)
    replayer = Replayer(pipeline, cases)
    result = cross_validate(replayer, pipeline.tuning, args.folds, space=space,
                            log=lambda s: print(s, file=sys.stderr, flush=True))
    result.update({"data": str(args.data), "questions": len(cases), "folds_k": args.folds, "seed": SEED,
                   "sha256": dict(data.sha256), "seconds": round(time.perf_counter() - started, 1),
                   "encoder": {"backend": pipeline.library.embedder.backend,
                               "precision": pipeline.library.embedder.precision}})
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tune.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    (args.out / "tuning.json").write_text(json.dumps(result["chosen"], indent=2), encoding="utf-8")
    print(f"{args.folds}-fold cross-validation over {len(cases)} questions ({data.folder}):")
    for label, value in result["cross_validated"].items():
        print(f"  {label:72} {fmt(value['mean'])} ± {fmt(value['sd'])}   (shipped, in sample: "
              f"{fmt(result['start_in_sample'].get(label))})")
    print("chosen on all questions: " + ", ".join(f"{k}={v}" for k, v in result["chosen"].items()))
    print(f"written: {args.out / 'tune.json'}, {args.out / 'tuning.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
