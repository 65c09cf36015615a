"""``newsrag eval sample|multihop|plain|all|compare``: run a set into a run folder, print the headline
numbers, apply the CI gate. Called by ``eval.command.run`` (``newsrag eval``, ``python -m eval``)
with the parsed arguments and the ``RagSettings`` built there; returns the exit status (1 when a
gate fails).

Each set is indexed in a collection of its own, in its own folder under ``<home>/eval/``, so the
user's index is never touched (``--collection`` names it instead).
"""

from __future__ import annotations

import re
from pathlib import Path

from eval.compare import compare, gate_applies, gate_failures, load_run, load_thresholds
from eval.report import default_run_dir, fmt, write_run
from index.errors import ConfigError
from index.progress import ProgressBar
from index.settings import IndexSettings
from rag.settings import RagSettings

SAMPLE_COLLECTION = "eval-sample"
PLAIN_COLLECTION = "eval-plain"


def eval_settings(settings: RagSettings, collection: str) -> RagSettings:
    """``settings`` with the index moved to ``<home>/eval/<collection>`` (the exported embedding
    model stays where it is)."""
    index: IndexSettings = settings.index.with_(home=settings.index.home / "eval" / collection,
                                                collection=collection, model_dir=settings.index.model_path)
    return settings.with_(index=index)


def multihop_collection(data: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(data).resolve().name).strip("-._")[:36] or "data"
    return f"eval-multihop-{name}"


def _pipeline(settings: RagSettings):
    from rag.pipeline import Pipeline

    return Pipeline(settings)


def run_sample_set(settings: RagSettings, *, out: Path, mode: str | None, collection: str | None) -> dict:
    from eval.sample import run_sample

    pipeline = _pipeline(eval_settings(settings, collection or SAMPLE_COLLECTION))
    results = run_sample(pipeline=pipeline, mode=mode, progress=True)
    write_run(results, out)
    s = results["summary"]
    print(f"Sample gold set: {s['passed']}/{s['items']} items pass ({s['pass_rate'] * 100:.1f} %) · "
          f"mode {results['mode']} · p50 {fmt(s['latency_ms']['total']['p50'], 0)} ms")
    for item in results["items"]:
        for n, turn in enumerate(item["turns"], start=1):
            for failure in turn["failures"]:
                where = f" turn {n}" if len(item["turns"]) > 1 else ""
                print(f"  FAIL {item['id']}{where}: {failure}")
    print(f"report: {out / 'report.md'}")
    return results


def run_multihop_set(settings: RagSettings, *, data: Path, out: Path, mode: str | None, limit: int | None,
                     collection: str | None) -> dict:
    from eval.multihop import run_multihop
    from eval.sets import load_multihop

    dataset = load_multihop(data, limit=limit)
    pipeline = _pipeline(eval_settings(settings, collection or multihop_collection(data)))
    bar = ProgressBar(desc="Indexing")
    try:
        results = run_multihop(dataset, pipeline=pipeline, mode=mode, progress=True, ingest_progress=bar)
    finally:
        bar.close()
    write_run(results, out)
    s = results["summary"]
    subset = " (subset: not comparable with the paper)" if results["data"]["subset"] else ""
    print(f"MultiHop-RAG: {results['data']['articles']} articles, {results['data']['questions']} questions{subset}")
    print(f"  {'retriever':10} {'Hits@4':>7} {'Hits@10':>7} {'MRR@10':>7} {'MAP@10':>7}")
    for fusion, r in s["retrieval"].items():
        o = r["overall"]
        print(f"  {fusion:10} {fmt(o['hits@4']):>7} {fmt(o['hits@10']):>7} {fmt(o['mrr@10']):>7} {fmt(o['map@10']):>7}")
    a, ref, lat = s["answers"]["overall"], s["refusal"], s["latency_ms"]["total"]
    print(f"  citation precision {fmt(a['citation_precision'])} (articles {fmt(a['citation_article_precision'])}) · "
          f"evidence coverage {fmt(a['evidence_coverage'])} · refusal precision {fmt(ref['precision'])} "
          f"recall {fmt(ref['recall'])} · latency p50 {fmt(lat['p50'], 0)} ms p95 {fmt(lat['p95'], 0)} ms")
    inference = s["answers"]["by_type"].get("inference_query")
    if inference:
        w = s["answers"]["without_top"]["inference_query"]
        print(f"  inference: answer line precision {fmt(inference['direct_precision'])} (shown "
              f"{fmt(inference['direct_shown'])}), containment {fmt(inference['containment'])}; without "
              f"{w['top']!r} ({w['excluded']} questions): {fmt(w['direct_precision'])}, {fmt(w['containment'])}")
    print(f"  verdicts: shown {fmt(a['verdict_shown'])}, precision {fmt(a['verdict_precision'])} · lenient QA "
          f"{fmt(a['lenient_qa'])} · {results['encoder']['backend']} ({results['encoder']['precision']})")
    print(f"report: {out / 'report.md'}")
    return results


