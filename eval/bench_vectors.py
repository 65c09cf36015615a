"""How chunk vectors are made, measured: ingestion time against dev-slice retrieval quality.

    python -m eval.bench_vectors [--data ../shared/datasets/multihop-rag-dev] [--runs 1]
        [--variants encode sentences sentences-uniform] [--backend auto]

Each variant indexes the MultiHop-RAG dev corpus from scratch (the exported model is shared and
loaded before the clock) and ranks every question with the dense retriever, BM25 and the fused
ranking the product uses; it prints the ingestion seconds (median of runs, and the ratio to
``encode`` in the same run) and Hits@4 / MRR@10 of each ranking. ``encode`` encodes every chunk;
``sentences`` derives chunk vectors from sentence vectors weighted by word pieces (``index.vectors``);
``sentences-uniform`` weighs every sentence the same.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from index.offline import stay_offline

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "multihop-rag-dev"


def retrieval_quality(library, data) -> dict:
    from eval import metrics as m
    from eval.multihop import FUSIONS, rank_chunks
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings

    pipeline = Pipeline(RagSettings(index=library.settings), library=library)
    questions = list(data.questions)
    ranked = rank_chunks(pipeline, questions)  # "rrf" is the ranking the answerer reads
    out = {}
    for fusion in FUSIONS:
        scores = [m.retrieval_scores(row["texts"], q.facts) for q, row in zip(questions, ranked[fusion], strict=True)
                  if q.answerable]
        out[fusion] = {key: round(m.mean(s[key] for s in scores), 4) for key in ("hits@4", "mrr@10")}
    return out


def run(data_folder: Path, variants: list[str], runs: int, backend: str) -> dict:
    import index.vectors as vectors
    from eval.sets import load_multihop
    from index.library import Library
    from index.settings import IndexSettings

    data = load_multihop(data_folder)
    results: dict[str, dict] = {v: {"seconds": []} for v in variants}
    with tempfile.TemporaryDirectory() as models:
        embedder = None
        for _ in range(runs):
            for variant in variants:
                vectors.WEIGHTED = variant != "sentences-uniform"
                how = "encode" if variant == "encode" else "sentences"
                with tempfile.TemporaryDirectory() as home:
                    settings = IndexSettings(home=Path(home), model_dir=Path(models), embed_backend=backend,
                                             chunk_vectors=how)
                    library = Library(settings, embedder=embedder)
                    embedder = library.embedder
                    embedder.embed(["warm up"])
                    started = time.perf_counter()
                    report = library.ingest([data.corpus])
                    results[variant]["seconds"].append(time.perf_counter() - started)
                    results[variant]["chunks"] = report.chunks_written
                    if "quality" not in results[variant]:
                        results[variant]["quality"] = retrieval_quality(library, data)
        vectors.WEIGHTED = True
    base = results[variants[0]]["seconds"]
    for variant in variants:
        seconds = results[variant]["seconds"]
        results[variant]["seconds_median"] = round(statistics.median(seconds), 2)
        results[variant]["time_vs_first"] = round(statistics.median(s / b for s, b in zip(seconds, base, strict=True)), 3)
        results[variant]["seconds"] = [round(s, 2) for s in seconds]
    return {"data": str(data_folder), "backend": embedder.backend, "runs": runs, "variants": results}


def main(argv: list[str] | None = None) -> int:
    stay_offline()
    parser = argparse.ArgumentParser(prog="python -m eval.bench_vectors", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--variants", nargs="+", default=["encode", "sentences", "sentences-uniform"],
                        choices=["encode", "sentences", "sentences-uniform"])
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.data, args.variants, args.runs, args.backend), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
