"""Benchmarks (``make bench``): medians of several runs, each against a baseline measured in the
same run. Speed is reported here, never asserted in tests.

    python -m eval.bench ingest [--corpus PATH] [--runs 3] [--backend auto]
        newsrag's ingest (load, chunk, embed, write Chroma + BM25) in chunks/s, against a bare
        ``SentenceTransformer.encode`` (torch) of the same chunk texts; the chunk count and the
        distribution of chunk lengths in word pieces.
    python -m eval.bench peer [--corpus PATH] [--runs 3]
        ours beside the stock LlamaIndex pipeline (SentenceSplitter 256/32, VectorStoreIndex over
        Chroma, the same model): corpus ingestion time and retrieval latency, ratios per run.
    python -m eval.bench ask [--corpus PATH] [--runs 3]
        warm ``Pipeline.ask`` latency p50/p95 over the benchmark questions, against retrieval alone.
    python -m eval.bench chunk [--corpus PATH] [--runs 3] [--mb 2]
        chunking speed in seconds per MB for punctuated news text (the corpus bodies repeated) and
        for the same words with every sentence end removed (one endless sentence), same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from eval.metrics import percentile
from index.offline import stay_offline

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared/datasets/multihop-rag-dev/corpus.json"




def bench_ingest(corpus: Path, runs: int, backend: str = "auto") -> dict:
    from index.embedding import SentenceTransformerEmbedder, make_embedder
    from index.library import Library
    from index.settings import IndexSettings

    models = tempfile.TemporaryDirectory()
    embedder = make_embedder(model="all-MiniLM-L6-v2", backend=backend, cache_dir=Path(models.name))
    embedder.embed(["warm up"])  # export and load the model outside the clocks
    model = SentenceTransformerEmbedder(model="all-MiniLM-L6-v2")._model
    pipeline_rates, bare_rates, counts = [], [], []
    texts: list[str] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            library = Library(IndexSettings(home=Path(home)), embedder=embedder)
            started = time.perf_counter()
            report = library.ingest([corpus])
            elapsed = time.perf_counter() - started
            pipeline_rates.append(report.chunks_written / elapsed)
            ids, texts = library.store.chunk_texts()
            counts.append(len(ids))
        started = time.perf_counter()
        model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True,
                     convert_to_numpy=True, show_progress_bar=False)
        bare_rates.append(len(texts) / (time.perf_counter() - started))
    lengths = [len(embedder._tokenizer.encode(t).ids) for t in texts]
    pipeline, bare = statistics.median(pipeline_rates), statistics.median(bare_rates)
    models.cleanup()
    return {
        "corpus": str(corpus), "runs": runs, "chunks": counts[-1], "backend": embedder.backend,
        "ingest_chunks_per_s": {"median": round(pipeline, 1), "runs": [round(r, 1) for r in pipeline_rates]},
        "bare_torch_encode_chunks_per_s": {"median": round(bare, 1), "runs": [round(r, 1) for r in bare_rates]},
        "ingest_vs_bare_torch": round(pipeline / bare, 3),
        "chunk_word_pieces": {"min": min(lengths), "p10": percentile(lengths, 10),
                              "p50": percentile(lengths, 50), "p90": percentile(lengths, 90),
                              "max": max(lengths), "mean": round(statistics.mean(lengths), 1),
                              "histogram": _histogram(lengths, [0, 64, 128, 192, 224, 240, 257])},
    }


def _histogram(values: list[int], edges: list[int]) -> dict[str, int]:
    return {f"{lo}-{hi - 1}": sum(lo <= v < hi for v in values) for lo, hi in zip(edges, edges[1:], strict=False)}


def bench_ask(corpus: Path, runs: int, questions_path: Path, backend: str = "auto") -> dict:
    from index.library import Library
    from index.settings import IndexSettings
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings

    questions = [q["query"] for q in json.loads(questions_path.read_text())]
    with tempfile.TemporaryDirectory() as home:
        settings = RagSettings(index=IndexSettings(home=Path(home), embed_backend=backend))
        library = Library(settings.index)
        library.ingest([corpus])
        pipeline = Pipeline(settings, library=library)
        for question in questions[:5]:
            pipeline.ask(question)  # warm: model, BM25, caches of the first questions only
        per_run = []
        for _ in range(runs):
            totals, retrieve, answer_ms, retrieval_only = [], [], [], []
            for question in questions:
                pipeline.library.embedder._cache.clear()  # no help from earlier runs
                started = time.perf_counter()
                pipeline.retriever.retrieve(question)
                retrieval_only.append((time.perf_counter() - started) * 1000)
                pipeline.library.embedder._cache.clear()
                result = pipeline.ask(question)
                timings = result.timings_ms
                totals.append(timings["total"])
                # as measured before the stages were timed one by one: understand and retrieve, then the rest
                retrieve.append(timings["understand"] + timings["retrieve"])
                answer_ms.append(timings["total"] - retrieve[-1])
            per_run.append({"total_p50": percentile(totals, 50), "total_p95": percentile(totals, 95),
                            "retrieve_p50": percentile(retrieve, 50), "answer_p50": percentile(answer_ms, 50),
                            "retrieval_only_p50": percentile(retrieval_only, 50),
                            "retrieval_only_p95": percentile(retrieval_only, 95)})
    summary = {key: round(statistics.median(r[key] for r in per_run), 1) for key in per_run[0]}
    summary["ask_vs_retrieval_p50"] = round(summary["total_p50"] / summary["retrieval_only_p50"], 2)
    return {"questions": len(questions), "runs": runs, "median_of_runs_ms": summary,
            "per_run_ms": [{k: round(v, 1) for k, v in r.items()} for r in per_run]}


def bench_chunk(corpus: Path, runs: int, megabytes: float) -> dict:
    import re

    from index.chunking import Chunker
    from index.embedding import make_embedder

    embedder = make_embedder(model="all-MiniLM-L6-v2", backend="torch")  # counts word pieces only
    chunker = Chunker(counter=embedder)
    bodies = "\n\n".join(a["body"] for a in json.loads(corpus.read_text()))
    size = int(megabytes * 1_000_000)
    punctuated = (bodies * (size // len(bodies) + 1))[:size]
    texts = {"punctuated": punctuated, "unpunctuated": re.sub(r"[.!?…\n]+", " ", punctuated)}
    out: dict[str, dict] = {}
    for name, text in texts.items():
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            chunks = chunker.chunk(text, "Benchmark\n\n")
            seconds.append(time.perf_counter() - started)
        per_mb = [s / (len(text) / 1e6) for s in seconds]
        out[name] = {"mb": round(len(text) / 1e6, 2), "chunks": len(chunks),
                     "seconds_per_mb": {"median": round(statistics.median(per_mb), 2),
                                        "runs": [round(s, 2) for s in per_mb]}}
    out["unpunctuated_vs_punctuated"] = round(out["unpunctuated"]["seconds_per_mb"]["median"]
                                              / out["punctuated"]["seconds_per_mb"]["median"], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    stay_offline()
    parser = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["ingest", "ask", "chunk", "peer", "all"], nargs="?", default="all")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mb", type=float, default=2.0, help="text size of the chunk benchmark")
    parser.add_argument("--backend", default="auto", help="embedding backend (auto, onnx-fp32, onnx-int8, torch)")
    parser.add_argument("--questions", type=int, help="only the first N questions (peer retrieval)")
    args = parser.parse_args(argv)
    results = {}
    questions = args.corpus.with_name("MultiHopRAG.json")
    if args.what in {"peer", "all"}:
        from eval.bench_peer import bench_peer

        results["peer"] = bench_peer(args.corpus, args.runs, questions, questions=args.questions)
        print(json.dumps({"peer": results["peer"]}, indent=2), flush=True)
        print(results["peer"]["summary"], flush=True)
    if args.what in {"ingest", "all"}:
        results["ingest"] = bench_ingest(args.corpus, args.runs, args.backend)
        print(json.dumps({"ingest": results["ingest"]}, indent=2), flush=True)
    if args.what in {"chunk", "all"}:
        results["chunk"] = bench_chunk(args.corpus, args.runs, args.mb)
        print(json.dumps({"chunk": results["chunk"]}, indent=2), flush=True)
    if args.what in {"ask", "all"}:
        results["ask"] = bench_ask(args.corpus, args.runs, questions, args.backend)
        print(json.dumps({"ask": results["ask"]}, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
