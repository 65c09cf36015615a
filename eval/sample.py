"""The gold set over the sample articles: index them (with the set's own test articles), ask every
item, check every expectation, pass or fail per item.

The index is the set's own (``eval-sample`` collection in its own folder), built from
``data/articles`` plus ``eval/sets/articles`` (a syndicated copy and a prompt-injection probe), so
the user's index is never touched. Ingestion is incremental: a second run re-embeds nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.metrics import contains, percentile
from eval.report import encoder_of
from eval.sets import GoldItem, GoldTurn, article_bodies, load_gold_set, validate
from index.errors import ConfigError
from index.library import Library
from rag.filters import make_filters
from rag.types import REFUSED, TIMINGS, Answer, Turn

EVAL_DIR = Path(__file__).resolve().parent
SAMPLE_SET = EVAL_DIR / "sets" / "sample.jsonl"
SET_ARTICLES = EVAL_DIR / "sets" / "articles"
SAMPLE_ARTICLES = EVAL_DIR.parent / "data" / "articles"
COLLECTION = "eval-sample"


@dataclass(frozen=True, kw_only=True)
class CitedView:
    quote: str
    articles: frozenset[str]  # file names: the citation's article and every ``also``


@dataclass(frozen=True, kw_only=True)
class AnswerView:
    """What the checks look at, with articles named by file name."""

    status: str
    text: str
    citations: tuple[CitedView, ...]
    conflicts: int


def turn_failures(turn: GoldTurn, answer: AnswerView) -> list[str]:
    """Every expectation of ``turn`` that ``answer`` breaks, one line each (empty: it passes)."""
    failures: list[str] = []
    refused = answer.status == REFUSED
    if turn.expect_refusal is True and not refused:
        failures.append("expected a refusal, got an answer")
    if turn.expect_refusal is False and refused:
        failures.append("expected an answer, got a refusal")
    failures += [f"missing fact {f!r}" for f in turn.facts if not contains(answer.text, f)]
    failures += [f"forbidden text {f!r} in the answer" for f in turn.forbidden if contains(answer.text, f)]
    cited = set().union(*(c.articles for c in answer.citations)) if answer.citations else set()
    failures += [f"gold article {a} not cited" for a in turn.gold_articles if a not in cited]
    failures += [f"forbidden article {a} cited" for a in turn.forbidden_articles if a in cited]
    for sentence in turn.gold_sentences:
        matches = [c for c in answer.citations if c.quote == sentence.text]
        label = sentence.text[:50] + "..."
        if not matches:
            failures.append(f"gold sentence {label!r} not cited")
        elif len(matches) > 1:
            failures.append(f"gold sentence {label!r} cited {len(matches)} times, not once")
        elif matches[0].articles != set(sentence.articles):
            failures.append(f"gold sentence {label!r} cited with {sorted(matches[0].articles)}, "
                            f"expected {sorted(sentence.articles)}")
    if turn.expect_conflict is True and not answer.conflicts:
        failures.append("expected a conflict, none reported")
    if turn.expect_conflict is False and answer.conflicts:
        failures.append(f"expected no conflict, {answer.conflicts} reported")
    return failures


def view(answer: Answer, names: Mapping[str, str]) -> AnswerView:
    """``answer`` with article ids replaced by file names (``names``: article id -> file name)."""
    def name(article_id: str) -> str:
        return names.get(article_id, article_id)

    return AnswerView(status=answer.status, text=answer.answer, conflicts=len(answer.conflicts),
                      citations=tuple(CitedView(quote=c.quote, articles=frozenset(
                          {name(c.location.article_id), *(name(a.article_id) for a in c.also)}))
                          for c in answer.citations))


def article_folders() -> list[Path]:
    if not SAMPLE_ARTICLES.is_dir():
        raise ConfigError(f"The sample articles folder {SAMPLE_ARTICLES} is missing: run the sample set "
                          "from a checkout of newsrag (it ships data/articles).")
    return [SAMPLE_ARTICLES, SET_ARTICLES]


def prepare_library(library: Library, folders: Sequence[Path], *, progress=None) -> dict[str, str]:
    """Index ``folders`` (incrementally), drop articles of files no longer there; article id ->
    file name."""
    report = library.ingest(folders, progress=progress)
    if report.failures:
        raise ConfigError(f"the gold set's articles failed to load: {report.failures[0]}")
    wanted = {str(p.resolve()) for folder in folders for p in Path(folder).iterdir() if p.is_file()}
    names: dict[str, str] = {}
    for record in library.articles():
        paths = [o["path"] for o in record.origins if o.get("path") and str(Path(o["path"]).resolve()) in wanted]
        if not paths:
            library.remove(record.id)
            continue
        names[record.id] = Path(paths[0]).name
    return names


def _filters(turn: GoldTurn):
    f = turn.filters
    return make_filters(sources=f.get("source"), since=f.get("since"), until=f.get("until"))


def run_items(items: Iterable[GoldItem], *, pipeline, names: Mapping[str, str], mode: str | None = None,
              progress: bool = False) -> list[dict]:
    """Ask every item (each turn with the earlier ones as history); one result dict per item."""
    items = list(items)
    bar = None
    if progress:
        import sys

        from tqdm import tqdm

        bar = tqdm(total=sum(len(i.turns) for i in items), unit="question", desc="Sample set",
                   file=sys.stderr, dynamic_ncols=True)
    results = []
    for item in items:
        history: list[Turn] = []
        turns = []
        for turn in item.turns:
            answer = pipeline.ask(turn.question, history=list(history), mode=mode, filters=_filters(turn))
            seen = view(answer, names)
            failures = turn_failures(turn, seen)
            turns.append({"question": turn.question, "status": answer.status, "answer": answer.answer,
                          "citations": [{"n": c.n, "quote": c.quote, "articles": sorted(v.articles)}
                                        for c, v in zip(answer.citations, seen.citations, strict=True)],
                          "conflicts": [c.note for c in answer.conflicts],
                          "timings_ms": {k: round(v, 1) for k, v in answer.timings_ms.items()},
                          "failures": failures})
            history.append(Turn.of(answer))
            if bar is not None:
                bar.update(1)
        results.append({"id": item.id, "kind": item.kind, "passed": not any(t["failures"] for t in turns),
                        "turns": turns})
    if bar is not None:
        bar.close()
    return results


def summarize(results: Sequence[dict]) -> dict:
    """Pass rate overall and per kind, and latency percentiles per stage."""
    kinds: dict[str, list[bool]] = {}
    for r in results:
        kinds.setdefault(r["kind"], []).append(r["passed"])
    stages = {}
    for stage in TIMINGS:
        values = [t["timings_ms"][stage] for r in results for t in r["turns"] if stage in t["timings_ms"]]
        stages[stage] = {"p50": percentile(values, 50), "p95": percentile(values, 95), "n": len(values)}
    passed = sum(r["passed"] for r in results)
    return {"items": len(results), "passed": passed, "pass_rate": passed / len(results) if results else None,
            "by_kind": {k: {"items": len(v), "passed": sum(v)} for k, v in sorted(kinds.items())},
            "latency_ms": stages, "failed": [r["id"] for r in results if not r["passed"]]}


def run_sample(*, pipeline, set_path: Path = SAMPLE_SET, folders: Sequence[Path] | None = None,
               mode: str | None = None, progress: bool = False) -> dict:
    """Validate the gold set, index its articles, run it; the results of the run (JSON-ready)."""
    folders = list(folders) if folders is not None else article_folders()
    items = load_gold_set(set_path)
    validate(items, article_bodies(folders))
    started = time.perf_counter()
    names = prepare_library(pipeline.library, folders)
    indexed = time.perf_counter()
    results = run_items(items, pipeline=pipeline, names=names, mode=mode, progress=progress)
    return {"kind": "sample", "set": str(set_path), "articles": sorted(names.values()),
            "mode": mode or pipeline.settings.mode, "encoder": encoder_of(pipeline.library),
            "summary": summarize(results),
            "seconds": {"index": round(indexed - started, 2), "questions": round(time.perf_counter() - indexed, 2)},
            "items": results}