def run_plain_set(settings: RagSettings, *, data: Path, set_path: Path | None, out: Path, mode: str | None,
                  collection: str | None) -> dict:
    from eval.plain import PLAIN_SET, run_plain

    pipeline = _pipeline(eval_settings(settings, collection or PLAIN_COLLECTION))
    bar = ProgressBar(desc="Indexing")
    try:
        results = run_plain(pipeline=pipeline, data=data, set_path=set_path or PLAIN_SET, mode=mode,
                            progress=True, ingest_progress=bar)
    finally:
        bar.close()
    write_run(results, out)
    s = results["summary"]
    print(f"Plain gold set: {s['right']}/{s['items']} right ({s['right_rate'] * 100:.1f} %), "
          f"{s['wrong_lines']} wrong answer lines · mode {results['mode']} · "
          f"{results['data']['articles']} articles + {len(results['data']['fillers'])} fillers")
    print(f"  {'kind':15} {'items':>5} {'right':>5} {'wrong lines':>11}")
    for kind, k in s["by_kind"].items():
        print(f"  {kind:15} {k['items']:>5} {k['right']:>5} {k['wrong_lines']:>11}")
    for item in results["items"]:
        if not item["passed"]:
            print(f"  FAIL {item['id']}: {item['why']}")
    print(f"report: {out / 'report.md'}")
    return results


def check_plain_set(*, data: Path, set_path: Path | None) -> int:
    from eval.plain import PLAIN_SET, check

    path = set_path or PLAIN_SET
    errors = check(data=data, set_path=path)
    for error in errors:
        print(error)
    print(f"{path}: " + (f"{len(errors)} problems" if errors else "valid"))
    return 1 if errors else 0


def check_gate(results: dict) -> list[str]:
    thresholds = load_thresholds()
    why_not = gate_applies(results, thresholds)
    if why_not:
        print(f"gate ({results['kind']}): not applied — {why_not}")
        return []
    failures = gate_failures(results, thresholds)
    print(f"gate ({results['kind']}): " + ("FAILED" if failures else "passed"))
    for failure in failures:
        print(f"  {failure}")
    return failures


def run(args, settings: RagSettings) -> int:
    command = args.eval_command
    if command == "compare":
        for line in compare(load_run(args.run_a), load_run(args.run_b)):
            print(line)
        return 0
    mode = getattr(args, "mode", None)
    collection = getattr(args, "collection", None)
    if command == "sample":
        out = Path(args.out) if args.out else default_run_dir("sample")
        results = run_sample_set(settings, out=out, mode=mode, collection=collection)
        return 1 if check_gate(results) else 0
    if command == "multihop":
        out = Path(args.out) if args.out else default_run_dir("multihop")
        results = run_multihop_set(settings, data=Path(args.data), out=out, mode=mode, limit=args.limit,
                                   collection=collection)
        return 1 if check_gate(results) else 0
    if command == "plain":
        set_path = Path(args.set_path) if args.set_path else None
        if args.check:
            return check_plain_set(data=Path(args.data), set_path=set_path)
        out = Path(args.out) if args.out else default_run_dir("plain")
        results = run_plain_set(settings, data=Path(args.data), set_path=set_path, out=out, mode=mode,
                                collection=collection)
        return 1 if check_gate(results) else 0
    if command == "all":
        parent = Path(args.out) if args.out else default_run_dir("all")
        if not (Path(args.data) / "corpus.json").is_file():
            raise ConfigError(f"{args.data} has no corpus.json: pass --data DIR, the MultiHop-RAG folder "
                              "(default ../shared/datasets/multihop-rag-dev).")
        sample = run_sample_set(settings, out=parent / "sample", mode=None,
                                collection=collection and f"{collection}-sample")
        failures = check_gate(sample)
        multihop = run_multihop_set(settings, data=Path(args.data), out=parent / "multihop", mode=None, limit=None,
                                    collection=collection and f"{collection}-multihop")
        failures += check_gate(multihop)
        write_summary(parent, sample, multihop, failures)
        print(f"report: {parent / 'report.md'}")
        return 1 if failures else 0
    raise ConfigError(f"unknown eval action {command!r}: use sample, multihop, plain, all or compare.")


def write_summary(parent: Path, sample: dict, multihop: dict, failures: list[str]) -> None:
    s, r = sample["summary"], multihop["summary"]["retrieval"]
    fused = r.get("rrf") or next(iter(r.values()))
    lines = ["# newsrag evaluation", "",
             f"- [Sample gold set](sample/report.md): {s['passed']}/{s['items']} items pass.",
             f"- [MultiHop-RAG](multihop/report.md): fused MRR@10 {fmt(fused['overall']['mrr@10'])}, "
             f"Hits@4 {fmt(fused['overall']['hits@4'])}, Hits@10 {fmt(fused['overall']['hits@10'])}.",
             "", "CI gate: " + ("**failed**" if failures else "passed"), ""]
    lines += [f"- {f}" for f in failures]
    (parent / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
