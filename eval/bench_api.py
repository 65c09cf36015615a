"""Latency of ``POST /api/ask`` under load: ``python -m eval.bench_api --url http://127.0.0.1:7860``.

After a warm-up pass over the questions (not measured: the model, BM25 and the embedding cache are
then in the same state for both phases), phase 1 asks with one client (the baseline), phase 2 with
``--clients`` clients at once, each for ``--seconds``; every client sends questions one after another
(a closed loop, no think time), cycling through the MultiHop-RAG questions from its own starting
point. Prints one JSON
object: count, errors, throughput and p50/p95/p99/max per phase, and the p50 ratio of the two.
Run it against a server started with ``newsrag serve --home ...`` on the index to measure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

from eval.bench import DEFAULT_CORPUS
from eval.metrics import percentile

DEFAULT_QUESTIONS = DEFAULT_CORPUS.with_name("MultiHopRAG.json")


def load_questions(path: Path, limit: int | None = None) -> list[str]:
    records = json.loads(path.read_text())
    questions = [r["query"] for r in records if r.get("query")]
    return questions[:limit] if limit else questions


def warm_up(url: str, questions: list[str], *, token: str | None) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, timeout=120, headers=headers) as http:
        for question in questions:
            http.post("/api/ask", json={"question": question}).raise_for_status()


def run_phase(url: str, questions: list[str], *, clients: int, seconds: float, token: str | None) -> dict:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        with httpx.Client(base_url=url, timeout=120, headers=headers) as http:
            i = offset
            while time.monotonic() < deadline:
                question = questions[i % len(questions)]
                i += 1
                started = time.perf_counter()
                try:
                    response = http.post("/api/ask", json={"question": question})
                except httpx.HTTPError as exc:  # counted, and the client goes on
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if response.status_code == 200:
                        latencies.append(elapsed)
                    else:
                        errors.append(f"{response.status_code} {response.text[:120]}")

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n * len(questions) // clients,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    if not latencies:
        return {"clients": clients, "count": 0, "errors": len(errors), "first_error": errors[:1]}
    return {"clients": clients, "seconds": round(wall, 1), "count": len(latencies), "errors": len(errors),
            "first_error": errors[:1], "throughput_per_s": round(len(latencies) / wall, 2),
            "p50_ms": round(statistics.median(latencies)), "p95_ms": round(percentile(latencies, 95)),
            "p99_ms": round(percentile(latencies, 99)), "max_ms": round(max(latencies))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.bench_api", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, help="MultiHopRAG.json")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0, help="per phase")
    parser.add_argument("--baseline-seconds", type=float, default=None, help="default: --seconds")
    parser.add_argument("--warmup", type=int, default=None,
                        help="questions asked first, not measured (default: every question once, so both "
                             "phases meet the same warm caches)")
    parser.add_argument("--token", help="bearer token when the server has NEWSRAG_API_TOKEN")
    args = parser.parse_args(argv)
    questions = load_questions(args.questions)
    if not questions:
        print(f"error: no questions in {args.questions}", file=sys.stderr)
        return 1
    warm_up(args.url, questions if args.warmup is None else questions[:args.warmup], token=args.token)
    single = run_phase(args.url, questions, clients=1, seconds=args.baseline_seconds or args.seconds,
                       token=args.token)
    loaded = run_phase(args.url, questions, clients=args.clients, seconds=args.seconds, token=args.token)
    ratio = round(loaded["p50_ms"] / single["p50_ms"], 2) if single.get("p50_ms") and loaded.get("p50_ms") else None
    print(json.dumps({"url": args.url, "questions": len(questions), "single": single, "concurrent": loaded,
                      "p50_ratio": ratio}, indent=2))
    return 0 if not (single["errors"] or loaded["errors"]) else 1


if __name__ == "__main__":
    sys.exit(main())
