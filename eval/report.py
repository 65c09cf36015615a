"""A run folder: ``results.json`` (everything measured), ``report.md`` (tables a person reads) and
PNG plots. matplotlib is imported only here, through its object API (no pyplot state, no GUI)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rag.types import TIMINGS

# MultiHop-RAG's published best retrieval (full 609-article corpus; voyage-02 + bge-reranker-large).
PUBLISHED = {"hits@4": 0.663, "hits@10": 0.747, "mrr@10": 0.586, "map@10": None}
CITATION = ("MultiHop-RAG: Tang & Yang, \"MultiHop-RAG: Benchmarking Retrieval-Augmented Generation for "
            "Multi-Hop Queries\", COLM 2024 (arXiv 2401.15391); dataset licence ODC-BY 1.0.")
FUSION_LABELS = {"dense": "dense only", "bm25": "BM25 only", "rrf": "fused (weighted RRF)",
                 "weighted": "fused (weighted scores)"}
TYPE_ORDER = ("inference_query", "comparison_query", "temporal_query", "null_query")


def encoder_of(library) -> dict:
    """How the run's vectors were made: the model, the backend and precision of the encoder, the
    precision the index records, and whether this CPU has int8 dot-product instructions."""
    from index.onnx_export import cpu_has_fast_int8
    from index.store import recorded_precision

    embedder = library.embedder
    return {"model": embedder.name, "backend": embedder.backend, "precision": embedder.precision,
            "index_precision": recorded_precision(library.settings), "cpu_fast_int8": cpu_has_fast_int8()}


def encoder_line(encoder: dict | None) -> str:
    """"encoder onnx-int8 (int8 vectors; this CPU has int8 dot-product instructions)"."""
    if not encoder:
        return "encoder not recorded (a run from before 2026-12)"
    cpu = "has" if encoder.get("cpu_fast_int8") else "has no"
    return (f"encoder `{encoder['backend']}` ({encoder['precision']} vectors, index "
            f"{encoder.get('index_precision') or encoder['precision']}; this CPU {cpu} int8 dot-product instructions)")


def default_run_dir(kind: str, *, root: Path = Path("eval/runs")) -> Path:
    """A new folder ``eval/runs/<YYYYmmdd-HHMMSS>-<kind>`` (a suffix when the second is taken)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path, n = root / f"{stamp}-{kind}", 1
    while path.exists():
        n += 1
        path = root / f"{stamp}-{kind}-{n}"
    return path


