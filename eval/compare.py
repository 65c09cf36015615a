"""What changed between two runs, and the CI gate (metric floors kept in ``eval/thresholds.json``).

Both work on ``results.json`` data. Metrics are addressed by dotted paths into the run's
``summary`` ("retrieval.rrf.overall.mrr@10", "pass_rate"), the same names in both places.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from index.errors import ConfigError
from rag.types import TIMINGS

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.json"
EPSILON = 1e-9


def load_run(path: str | Path) -> dict:
    """A run's results, from its folder or its ``results.json``."""
    path = Path(path)
    file = path / "results.json" if path.is_dir() else path
    if not file.is_file():
        raise ConfigError(f"{path} is not a run: expected a folder with results.json written by `newsrag eval`.")
    try:
        results = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{file}: not valid JSON ({exc.msg}).") from None
    if results.get("kind") not in {"sample", "multihop", "plain"}:
        raise ConfigError(f"{file}: kind={results.get('kind')!r} is not a run of `newsrag eval`.")
    return results


def flatten(data: Mapping, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of nested dicts by dotted path (lists and strings are left out)."""
    out: dict[str, float] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, path + "."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[path] = float(value)
    return out


def _latency(path: str) -> bool:
    return path.startswith("latency_ms.")


def compare(a: dict, b: dict) -> list[str]:
    """Lines describing what changed from run ``a`` to run ``b``."""
    if a["kind"] != b["kind"]:
        raise ConfigError(f"cannot compare a {a['kind']} run with a {b['kind']} run: pick two runs of one set.")
    lines = [f"A: {a.get('created', '?')} · {a['kind']} · mode {a.get('mode')}",
             f"B: {b.get('created', '?')} · {b['kind']} · mode {b.get('mode')}"]
    ea, eb = a.get("encoder"), b.get("encoder")
    if ea and eb and (ea["backend"], ea["precision"]) != (eb["backend"], eb["precision"]):
        lines.append(f"warning: the runs used different encoders ({ea['backend']}, {ea['precision']} -> "
                     f"{eb['backend']}, {eb['precision']}); differences include the encoder's.")
    elif bool(ea) != bool(eb):
        lines.append("warning: one run does not record its encoder; the two may differ in precision.")
    if a["kind"] == "multihop":
        if a["data"]["sha256"] != b["data"]["sha256"] or a["data"]["questions"] != b["data"]["questions"]:
            lines.append("warning: the runs used different data or question counts; differences are not like for like.")
        sa, sb = _settings(a), _settings(b)
        for key in sorted(sa.keys() | sb.keys()):
            if key.startswith("tuning.") and not (key in sa and key in sb):
                continue  # a run made before the tuning was recorded
            va, vb = sa.get(key), sb.get(key)
            if va != vb:
                lines.append(f"setting {key}: {va} -> {vb}")
    fa, fb = flatten(a["summary"]), flatten(b["summary"])
    changed = [k for k in sorted(fa.keys() | fb.keys()) if not _latency(k)
               and (k not in fa or k not in fb or abs(fa[k] - fb[k]) > EPSILON)]
    compared = {k for k in fa.keys() | fb.keys() if not _latency(k)}
    lines.append(f"metrics changed: {len(changed)} of {len(compared)}")
    for k in changed:
        va, vb = fa.get(k), fb.get(k)
        digits = 0 if all(v is None or v.is_integer() for v in (va, vb)) else 3  # counts stay counts
        delta = f" ({vb - va:+.{digits}f})" if va is not None and vb is not None else ""
        lines.append(f"  {k}: {_num(va, digits)} -> {_num(vb, digits)}{delta}")
    for stage in TIMINGS:
        pa, pb = a["summary"]["latency_ms"].get(stage, {}), b["summary"]["latency_ms"].get(stage, {})
        if pa and pb:
            lines.append(f"latency {stage}: p50 {_num(pa.get('p50'), 1)} -> {_num(pb.get('p50'), 1)} ms, "
                         f"p95 {_num(pa.get('p95'), 1)} -> {_num(pb.get('p95'), 1)} ms")
    lines += _question_changes(a, b) if a["kind"] == "multihop" else _item_changes(a, b)
    return lines


def _settings(run: dict) -> dict:
    """A run's settings by name, the tuning's fields as "tuning.<field>"."""
    settings = dict(run.get("settings", {}))
    tuning = settings.pop("tuning", None) or {}
    return settings | {f"tuning.{k}": v for k, v in tuning.items()}


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _item_changes(a: dict, b: dict) -> list[str]:
    before = {r["id"]: r for r in a["items"]}
    lines = []
    for r in b["items"]:
        old = before.get(r["id"])
        if old is None:
            lines.append(f"new item {r['id']}: {'pass' if r['passed'] else 'FAIL'}")
        elif old["passed"] != r["passed"]:
            lines.append(f"item {r['id']}: {'pass' if old['passed'] else 'FAIL'} -> {'pass' if r['passed'] else 'FAIL'}")
        elif [t["answer"] for t in old["turns"]] != [t["answer"] for t in r["turns"]]:
            lines.append(f"item {r['id']}: answer text changed (still {'pass' if r['passed'] else 'FAIL'})")
    gone = sorted(before.keys() - {r["id"] for r in b["items"]})
    lines += [f"item {i} is gone" for i in gone]
    return lines or ["no item changed"]


def _question_changes(a: dict, b: dict) -> list[str]:
    before = {q["id"]: q for q in a["questions"]}
    better, worse, refusals = [], [], []
    for q in b["questions"]:
        old = before.get(q["id"])
        if old is None:
            continue
        ra, rb = (old["retrieval"].get("rrf") or {}).get("first_rank"), (q["retrieval"].get("rrf") or {}).get("first_rank")
        if ra != rb and q["retrieval"].get("rrf") is not None:
            worse_now = (rb or 99) > (ra or 99)
            (worse if worse_now else better).append(f"{q['id']} ({q['type']}): {ra or '—'} -> {rb or '—'}")
        if old["answer"]["refused"] != q["answer"]["refused"]:
            refusals.append(f"{q['id']} ({q['type']}): {'refused' if old['answer']['refused'] else 'answered'}"
                            f" -> {'refused' if q['answer']['refused'] else 'answered'}")
    lines = [f"fused first-relevant rank: {len(better)} questions better, {len(worse)} worse"]
    lines += [f"  better {x}" for x in better] + [f"  worse  {x}" for x in worse]
    lines.append(f"refusal changed on {len(refusals)} questions")
    lines += [f"  {x}" for x in refusals]
    return lines


# ---------------------------------------------------------------------------------------- gate


def load_thresholds(path: Path = THRESHOLDS) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing: it holds the CI gate's metric floors.") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg}).") from None


def gate_applies(results: dict, thresholds: Mapping) -> str | None:
    """Why the gate does not apply to this run (``None``: it does)."""
    rules = thresholds.get(results["kind"])
    if not rules:
        return f"no thresholds for {results['kind']} runs"
    if rules.get("mode") and results.get("mode") != rules["mode"]:
        return f"the floors are for mode {rules['mode']!r}, this run used {results.get('mode')!r}"
    if results["kind"] == "multihop":
        if results["data"]["sha256"] != rules.get("data"):
            return "the floors are for the MultiHop-RAG dev slice; this run used other data"
        if results["data"]["limited"]:
            return "the run used --limit; the floors are for every question"
    if results["kind"] == "plain":
        if results["data"]["sha256"] != rules.get("data"):
            return "the floors are for the MultiHop-RAG train split; this run read its articles from other data"
        if results.get("custom_set"):
            return "the floors are for eval/sets/plain.jsonl; this run used another set"
    return None


def gate_failures(results: dict, thresholds: Mapping, *, source: str = "eval/thresholds.json") -> list[str]:
    """Every metric of ``results`` under its floor, one line each (empty: the gate passes)."""
    if gate_applies(results, thresholds) is not None:
        return []
    values = flatten(results["summary"])
    failures = []
    for path, ceiling in thresholds[results["kind"]].get("max", {}).items():
        value = values.get(path)
        if value is None:
            failures.append(f"{results['kind']} {path} is missing from the run (renamed?); {source} expects ≤ {ceiling}.")
        elif value > ceiling + EPSILON:
            failures.append(f"{results['kind']} {path} = {value:g} is over its ceiling {ceiling} in {source}: "
                            "a regression — fix it, or raise the ceiling in review if the trade-off is intended.")
    for path, floor in thresholds[results["kind"]].get("min", {}).items():
        value = values.get(path)
        if value is None:
            failures.append(f"{results['kind']} {path} is missing from the run (renamed?); {source} expects ≥ {floor}.")
        elif value < floor - EPSILON:
            failing = results["summary"].get("failed")
            which = f" (failing items: {', '.join(failing)})" if failing else ""
            failures.append(f"{results['kind']} {path} = {value:.3f} is under its floor {floor} in {source}{which}: "
                            "a regression — fix it, or lower the floor in review if the trade-off is intended.")
    return failures
