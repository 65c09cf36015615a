"""Scale benchmark (``make bench-scale``; ``--smoke`` is the one-minute form CI runs).

    python -m eval.bench_scale [--sizes 10000 100000] [--out DIR] [--cache DIR] [--smoke]

Grows one synthetic library (``eval.synthetic``: dev-corpus articles recombined) to each size in
turn and measures, at each size:

- ``ingest``: chunks/s of a real ingest (the configured encoder, every step) of new articles;
  ``fill`` is the rate at which the library was grown, with sentence vectors computed once;
- ``bm25_update_s``: the lexical-index work for +1 article (median of three), beside a full
  rebuild of the BM25 index at that size (what every change cost before segments);
- ``question_ms``: warm ``Pipeline.ask`` p50/p95 over MultiHop-RAG dev questions (embedding cache
  cleared before each);
- ``server``: a real ``newsrag serve`` on the library: RSS after answering, its peak, and the
  Library listing (``GET /api/articles``) time;
- ``disk``: bytes per 1,000 chunks (Chroma + BM25).

Writes ``scale.json`` and ``scale.png`` (each measure against the size) to ``--out``. Absolute
numbers depend on the machine's load; compare sizes within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from eval.metrics import percentile
from eval.multihop import directory_size
from eval.processes import free_port, stop, wait_http
from index.offline import stay_offline

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "multihop-rag-dev"
SMOKE = {"sizes": [300, 600], "source_articles": 8, "measure_chunks": 40, "questions": 6, "server_questions": 3}
FULL = {"sizes": [10000, 100000], "source_articles": 60, "measure_chunks": 1000, "questions": 60,
        "server_questions": 20}


class Scale:
    def __init__(self, *, home: Path, out: Path, cache: Path, config: dict, models: Path, seed: int = 7):
        from eval.synthetic import FactTable
        from index.embedding import make_embedder
        from index.language import annotate
        from index.settings import IndexSettings

        self.home, self.out, self.cache, self.config, self.seed = home, out, cache, config, seed
        self.corpus = json.loads((DATA / "corpus.json").read_text())[:config["source_articles"]]
        self.questions = [q["query"] for q in json.loads((DATA / "MultiHopRAG.json").read_text())]
        # the encoder NEWSRAG_EMBED_BACKEND names (auto by default); nothing else of the environment
        self.settings = IndexSettings(home=home, model_dir=models,
                                      embed_backend=IndexSettings.from_env().embed_backend)
        self.encoder = make_embedder(model=self.settings.embed_model, backend=self.settings.embed_backend,
                                     cache_dir=self.settings.model_path)
        self.encoder.embed(["warm up"])
        self.facts = FactTable(annotate)  # one for every size: each corpus sentence annotated once
        # a library grown by an earlier run holds articles 0 .. n-1: go on from there
        self.next_number = self.library(self.encoder).store.counts()["articles"] if home.exists() else 0

    def _articles(self, count: int) -> list[Path]:
        from eval.synthetic import synthetic_articles, write_jsonl

        folder = self.out / "articles" / f"batch-{self.next_number:07d}"
        paths = write_jsonl(synthetic_articles(self.corpus, count, seed=self.seed, start=self.next_number), folder)
        self.next_number += count
        return paths

    def library(self, embedder, annotator=None, **settings):
        from index.library import Library

        return Library(self.settings.with_(**settings), embedder=embedder, annotator=annotator)

    def fill(self, target: int) -> dict:
        """Grow the library to ``target`` chunks with sentence vectors and facts from tables."""
        from eval.synthetic import CorpusEmbedder, corpus_sentences

        table = CorpusEmbedder(self.encoder, [s for sents in corpus_sentences(self.corpus) for s in sents],
                              cache=self.cache / f"sentences-{self.config['source_articles']}.npz")
        library = self.library(table, self.facts, chunk_vectors="sentences")
        started, written = time.perf_counter(), 0
        while (have := library.store.counts()["chunks"]) < target:
            batch = max(1, min(600, (target - have) // 12 + 1))
            written += library.ingest(self._articles(batch)).chunks_written
        seconds = time.perf_counter() - started
        return {"chunks_per_s": round(written / seconds, 1) if written else None, "seconds": round(seconds, 1),
                "encoded_outside_table": table.misses, "annotated_sentences": self.facts.misses}

    def measure_ingest(self) -> dict:
        library = self.library(self.encoder)
        paths = self._articles(max(1, self.config["measure_chunks"] // 12))
        started = time.perf_counter()
        report = library.ingest(paths)
        seconds = time.perf_counter() - started
        return {"chunks": report.chunks_written, "seconds": round(seconds, 2),
                "chunks_per_s": round(report.chunks_written / seconds, 1), "backend": self.encoder.backend}

    def measure_bm25(self) -> dict:
        from index.lexical import LexicalIndex

        library = self.library(self.encoder)
        updates = []
        for _ in range(3):
            report = library.ingest(self._articles(1))
            updates.append(library.lexical.last_update.get("seconds", 0.0))
            assert report.added == 1, report.failures
        catalog = library.catalog(fresh=True)
        rebuild_dir = self.out / "bm25-rebuild"
        started = time.perf_counter()
        LexicalIndex(directory=rebuild_dir, store=library.store, background=False).ensure(catalog)
        full = time.perf_counter() - started
        import shutil

        shutil.rmtree(rebuild_dir, ignore_errors=True)
        median = statistics.median(updates)
        return {"update_plus_one_article_s": round(median, 4), "updates_s": [round(u, 4) for u in updates],
                "full_rebuild_s": round(full, 2), "rebuild_vs_update": round(full / median, 1) if median else None,
                "segments": library.lexical.stats()["segments"]}

    def measure_questions(self) -> dict:
        from rag.pipeline import Pipeline
        from rag.settings import RagSettings

        library = self.library(self.encoder)
        pipeline = Pipeline(RagSettings(index=library.settings), library=library)
        asked = self.questions[:self.config["questions"]]
        for question in asked[:3]:
            pipeline.ask(question)
        totals = []
        for question in asked:
            self.encoder._cache.clear()
            started = time.perf_counter()
            pipeline.ask(question)
            totals.append((time.perf_counter() - started) * 1000)
        return {"n": len(totals), "p50": round(percentile(totals, 50), 1), "p95": round(percentile(totals, 95), 1)}

    def measure_server(self) -> dict:
        import httpx

        from index.offline import OFFLINE_ENV

        port = free_port()
        env = {**os.environ, **OFFLINE_ENV, "NEWSRAG_HOME": str(self.home),
               "NEWSRAG_MODEL_DIR": str(self.settings.model_path),
               "NEWSRAG_EMBED_BACKEND": self.encoder.backend}  # the one the library was built with
        log = open(self.out / "server.log", "wb")  # noqa: SIM115 (closed below)
        process = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--port", str(port)], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/healthz", timeout=600, process=process, ready=lambda status: status == 200)
            with httpx.Client(base_url=base, timeout=300) as http:
                for question in self.questions[:self.config["server_questions"]]:
                    http.post("/api/ask", json={"question": question}).raise_for_status()
                listing = []
                for _ in range(5):
                    started = time.perf_counter()
                    http.get("/api/articles").raise_for_status()
                    listing.append((time.perf_counter() - started) * 1000)
            status = Path(f"/proc/{process.pid}/status").read_text()
            memory = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines()
                      if line.startswith(("VmRSS", "VmHWM"))}
            return {"rss_mb": round(memory["VmRSS"] / 1024), "peak_rss_mb": round(memory["VmHWM"] / 1024),
                    "library_list_ms": round(statistics.median(listing), 1)}
        finally:
            stop(process, timeout=30)
            log.close()

    def measure_disk(self) -> dict:
        from index.library import Library

        chunks = Library(self.settings, embedder=self.encoder).store.counts()["chunks"]
        total = directory_size(self.home / "chroma") + directory_size(self.home / "bm25")
        return {"chunks": chunks, "bytes": total, "mb_per_1000_chunks": round(total / chunks * 1000 / 1e6, 2)}

    def size(self, target: int) -> dict:
        row: dict = {"target": target, "fill": self.fill(target)}
        row["ingest"] = self.measure_ingest()
        row["bm25"] = self.measure_bm25()
        row["questions_ms"] = self.measure_questions()
        row["server"] = self.measure_server()
        row["disk"] = self.measure_disk()
        row["chunks"] = row["disk"]["chunks"]
        print(json.dumps(row), flush=True)
        return row


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["chunks"] for r in rows]
    panels = [
        ("ingest (chunks/s)", [("real encoder", [r["ingest"]["chunks_per_s"] for r in rows])]),
        ("BM25 work, +1 article (s)", [("segments", [r["bm25"]["update_plus_one_article_s"] for r in rows]),
                                       ("full rebuild", [r["bm25"]["full_rebuild_s"] for r in rows])]),
        ("warm question (ms)", [("p50", [r["questions_ms"]["p50"] for r in rows]),
                                ("p95", [r["questions_ms"]["p95"] for r in rows])]),
        ("server RSS (MB)", [("after answering", [r["server"]["rss_mb"] for r in rows]),
                             ("peak", [r["server"]["peak_rss_mb"] for r in rows])]),
        ("disk per 1,000 chunks (MB)", [("Chroma + BM25", [r["disk"]["mb_per_1000_chunks"] for r in rows])]),
        ("Library listing (ms)", [("GET /api/articles", [r["server"]["library_list_ms"] for r in rows])]),
    ]
    figure, axes = plt.subplots(2, 3, figsize=(13, 7))
    for ax, (title, series) in zip(axes.flat, panels, strict=True):
        for label, values in series:
            ax.plot(x, values, marker="o", label=label)
        ax.set_title(title)
        ax.set_xscale("log")
        ax.set_xlabel("chunks in the library")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    figure.suptitle("newsrag at scale (synthetic library from the MultiHop-RAG dev corpus)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    stay_offline()
    parser = argparse.ArgumentParser(prog="python -m eval.bench_scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", help="library sizes in chunks, ascending")
    parser.add_argument("--smoke", action="store_true", help="small sizes and few questions (about a minute)")
    parser.add_argument("--out", type=Path, help="report folder (default eval/runs/<timestamp>-scale)")
    parser.add_argument("--home", type=Path, help="library folder (default <out>/home; grown, never emptied)")
    parser.add_argument("--cache", type=Path, default=Path(".newsrag") / "bench-cache",
                        help="sentence vectors (and the exported model unless NEWSRAG_MODEL_DIR is set), kept "
                             "between runs")
    args = parser.parse_args(argv)
    config = dict(SMOKE if args.smoke else FULL)
    if args.sizes:
        config["sizes"] = sorted(args.sizes)
    out = args.out or Path("eval/runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-scale"
    out.mkdir(parents=True, exist_ok=True)
    models = Path(os.environ.get("NEWSRAG_MODEL_DIR") or args.cache / "models")
    scale = Scale(home=args.home or out / "home", out=out, cache=args.cache, config=config, models=models)
    rows: list[dict] = []
    for target in config["sizes"]:  # the report is rewritten after each size: a long run keeps what it measured
        rows.append(scale.size(target))
        report = {"config": config, "backend": scale.encoder.backend, "sizes": rows,
                  "note": "absolute numbers depend on the machine's load; compare sizes within one run"}
        (out / "scale.json").write_text(json.dumps(report, indent=2))
        print(f"{target} chunks: {json.dumps(rows[-1])}", flush=True)
    plot(rows, out / "scale.png")
    print(f"report: {out / 'scale.json'}, plot: {out / 'scale.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