def fmt(value, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(header: Sequence[str], rows: Sequence[Sequence]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]
    return lines


def write_run(results: dict, out: Path) -> list[Path]:
    """Write ``results.json``, ``report.md`` and the plots of one run into ``out``; the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = {**results, "created": results.get("created") or datetime.now().isoformat(timespec="seconds")}
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if results["kind"] == "multihop":
        plots = multihop_plots(results, out)
        text = multihop_markdown(results, [p.name for p in plots])
    elif results["kind"] == "plain":
        plots = plain_plots(results, out)
        text = plain_markdown(results, [p.name for p in plots])
    else:
        plots = sample_plots(results, out)
        text = sample_markdown(results, [p.name for p in plots])
    (out / "report.md").write_text(text, encoding="utf-8")
    return [out / "results.json", out / "report.md", *plots]


# ------------------------------------------------------------------------------------ markdown


def multihop_markdown(results: dict, plots: Sequence[str]) -> str:
    data, summary, s, index = results["data"], results["summary"], results["settings"], results["index"]
    n_null = summary["refusal"]["unanswerable"]
    size = f"{index['size_bytes'] / 1e6:.1f} MB on disk" if index["size_bytes"] is not None else "size unknown (server)"
    lines = [f"# MultiHop-RAG evaluation — {results['created']}", "",
             f"Data: `{data['folder']}` — {data['articles']} articles, {data['questions']} questions "
             f"({data['questions'] - n_null} answerable, {n_null} null)."]
    if data["subset"] or data["limited"]:
        what = []
        if data["subset"]:
            what.append(f"{data['articles']} of the paper's 609 articles")
        if data["limited"]:
            what.append(f"the first {data['questions']} of {data['questions_total']} questions")
        lines.append(f"**A subset ({'; '.join(what)}): a different corpus size from the paper, so these numbers "
                     "track regressions and are not comparable with the published ones.**")
    lines += ["", f"Mode `{results['mode']}` · fusion `{s['fusion']}` (dense weight {s['dense_weight']}, "
              f"rrf_k {s['rrf_k']}) · top_k {s['top_k']} · refusal threshold {s['refusal_threshold']} · "
              f"embeddings `{s['embed_model']}`, chunks of ≤{s['chunk_tokens']} word pieces · index "
              f"`{index['collection']}`: {index['chunks']} chunks, {size}; {encoder_line(results.get('encoder'))}.", "",
              "## Retrieval (answerable questions, first 10 chunks, the benchmark's definitions)", ""]
    rows = [[FUSION_LABELS.get(f, f), r["overall"]["hits@4"], r["overall"]["hits@10"], r["overall"]["mrr@10"],
             r["overall"]["map@10"], r["overall"]["evidence_recall@10"]] for f, r in summary["retrieval"].items()]
    label = "Published best, full 609-article corpus" + (" (different corpus size)" if data["subset"] else "")
    rows.append([label, PUBLISHED["hits@4"], PUBLISHED["hits@10"], PUBLISHED["mrr@10"], None, None])
    lines += table(["Retriever", "Hits@4", "Hits@10", "MRR@10", "MAP@10", "Evidence recall@10"], rows)
    lines += ["", "Published row: Tang & Yang (COLM 2024), voyage-02 embeddings + bge-reranker-large, "
              "256-token chunks. Evidence recall@10: share of a question's gold articles among the "
              "articles of the first 10 chunks (ours).", ""]
    fused = "rrf" if "rrf" in summary["retrieval"] else next(iter(summary["retrieval"]))
    lines += [f"### By question type, {FUSION_LABELS.get(fused, fused)}", ""]
    by_type = summary["retrieval"][fused]["by_type"]
    lines += table(["Type", "n", "Hits@4", "Hits@10", "MRR@10", "MAP@10", "Evidence recall@10"],
                   [[t, r["n"], r["hits@4"], r["hits@10"], r["mrr@10"], r["map@10"], r["evidence_recall@10"]]
                    for t, r in sorted(by_type.items(), key=lambda kv: _type_key(kv[0]))])
    lines += ["", "## Answers by question type", ""]
    answers = summary["answers"]
    rows = [[t, a["n"], a["refusal_rate"], a["citation_precision"], a["citation_article_precision"],
             a["evidence_coverage"], a["containment"] if t == "inference_query" else None, a["lenient_qa"]]
            for t, a in sorted(answers["by_type"].items(), key=lambda kv: _type_key(kv[0]))]
    o = answers["overall"]
    rows.append(["**all**", o["n"], o["refusal_rate"], o["citation_precision"], o["citation_article_precision"],
                 o["evidence_coverage"], None, o["lenient_qa"]])
    lines += table(["Type", "n", "Refused", "Citation precision (facts)", "Citation precision (articles)",
                    "Evidence coverage", "Answer containment", "Lenient QA*"], rows)
    lines += ["", "Citation precision: share of cited sentences that are gold evidence facts / that lie in a "
              "gold article (answered questions). Evidence coverage: share of gold articles cited (refusals "
              "count 0). Answer containment: the normalized gold answer appears in the answer — shown for "
              "inference questions, whose answers are names; comparison and temporal answers are mostly "
              "Yes/No, which a quoted sentence does not state. *Lenient QA is the benchmark's own score "
              "(any shared word with the gold answer; a refusal reads as \"Insufficient information.\"), "
              "for comparability only.", ""]
    lines += ["## The answer line, verdicts, and without each type's most frequent answer", ""]
    rows = []
    for t, a in sorted(answers["by_type"].items(), key=lambda kv: _type_key(kv[0])):
        w = answers.get("without_top", {}).get(t)
        rows.append([t, a["direct_shown"], a["direct_precision"], a["containment"], a.get("verdict_shown"),
                     a.get("verdict_precision"), w["top"] if w else None, w["excluded"] if w else None,
                     w["direct_precision"] if w else None, w["containment"] if w else None])
    lines += table(["Type", "Answer line shown", "Answer line precision", "Containment", "Verdict shown",
                    "Verdict precision", "Most frequent answer", "Questions with it", "Answer line precision without it",
                    "Containment without it"], rows)
    lines += ["", "Answer line: the direct line naming an entity or figure, right when it contains the gold "
              "answer. Verdict: a yes/no line, over questions whose gold answer is Yes or No. \"Without it\": "
              "the questions whose gold answer is not the type's most frequent one (data the product is judged "
              "on has other dominant answers).", "", "## Refusal (null questions are the ones to refuse)", ""]
    r = summary["refusal"]
    lines += table(["Precision", "Recall", "Refused", "Null questions", "Answerable refused"],
                   [[r["precision"], r["recall"], r["refused"], r["unanswerable"], r["false_refusals"]]])
    kinds = summary.get("sentences")
    if kinds and kinds["sentences"]:
        lines += ["", "## Answer sentences", ""]
        lines += table(["Answered", "Refused", "Sentences", "Quoted", "Cited", "Attributed", "Unsupported"],
                       [[kinds["answered"], kinds["refused"], kinds["sentences"],
                         *(kinds["shares"][k] for k in ("quoted", "cited", "attributed", "unsupported"))]])
        if kinds["refusal_reasons"]:
            lines += ["", "Refusals: " + "; ".join(f"{why} ({n})" for why, n in kinds["refusal_reasons"].items())
                      + "."]
    lines += ["", "## Latency per question (ms)", ""]
    lines += table(["Stage", "p50", "p95", "mean"],
                   [[stage, fmt(v["p50"], 0), fmt(v["p95"], 0), fmt(v["mean"], 0)]
                    for stage, v in summary["latency_ms"].items()])
    lines += ["", f"Wall time: index {results['seconds']['index']} s, answers {results['seconds']['answers']} s, "
              f"retrieval comparison {results['seconds']['retrieval']} s.", "", "## Plots", ""]
    lines += [f"![{p}]({p})" for p in plots]
    lines += ["", "---", CITATION, ""]
    return "\n".join(lines)


def sample_markdown(results: dict, plots: Sequence[str]) -> str:
    s = results["summary"]
    lines = [f"# Sample gold set — {results['created']}", "",
             f"Set `{results['set']}` over {', '.join(results['articles'])} · mode `{results['mode']}` · "
             f"{encoder_line(results.get('encoder'))}.", "",
             f"**{s['passed']} of {s['items']} items pass ({fmt(s['pass_rate'] * 100, 1)} %).**", "",
             "## By kind", ""]
    lines += table(["Kind", "Items", "Passed"], [[k, v["items"], v["passed"]] for k, v in s["by_kind"].items()])
    lines += ["", "## Items", ""]
    lines += table(["Item", "Kind", "Result", "Failures"],
                   [[r["id"], r["kind"], "pass" if r["passed"] else "**FAIL**",
                     "; ".join(f"turn {i + 1}: {f}" if len(r["turns"]) > 1 else f
                               for i, t in enumerate(r["turns"]) for f in t["failures"]).replace("|", "\\|") or ""]
                    for r in results["items"]])
    failed = [r for r in results["items"] if not r["passed"]]
    if failed:
        lines += ["", "## Failing items in full", ""]
        for r in failed:
            lines.append(f"### {r['id']}")
            for t in r["turns"]:
                lines += ["", f"- Q: {t['question']}", f"  - status: {t['status']}",
                          f"  - answer: {t['answer'].replace(chr(10), ' ')}"]
                lines += [f"  - [{c['n']}] {', '.join(c['articles'])}" for c in t["citations"]]
                lines += [f"  - ✗ {f}" for f in t["failures"]]
            lines.append("")
    lines += ["", "## Latency per question (ms)", ""]
    lines += table(["Stage", "p50", "p95"], [[k, fmt(v["p50"], 0), fmt(v["p95"], 0)]
                                             for k, v in s["latency_ms"].items()])
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    return "\n".join(lines)


def plain_markdown(results: dict, plots: Sequence[str]) -> str:
    s, data = results["summary"], results["data"]
    lines = [f"# Plain-question gold set — {results['created']}", "",
             f"Set `{results['set']}`: {s['items']} questions over {data['articles']} articles of the "
             f"MultiHop-RAG train split (`{data['folder']}`), indexed with {len(data['fillers'])} further "
             f"train articles as distractors · mode `{results['mode']}` · {encoder_line(results.get('encoder'))}.", "",
             f"**{s['right']} of {s['items']} right ({fmt(s['right_rate'] * 100, 1)} %), "
             f"{s['wrong_lines']} wrong answer lines.**", "",
             "Right: an answer holding an accepted answer (and its answer line too, when one is shown), the "
             "verdict first for yes/no, a refusal where the articles do not answer, \"no article from <outlet>\" "
             "where the question leans on an outlet the library lacks. A wrong answer line is an answer line "
             "holding no accepted answer (eval/plain.py).", "", "## By kind", ""]
    lines += table(["Kind", "Items", "Right", "Wrong answer lines"],
                   [[k, v["items"], v["right"], v["wrong_lines"]] for k, v in s["by_kind"].items()])
    failed = [r for r in results["items"] if not r["passed"]]
    if failed:
        lines += ["", "## Items not right", ""]
        rows = []
        for r in failed:
            last = r["turns"][-1]
            got = f"{last['status']}: " + (f"**{last['direct']}** — " if last["direct"] else "")
            got += (last["refusal"] or last["answer"]).replace("\n", " ")[:160]
            asked = " → ".join(t["question"] for t in r["turns"])
            rows.append([r["id"], asked, r["expected"], got, r["why"]])
        lines += table(["Item", "Question", "Expected", "Got", "Why"],
                       [[c.replace("|", "\\|") for c in row] for row in rows])
    lines += ["", "## Latency per question (ms)", ""]
    lines += table(["Stage", "p50", "p95"], [[k, fmt(v["p50"], 0), fmt(v["p95"], 0)]
                                             for k, v in s["latency_ms"].items()])
    lines += ["", f"Wall time: index {results['seconds']['index']} s, questions {results['seconds']['questions']} s.",
              "", "## Plots", ""] + [f"![{p}]({p})" for p in plots] + ["", "---", CITATION, ""]
    return "\n".join(lines)


def _type_key(name: str) -> int:
    return TYPE_ORDER.index(name) if name in TYPE_ORDER else len(TYPE_ORDER)


# --------------------------------------------------------------------------------------- plots


def _figure(width: float = 8, height: float = 4.5):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def multihop_plots(results: dict, out: Path) -> list[Path]:
    summary = results["summary"]
    fused = "rrf" if "rrf" in summary["retrieval"] else next(iter(summary["retrieval"]))
    note = " (dev subset)" if results["data"]["subset"] else ""
    paths = []

    # metrics per question type
    types = sorted(summary["answers"]["by_type"], key=_type_key)
    series = {
        "Hits@10 (fused)": [summary["retrieval"][fused]["by_type"].get(t, {}).get("hits@10") for t in types],
        "MRR@10 (fused)": [summary["retrieval"][fused]["by_type"].get(t, {}).get("mrr@10") for t in types],
        "citation precision": [summary["answers"]["by_type"][t]["citation_precision"] for t in types],
        "evidence coverage": [summary["answers"]["by_type"][t]["evidence_coverage"] for t in types],
        "refused": [summary["answers"]["by_type"][t]["refusal_rate"] for t in types],
    }
    fig = _figure()
    ax = fig.add_subplot()
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(types))]
        ax.bar(xs, [v or 0.0 for v in values], width, label=name)
    ax.set_xticks(range(len(types)), [t.replace("_query", "") for t in types])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share")
    ax.set_title(f"MultiHop-RAG metrics per question type{note}")
    ax.legend(fontsize=8, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.08))
    paths.append(out / "metrics_by_type.png")
    fig.savefig(paths[-1])

    # latency distribution
    fig = _figure()
    ax = fig.add_subplot()
    stages = [s for s in TIMINGS if summary["latency_ms"].get(s, {}).get("n")]
    values = [[q["answer"]["timings_ms"][s] for q in results["questions"] if s in q["answer"]["timings_ms"]]
              for s in stages]
    ax.boxplot(values, tick_labels=stages, showfliers=True)
    for i, stage in enumerate(stages, start=1):
        p95 = summary["latency_ms"][stage]["p95"]
        if p95 is not None:
            ax.plot([i - 0.3, i + 0.3], [p95, p95], color="tab:red", linewidth=1)
    ax.set_ylabel("ms per question")
    ax.set_title(f"Latency per stage (red: p95){note}")
    paths.append(out / "latency.png")
    fig.savefig(paths[-1])

    # retrieval metrics against k
    fig = _figure(11, 4.5)
    ks = list(range(1, 11))
    for n, (metric, title) in enumerate((("hits@k", "Hits@k"), ("mrr@k", "MRR@k"))):
        ax = fig.add_subplot(1, 2, n + 1)
        for fusion, r in summary["retrieval"].items():
            ax.plot(ks, r["overall"][metric], marker="o", label=FUSION_LABELS.get(fusion, fusion))
        published = [(4, PUBLISHED["hits@4"]), (10, PUBLISHED["hits@10"])] if metric == "hits@k" else \
            [(10, PUBLISHED["mrr@10"])]
        ax.scatter(*zip(*published, strict=True), marker="*", s=120, color="black",
                   label="paper's best (609 articles)" + (", different corpus" if results["data"]["subset"] else ""))
        ax.set_xticks(ks)
        ax.set_xlabel("k (chunks)")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.set_title(f"{title}{note}")
        if n == 0:
            ax.set_ylabel("answerable questions")
        ax.legend(fontsize=8, loc="lower right")
    paths.append(out / "retrieval_at_k.png")
    fig.savefig(paths[-1])
    return paths


def plain_plots(results: dict, out: Path) -> list[Path]:
    s = results["summary"]
    fig = _figure(8, 4)
    ax = fig.add_subplot()
    kinds = list(s["by_kind"])
    ax.bar(kinds, [v["items"] for v in s["by_kind"].values()], color="lightgray", label="items")
    ax.bar(kinds, [v["right"] for v in s["by_kind"].values()], color="tab:green", label="right")
    ax.bar(kinds, [v["wrong_lines"] for v in s["by_kind"].values()], color="tab:red", label="wrong answer lines")
    ax.set_ylabel("questions")
    ax.set_title(f"Plain gold set: {s['right']}/{s['items']} right, {s['wrong_lines']} wrong answer lines")
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend()
    path = out / "right_by_kind.png"
    fig.savefig(path)
    return [path]


def sample_plots(results: dict, out: Path) -> list[Path]:
    s = results["summary"]
    fig = _figure(8, 4)
    ax = fig.add_subplot()
    kinds = list(s["by_kind"])
    ax.bar(kinds, [v["items"] for v in s["by_kind"].values()], color="lightgray", label="items")
    ax.bar(kinds, [v["passed"] for v in s["by_kind"].values()], color="tab:green", label="passed")
    ax.set_ylabel("items")
    ax.set_title(f"Sample gold set: {s['passed']}/{s['items']} pass")
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend()
    path = out / "pass_by_kind.png"
    fig.savefig(path)
    fig = _figure(8, 4)
    ax = fig.add_subplot()
    totals = [t["timings_ms"]["total"] for r in results["items"] for t in r["turns"] if "total" in t["timings_ms"]]
    ax.hist(totals, bins=20, color="tab:blue")
    ax.set_xlabel("ms per question (total)")
    ax.set_ylabel("questions")
    ax.set_title("Sample gold set: latency")
    latency = out / "latency.png"
    fig.savefig(latency)
    return [path, latency]
