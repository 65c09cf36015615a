"""The MultiHop-RAG runner: index the benchmark's corpus in a collection of its own, then for every
question (a) rank chunks with each retriever (dense, BM25, fused) for the retrieval metrics and
(b) ask the pipeline for the answer metrics and latency.

MultiHop-RAG: Tang & Yang, "Benchmarking Retrieval-Augmented Generation for Multi-Hop Queries",
COLM 2024 (arXiv 2401.15391); dataset licence ODC-BY 1.0.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from eval import metrics as m
from eval.report import encoder_of
from eval.sets import MultihopData, MultihopQuestion
from index.errors import ConfigError
from index.library import Library
from rag.types import TIMINGS

FUSIONS = ("dense", "bm25", "rrf")  # "rrf" is the ranking the product uses (question and claims, fused)
PRODUCT = "rrf"
FULL_CORPUS_ARTICLES = 609  # the corpus of the paper
NULL_TYPE = "null_query"
INSUFFICIENT = "Insufficient information."  # the benchmark's gold answer for null questions
VERDICT = "verdict"  # the kind of a direct answer line giving a yes/no verdict (rag.types.Direct.kind)


def prepare_library(library: Library, data: MultihopData, *, progress=None) -> tuple[dict[str, str], dict]:
    """Index ``corpus.json`` (incremental: unchanged articles are skipped), remove articles that are
    no longer in it; URL -> article id (identical texts under two URLs share an id), and what
    ingestion did."""
    report = library.ingest([data.corpus], progress=progress)
    removed = 0
    if report.failures:
        raise ConfigError(f"{data.corpus}: {report.failed} articles failed to load, e.g. {report.failures[0]}")
    by_url: dict[str, str] = {}
    for record in library.articles():
        keys = [k for k in record.keys if k in data.urls]
        if not keys:
            library.remove(record.id)
            removed += 1
        for key in keys:
            by_url[key] = record.id
    missing = sorted(data.urls - by_url.keys())
    if missing:
        raise ConfigError(f"{missing[0]} from {data.corpus} is not in the index after ingestion.")
    return by_url, {"added": report.added, "updated": report.updated, "unchanged": report.unchanged,
                    "duplicates": report.duplicates, "removed": removed, "chunks_written": report.chunks_written}


def _bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="question", desc=desc, file=sys.stderr, dynamic_ncols=True)


def _articles(location, also) -> list[str]:
    return sorted({location.article_id, *(a.article_id for a in also)})


def rank_chunks(pipeline, questions: Sequence[MultihopQuestion], *, fusions: Sequence[str] = FUSIONS,
                progress: bool = False) -> dict[str, list[dict]]:
    """For each fusion, per question: the first-relevant rank, relevance of each of the top 10
    chunks, and the articles of each. "rrf" is the ranking the answerer reads
    (``Pipeline.ranking``: the question and its claims); "dense" and "bm25" are one retriever alone
    on the whole question, for comparison."""
    retriever = pipeline.retriever
    retriever.library.embedder.embed_cached([q.query for q in questions])  # one batch, then cached
    out: dict[str, list[dict]] = {}
    bar = _bar(len(questions) * len(fusions), "Retrieval", progress)
    for fusion in fusions:
        rows = []
        for q in questions:
            if fusion == PRODUCT:
                passages = pipeline.ranking(pipeline.understand(q.query), k=m.TOP)[:m.TOP]
            else:
                passages = retriever.retrieve(q.query, k=m.TOP, fusion=fusion)
            texts = [p.text for p in passages]
            rows.append({"relevant": [m.relevant(t, q.facts) for t in texts] if q.facts else [],
                         "articles": [_articles(p.location, p.also) for p in passages],
                         "texts": texts})
            if bar is not None:
                bar.update(1)
        out[fusion] = rows
    if bar is not None:
        bar.close()
    return out


def ask_all(pipeline, questions: Sequence[MultihopQuestion], *, mode: str | None = None,
            progress: bool = False) -> list[dict]:
    """Ask every question; what the answer metrics need, per question."""
    rows = []
    bar = _bar(len(questions), "Answers", progress)
    from rag.errors import LLMTimeoutError

    for q in questions:
        try:
            answer = pipeline.ask(q.query, mode=mode)
        except LLMTimeoutError as exc:  # one slow reply is that question's error, not the run's end
            rows.append({"status": "error", "error": str(exc), "answer": "", "direct": None, "direct_kind": None,
                         "citations": [],
                         "conflicts": 0, "sentences": [], "refusal": None, "timings_ms": {}})
            if bar is not None:
                bar.update(1)
            continue
        rows.append(answer_row(answer))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return rows


def answer_row(answer) -> dict:
    """What the answer metrics need of one ``Answer``."""
    return {"status": answer.status, "answer": answer.answer,
            "direct": answer.direct.text if answer.direct else None,
            "direct_kind": answer.direct.kind if answer.direct else None,
            "citations": [{"quote": c.quote, "articles": _articles(c.location, c.also)} for c in answer.citations],
            "conflicts": len(answer.conflicts),
            "sentences": [s.to_dict() for s in answer.sentences],
            "refusal": answer.refusal.to_dict() if answer.refusal else None,
            "timings_ms": {k: round(v, 2) for k, v in answer.timings_ms.items()}}


def score_question(q: MultihopQuestion, gold_articles: Sequence[str], ranked: Mapping[str, dict],
                   answer: dict) -> dict:
    """Every per-question metric (``None`` where it does not apply)."""
    row: dict = {"id": q.id, "type": q.type, "query": q.query, "gold_answer": q.answer,
                 "gold_articles": list(gold_articles), "retrieval": {}}
    for fusion, r in ranked.items():
        if q.answerable:
            scores = m.retrieval_scores(r["texts"], q.facts)
            first = m.first_relevant_rank(r["texts"], q.facts)
            row["retrieval"][fusion] = {**scores, "first_rank": first,
                                        "evidence_recall@10": m.evidence_recall(r["articles"], gold_articles)}
        else:
            row["retrieval"][fusion] = None
    refused = answer["status"] == "refused"
    cited = [c["articles"] for c in answer["citations"]]
    quotes = [c["quote"] for c in answer["citations"]]
    prediction = INSUFFICIENT if refused else answer["answer"]
    row["answer"] = {
        **answer,
        "refused": refused,
        "citation_precision": m.citation_precision(quotes, q.facts) if q.answerable else None,
        "citation_article_precision": m.citation_article_precision(cited, gold_articles) if q.answerable else None,
        "evidence_coverage": m.evidence_coverage(cited, gold_articles) if q.answerable else None,
        "containment": (not refused and m.contains(answer["answer"], q.answer)) if q.answerable else None,
        # the direct answer line, when one is shown: is it the gold answer? (a yes/no verdict is
        # scored as a verdict, below)
        "direct_correct": (m.contains(answer["direct"], q.answer)
                           if answer.get("direct") and q.answerable and answer.get("direct_kind") != VERDICT
                           else None),
        # a yes/no question (gold "Yes" or "No"): was a verdict shown, and is it the gold one?
        "verdict_correct": (m.verdict_matches(answer["direct"], q.answer)
                            if m.is_verdict_gold(q.answer) and answer.get("direct_kind") == VERDICT else None),
        "verdict_asked": m.is_verdict_gold(q.answer),
        "lenient_qa": m.lenient_match(prediction, q.answer),
    }
    return row


def _retrieval_summary(rows: Sequence[dict], fusion: str) -> dict:
    scored = [r["retrieval"][fusion] for r in rows if r["retrieval"].get(fusion)]
    keys = ("hits@4", "hits@10", "mrr@10", "map@10", "evidence_recall@10")
    summary = {k: m.mean(s[k] for s in scored) for k in keys}
    summary["hits@k"] = [m.mean(m.hits_at_k(s["first_rank"], k) for s in scored) for k in range(1, m.TOP + 1)]
    summary["mrr@k"] = [m.mean(m.reciprocal_rank_at_k(s["first_rank"], k) for s in scored) for k in range(1, m.TOP + 1)]
    summary["n"] = len(scored)
    return summary


def _answer_summary(rows: Sequence[dict]) -> dict:
    answers = [r["answer"] for r in rows]
    answerable = [a for r, a in zip(rows, answers, strict=True) if r["type"] != NULL_TYPE]
    return {
        "n": len(rows),
        "refusal_rate": m.mean(float(a["refused"]) for a in answers),
        "citation_precision": m.mean(a["citation_precision"] for a in answerable if not a["refused"]),
        "citation_article_precision": m.mean(a["citation_article_precision"] for a in answerable if not a["refused"]),
        "evidence_coverage": m.mean(a["evidence_coverage"] for a in answerable),
        "containment": m.mean(float(a["containment"]) for a in answerable) if answerable else None,
        "lenient_qa": m.mean(float(a["lenient_qa"]) for a in answers),
        "citations_per_answer": m.mean(len(a["citations"]) for a in answers if not a["refused"]),
        "direct_shown": m.mean(float(a.get("direct_correct") is not None) for a in answerable) if answerable else None,
        "direct_precision": m.mean(float(a["direct_correct"]) for a in answerable
                                   if a.get("direct_correct") is not None),
        "verdict_shown": m.mean(float(a.get("verdict_correct") is not None) for a in answers
                                if a.get("verdict_asked")),
        "verdict_precision": m.mean(float(a["verdict_correct"]) for a in answers
                                    if a.get("verdict_correct") is not None),
    }


def sentence_summary(rows: Sequence[dict]) -> dict:
    """How the answer sentences relate to their sources (shares of quoted, cited, attributed and
    unsupported sentences in answered questions) and why questions were refused."""
    kinds = [s["kind"] for r in rows if not r["answer"]["refused"] for s in r["answer"].get("sentences", [])]
    reasons: dict[str, int] = {}
    for r in rows:
        refusal = r["answer"].get("refusal")
        if r["answer"]["refused"] and refusal:
            # the evidence gate refuses before any model runs; the answerer's refusals keep a reply
            key = refusal["reason"] if refusal.get("reply") is not None else "the evidence gate, before the answerer"
            reasons[key] = reasons.get(key, 0) + 1
    return {"sentences": len(kinds),
            "shares": {k: (kinds.count(k) / len(kinds) if kinds else None)
                       for k in ("quoted", "cited", "attributed", "unsupported")},
            "answered": sum(1 for r in rows if r["answer"]["status"] == "answered"),
            "refused": sum(1 for r in rows if r["answer"]["refused"]),
            "errors": sum(1 for r in rows if r["answer"]["status"] == "error"),
            "refusal_reasons": dict(sorted(reasons.items(), key=lambda kv: -kv[1]))}


def summarize(rows: Sequence[dict], fusions: Sequence[str] = FUSIONS) -> dict:
    """Retrieval and answer metrics overall and per question type; refusal; latency."""
    types = sorted({r["type"] for r in rows})
    retrieval = {}
    for fusion in fusions:
        retrieval[fusion] = {"overall": _retrieval_summary(rows, fusion),
                             "by_type": {t: _retrieval_summary([r for r in rows if r["type"] == t], fusion)
                                         for t in types if t != NULL_TYPE}}
    answers = {"overall": _answer_summary(rows),
               "by_type": {t: _answer_summary([r for r in rows if r["type"] == t]) for t in types},
               "without_top": {t: _without_top([r for r in rows if r["type"] == t]) for t in types
                               if t != NULL_TYPE}}
    refusal = m.refusal_scores([r["answer"]["refused"] for r in rows], [r["type"] == NULL_TYPE for r in rows])
    latency = {}
    for stage in TIMINGS:
        values = [r["answer"]["timings_ms"][stage] for r in rows if stage in r["answer"]["timings_ms"]]
        latency[stage] = {"p50": m.percentile(values, 50), "p95": m.percentile(values, 95),
                          "mean": m.mean(values), "n": len(values)}
    return {"retrieval": retrieval, "answers": answers, "refusal": refusal, "latency_ms": latency,
            "sentences": sentence_summary(rows)}


def most_frequent_answer(rows: Sequence[dict]) -> str | None:
    """The gold answer most questions of ``rows`` share (normalized: "no" and "No" are one), the
    first met on a tie; ``None`` for no rows."""
    counts: dict[str, int] = {}
    for r in rows:
        key = m.normalize(r["gold_answer"])
        counts[key] = counts.get(key, 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else None


def _without_top(rows: Sequence[dict]) -> dict:
    """The answer metrics of ``rows`` without the questions whose gold answer is their most
    frequent one (on the train split's inference questions, Sam Bankman-Fried: 271 of 514): a
    product judged on other data meets other dominant answers."""
    top = most_frequent_answer(rows)
    kept = [r for r in rows if m.normalize(r["gold_answer"]) != top]
    return {"top": top, "excluded": len(rows) - len(kept), **_answer_summary(kept)}


def directory_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def run_multihop(data: MultihopData, *, pipeline, mode: str | None = None, fusions: Sequence[str] = FUSIONS,
                 progress: bool = False, ingest_progress=None) -> dict:
    """Index the corpus, rank and answer every question; the results of the run (JSON-ready)."""
    settings = pipeline.settings
    library = pipeline.library
    started = time.perf_counter()
    by_url, ingested = prepare_library(library, data, progress=ingest_progress)
    if hasattr(ingest_progress, "close"):
        ingest_progress.close()  # a progress bar: done before the question bars start
    indexed = time.perf_counter()
    questions = list(data.questions)
    answers = ask_all(pipeline, questions, mode=mode, progress=progress)
    answered = time.perf_counter()
    ranked = rank_chunks(pipeline, questions, fusions=fusions, progress=progress)
    rows = []
    for i, q in enumerate(questions):
        gold = sorted({by_url[u] for u in q.urls})
        rows.append(score_question(q, gold, {f: ranked[f][i] for f in fusions}, answers[i]))
    index = library.settings
    stats = library.store.counts()
    size = None if index.chroma_url else directory_size(index.home)
    return {
        "kind": "multihop",
        "data": {"folder": str(data.folder), "articles": data.n_articles, "questions": len(questions),
                 "questions_total": data.n_questions_total, "sha256": dict(data.sha256),
                 "subset": data.n_articles < FULL_CORPUS_ARTICLES,
                 "limited": len(questions) < data.n_questions_total},
        "mode": mode or settings.mode,
        "encoder": encoder_of(library),
        "settings": {"fusion": settings.fusion, "dense_weight": settings.tuning.dense_weight,
                     "rrf_k": settings.tuning.rrf_k, "top_k": settings.top_k, "candidates": settings.candidates,
                     "refusal_threshold": settings.tuning.refusal_threshold, "embed_model": index.embed_model,
                     "embed_backend": library.embedder.backend, "embed_precision": library.embedder.precision,
                     "chunk_tokens": library.chunker.max_tokens, "chunk_overlap": index.chunk_overlap,
                     "tuning": settings.tuning.to_dict()},
        "index": {"collection": index.collection, "where": library.where, "articles": stats["articles"],
                  "chunks": stats["chunks"], "size_bytes": size, "ingest": ingested},
        "seconds": {"index": round(indexed - started, 2), "answers": round(answered - indexed, 2),
                    "retrieval": round(time.perf_counter() - answered, 2)},
        "summary": summarize(rows, fusions),
        "questions": rows,
    }
