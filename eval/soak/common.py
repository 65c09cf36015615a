"""What every soak scenario shares: the processes it starts (``newsrag`` commands and servers, a
``chroma run`` server), their environment, the dev slice's questions and latency figures."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from eval.bench import DEFAULT_CORPUS
from eval.metrics import percentile
from eval.processes import free_port, stop, wait_http
from index.offline import OFFLINE_ENV

ROOT = Path(__file__).resolve().parents[2]
DATA = {"corpus": DEFAULT_CORPUS, "questions": DEFAULT_CORPUS.with_name("MultiHopRAG.json")}


def env(**extra: str) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_") or k == "NEWSRAG_MODEL_DIR"}
    return {**base, **OFFLINE_ENV, "PYTHONPATH": str(ROOT), **extra}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ui.cli", *args]


@contextlib.contextmanager
def newsrag_server(home: Path, log: Path, **extra: str):
    port = free_port()
    with open(log, "ab") as out:
        process = subprocess.Popen(cli("serve", "--port", str(port), "--home", str(home)), cwd=ROOT,
                                   env=env(**extra), stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", process=process)
        yield process, f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def ask_loop(url: str, questions: list[str], clients: int, until, record, timeout: float = 120) -> None:
    """``clients`` threads asking in turn until ``until()`` is true; ``record(t, status, kind, ms)``."""
    import httpx

    def client(i: int) -> None:
        with httpx.Client(base_url=url, timeout=timeout) as http:
            n = i
            while not until():
                question = questions[n % len(questions)]
                n += clients
                started = time.monotonic()
                try:
                    response = http.post("/api/ask", json={"question": question})
                    kind = "" if response.status_code == 200 else response.json().get("type", "")
                    message = "" if response.status_code == 200 else response.json().get("error", "")
                    record(started, response.status_code, kind, (time.monotonic() - started) * 1000, message)
                except httpx.HTTPError as exc:
                    record(started, 0, type(exc).__name__, (time.monotonic() - started) * 1000, str(exc))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def dev_index(work: Path, articles: int | None = None) -> Path:
    home = work / f"dev-home-{articles or 'all'}"
    if not (home / "chroma").is_dir():
        corpus = DATA['corpus']
        if articles:
            corpus = work / f"corpus-{articles}.json"
            corpus.write_text(json.dumps(json.loads(DATA['corpus'].read_text())[:articles]))
        subprocess.run(cli("ingest", str(corpus), "--home", str(home), "--quiet"), cwd=ROOT, env=env(),
                       check=True, stdout=subprocess.DEVNULL)
    return home


def questions() -> list[str]:
    return [q["query"] for q in json.loads(DATA['questions'].read_text())]


def latency(rows: list[tuple]) -> dict:
    """p50/p95/max of the successful requests among ``rows`` (``(t, status, kind, ms, message)``)."""
    ms = [r[3] for r in rows if r[1] == 200]
    return {"requests": len(rows), "errors": sum(1 for r in rows if r[1] != 200),
            "p50_ms": round(percentile(ms, 50)), "p95_ms": round(percentile(ms, 95)),
            "max_ms": round(max(ms, default=0))}



@contextlib.contextmanager
def chroma_run(work: Path):
    """A fresh ``chroma run`` server on a free port; yields its URL."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    port, data = free_port(), work / "replicas-chroma"
    shutil.rmtree(data, ignore_errors=True)
    with open(work / "replicas-chroma.log", "ab") as out:
        process = subprocess.Popen([chroma, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, env=env())
    try:
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
