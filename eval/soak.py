"""Faults and load against real processes (``make soak``; CI runs ``all --short``).

    python -m eval.soak kill [--rounds 20]
        ``kill -9`` of ``newsrag ingest`` at random points of its write phase, each followed by a
        re-run; after every re-run: 0 orphan chunks, 0 keys owned twice, 0 incomplete articles;
        at the end the index (articles, versions, chunks, earlier versions) is identical to the
        one an uninterrupted run of the same ingests built. Every round updates a third of the
        articles (their URL stays, their text changes), so each round has work to interrupt.
    python -m eval.soak load [--clients 32] [--seconds 60]
        that many concurrent clients asking ``POST /api/ask`` of ``newsrag serve`` on the
        MultiHop-RAG dev slice; errors, p50/p95 latency, throughput.
    python -m eval.soak chroma [--clients 8] [--down 8]
        ``newsrag serve`` on a ``chroma run`` server that is stopped and restarted under load:
        the statuses while it is down (503 with the store's message, never a 500 or a hang), the
        seconds to recover without restarting newsrag, and that nothing was lost.
    python -m eval.soak big [--mb 9]
        an unpunctuated file of that size uploaded over HTTP: the job's time, and question
        latency while it runs; then SIGTERM mid-job.

Each prints one JSON object per scenario and exits non-zero when a check fails. Figures taken on a
shared, loaded machine are comparable within one run only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from eval.bench import DEFAULT_CORPUS, percentile

ROOT = Path(__file__).resolve().parent.parent
DATA = {"corpus": DEFAULT_CORPUS, "questions": DEFAULT_CORPUS.with_name("MultiHopRAG.json")}
ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
       "ANONYMIZED_TELEMETRY": "False", "TOKENIZERS_PARALLELISM": "false"}


def env(**extra: str) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    return {**base, **ENV, "PYTHONPATH": str(ROOT), **extra}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ui.cli", *args]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 180, process: subprocess.Popen | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[:4]} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=5).status_code < 500:
                return
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


def stop(process: subprocess.Popen, timeout: float = 20) -> float:
    """SIGTERM, then wait; the seconds it took to exit (SIGKILL after ``timeout``)."""
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return time.monotonic() - started


# ------------------------------------------------------------------------------------ kill -9


def snapshot(home: Path) -> dict:
    """The index's content (no timestamps) and its invariants, read in this process."""
    from index.library import Library
    from index.settings import IndexSettings
    from index.store import chunk_id

    library = Library(IndexSettings(home=home), check_every=0.0)
    store = library.store
    records = {r.id: r for r in store.list_articles()}
    chunks = store.chunk_versions()
    live = {(r.version, i) for r in records.values() for i in range(r.n_chunks)}
    present = {cid for cid, _, _ in chunks}
    owners = [k for r in records.values() for k in r.keys]
    return {
        "articles": sorted([r.id, r.version, r.keys, r.n_chunks] for r in records.values()),
        "chunks": sorted(present),
        "versions": sorted([v.id, v.superseded_by] for v in store.list_versions()),
        "invariants": {
            "orphan_chunks": sum(1 for _, aid, version in chunks
                                 if aid not in records or records[aid].version != version),
            "missing_chunks": sum(1 for v, i in live if chunk_id(v, i) not in present),
            "duplicate_keys": len(owners) - len(set(owners)),
            "duplicate_chunks": len(chunks) - len(present),
        },
    }


def cmd_state(args) -> int:
    """(internal) repair what a killed run left, ingest each path in order, print the snapshot."""
    from index.library import Library
    from index.settings import IndexSettings

    home = Path(args.home)
    library = Library(IndexSettings(home=home), check_every=0.0)
    repaired = library.repair()
    for path in args.ingest or ():
        feed = Path(args.feed)
        shutil.copy(path, feed)
        report = library.ingest([feed])
        if report.failures:
            print(json.dumps({"failures": report.failures}))
            return 1
    print(json.dumps({"repaired": repaired, **snapshot(home)}))
    return 0


def variants(rounds: int, articles: int, folder: Path) -> list[Path]:
    corpus = json.loads(DATA['corpus'].read_text())[:articles]
    paths = []
    for r in range(rounds + 1):
        items = [{**a, "body": a["body"] + (f"\n\nUpdated in round {r}." if (j + r) % 3 == 0 else "")}
                 for j, a in enumerate(corpus)]
        paths.append(folder / f"variant-{r:02d}.json")
        paths[-1].write_text(json.dumps(items))
    return paths


def _committed(seen: str) -> int:
    done = [int(x.split("/")[0]) for x in seen.replace("\r", "\n").split("articles ")[1:]
            if x.split("/")[0].isdigit()]
    return max(done) if done else -1


def kill_once(feed: Path, home: Path, at_least: int, extra: float, timeout: float = 300) -> dict:
    """Start ``newsrag ingest``, kill -9 once ``at_least`` articles are committed (+``extra`` s)."""
    process = subprocess.Popen(cli("ingest", str(feed), "--home", str(home)), cwd=ROOT,
                               env=env(NEWSRAG_EMBED_BATCH="8"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    fd = process.stderr.fileno()
    os.set_blocking(fd, False)
    seen, deadline = "", time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(BlockingIOError):
            seen += os.read(fd, 65536).decode("utf-8", "replace")
        if _committed(seen) >= at_least:
            time.sleep(extra)
            break
        time.sleep(0.02)
    finished = process.poll() is not None
    process.kill()
    process.wait()
    process.stderr.close()
    return {"killed_after": _committed(seen), "finished_first": finished}


def run_state(home: Path, feed: Path, ingest: list[Path]) -> dict:
    out = subprocess.run([sys.executable, "-m", "eval.soak", "state", "--home", str(home), "--feed", str(feed),
                          "--ingest", *map(str, ingest)], cwd=ROOT, env=env(), capture_output=True, text=True,
                         timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"state failed: {out.stdout[-2000:]}{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def scenario_kill(rounds: int, articles: int, seed: int) -> dict:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="soak-kill-") as tmp:
        tmp = Path(tmp)
        paths = variants(rounds, articles, tmp)
        home, feed = tmp / "home", tmp / "feed.json"
        started = time.monotonic()
        base = run_state(home, feed, paths[:1])  # round 0: the corpus, ingested whole
        kills, failures = [], []
        for r in range(1, rounds + 1):
            shutil.copy(paths[r], feed)
            changed = sum(1 for j in range(articles) if (j + r) % 3 == 0 or (j + r - 1) % 3 == 0)
            point = {"round": r, **kill_once(feed, home, rng.randrange(changed), rng.uniform(0, 0.4))}
            after = run_state(home, feed, [paths[r]])
            point["repaired"] = after["repaired"]
            kills.append(point)
            if any(after["invariants"].values()):
                failures.append(f"round {r}: {after['invariants']}")
        seconds = time.monotonic() - started
        (tmp / "ref").mkdir()
        reference = run_state(tmp / "ref" / "home", tmp / "ref" / "feed.json", paths)
    same = {k: after[k] == reference[k] for k in ("articles", "versions", "chunks")}
    if not all(same.values()):
        failures.append(f"final state differs from the uninterrupted run: {same}")
    interrupted = [k for k in kills if not k["finished_first"]]
    return {"scenario": "kill", "rounds": rounds, "articles": articles, "kills_mid_write": len(interrupted),
            "kill_points_committed": [k["killed_after"] for k in kills],
            "left_by_kills": {key: sum(k["repaired"][key] for k in kills) for key in base["repaired"]},
            "final_invariants": after["invariants"], "identical_to_uninterrupted": same,
            "articles_indexed": len(after["articles"]), "earlier_versions": len(after["versions"]),
            "seconds": round(seconds, 1), "failures": failures, "ok": not failures}


# -------------------------------------------------------------------------------- servers


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


def scenario_load(work: Path, clients: int, seconds: float) -> dict:
    home = dev_index(work)
    results: list[tuple] = []
    lock = threading.Lock()

    def record(*row):
        with lock:
            results.append(row)

    with newsrag_server(home, work / "load.log") as (process, url):
        asked = questions()
        ask_loop(url, asked[:4], 4, lambda: len(results) >= 8, record)  # warm-up
        results.clear()
        deadline = time.monotonic() + seconds
        ask_loop(url, asked, clients, lambda: time.monotonic() >= deadline, record)
        took = stop(process)
    latencies = [r[3] for r in results if r[1] == 200]
    errors = [r for r in results if r[1] != 200]
    summary = {"scenario": "load", "clients": clients, "seconds": seconds, "requests": len(results),
               "errors": len(errors), "error_kinds": sorted({f"{r[1]} {r[2]}" for r in errors}),
               "p50_ms": round(percentile(latencies, 0.5)), "p95_ms": round(percentile(latencies, 0.95)),
               "max_ms": round(max(latencies, default=0)), "per_second": round(len(results) / seconds, 2),
               "sigterm_exit_s": round(took, 1)}
    summary["ok"] = not errors and bool(latencies) and took < 10
    return summary


def scenario_chroma(work: Path, clients: int, down: float) -> dict:
    import httpx

    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    port, data = free_port(), work / "chroma-db"
    shutil.rmtree(data, ignore_errors=True)

    def start_chroma():
        with open(work / "chroma.log", "ab") as out:
            process = subprocess.Popen([chroma, "run", "--path", str(data), "--host", "127.0.0.1", "--port",
                                        str(port)], stdout=out, stderr=subprocess.STDOUT, env=env())
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", process=process)
        return process

    url_env = {"NEWSRAG_CHROMA_URL": f"http://127.0.0.1:{port}"}
    home = work / "chroma-home"
    shutil.rmtree(home, ignore_errors=True)
    server = start_chroma()
    corpus = work / "corpus-12.json"
    corpus.write_text(json.dumps(json.loads(DATA['corpus'].read_text())[:12]))
    subprocess.run(cli("ingest", str(corpus), "--home", str(home), "--quiet"), cwd=ROOT, env=env(**url_env),
                   check=True, stdout=subprocess.DEVNULL)
    results: list[tuple] = []
    lock = threading.Lock()
    asked = questions()[:40]
    try:
        with newsrag_server(home, work / "chroma-newsrag.log", **url_env) as (process, url):
            health_before = httpx.get(f"{url}/healthz", timeout=30).json()
            reference = httpx.post(f"{url}/api/ask", json={"question": asked[0]}, timeout=120).json()
            phase = {"name": "up"}
            marks: dict[str, float] = {}

            def record(t, status, kind, ms, message):
                with lock:
                    results.append((phase["name"], t, status, kind, ms, message))

            def until():
                return phase["name"] == "done"

            loader = threading.Thread(target=ask_loop, args=(url, asked, clients, until, record, 60), daemon=True)
            loader.start()
            time.sleep(5)
            phase["name"] = "down"
            marks["stopped"] = time.monotonic()
            stop(server)
            time.sleep(down)
            phase["name"] = "restarting"
            server = start_chroma()
            marks["restarted"] = time.monotonic()
            phase["name"] = "recovering"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with lock:
                    ok = [r for r in results if r[0] == "recovering" and r[2] == 200]
                if ok:
                    marks["recovered"] = min(r[1] + r[4] / 1000 for r in ok)
                    break
                time.sleep(0.2)
            phase["name"] = "after"
            time.sleep(5)
            phase["name"] = "done"
            loader.join(180)
            health_after = httpx.get(f"{url}/healthz", timeout=30).json()
            again = httpx.post(f"{url}/api/ask", json={"question": asked[0]}, timeout=120).json()
    finally:
        stop(server)
    by_phase: dict[str, dict[str, int]] = {}
    for name, _, status, kind, _, _ in results:
        key = f"{status} {kind}".strip()
        by_phase.setdefault(name, {}).setdefault(key, 0)
        by_phase[name][key] += 1
    messages = sorted({r[5] for r in results if r[2] == 503})
    bad = [r for r in results if r[2] not in (200, 503)]
    same_answer = {k: v for k, v in again.items() if k != "timings_ms"} == \
        {k: v for k, v in reference.items() if k != "timings_ms"}
    recovered = marks.get("recovered")
    summary = {"scenario": "chroma", "clients": clients, "down_s": down, "statuses_by_phase": by_phase,
               "messages_503": messages[:3], "other_statuses": len(bad),
               "recovery_s_after_restart": None if recovered is None else round(recovered - marks["restarted"], 1),
               "health_before": health_before, "health_after": health_after, "same_answer_after": same_answer}
    summary["ok"] = (not bad and recovered is not None and health_before == health_after and same_answer
                     and any(k.startswith("503") for k in by_phase.get("down", {})))
    return summary


def scenario_big(work: Path, mb: float) -> dict:
    import httpx

    home = work / "big-home"
    shutil.rmtree(home, ignore_errors=True)
    words = " ".join(json.loads(DATA['corpus'].read_text())[0]["body"].replace(".", " ").split())
    text = (words + " ") * int(mb * 1_000_000 / (len(words) + 1) + 1)
    text = text[:int(mb * 1_000_000)]
    latencies: list[float] = []
    with newsrag_server(home, work / "big.log", NEWSRAG_MAX_FILE_MB=str(max(10, mb + 1))) as (process, url):
        http = httpx.Client(base_url=url, timeout=120)
        seeds = [("files", (p.name, p.read_bytes())) for p in sorted((ROOT / "data/articles").glob("*.txt"))]
        first = http.post("/api/articles", files=seeds).json()
        http.get(f"/api/jobs/{first['id']}", params={"wait": 60})
        started = time.monotonic()
        job = http.post("/api/articles", files={"files": ("endless.txt", text.encode())})
        accepted_ms = (time.monotonic() - started) * 1000
        job_id = job.json()["id"]
        status = "queued"
        while status in ("queued", "running") and time.monotonic() - started < 3600:
            t = time.monotonic()
            answer = http.post("/api/ask", json={"question": "How many drones were intercepted?"})
            latencies.append((time.monotonic() - t) * 1000)
            assert answer.status_code == 200, answer.text
            state = http.get(f"/api/jobs/{job_id}").json()
            status = state["status"]
            time.sleep(2)
        took = time.monotonic() - started
        final = http.get(f"/api/jobs/{job_id}").json()
        http.close()
    return {"scenario": "big", "mb": mb, "accepted_ms": round(accepted_ms), "job_status": final["status"],
            "job_seconds": round(took, 1), "chunks": (final["progress"] or {}).get("chunks_total"),
            "asks_during_job": len(latencies), "ask_p50_ms": round(percentile(latencies, 0.5)),
            "ask_max_ms": round(max(latencies, default=0)),
            "ok": final["status"] == "done" and final["results"][0]["status"] == "ok"}


# ------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.soak", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    kill = sub.add_parser("kill")
    kill.add_argument("--rounds", type=int, default=20)
    kill.add_argument("--articles", type=int, default=12)
    kill.add_argument("--seed", type=int, default=8)
    load = sub.add_parser("load")
    load.add_argument("--clients", type=int, default=32)
    load.add_argument("--seconds", type=float, default=60)
    chroma = sub.add_parser("chroma")
    chroma.add_argument("--clients", type=int, default=8)
    chroma.add_argument("--down", type=float, default=8)
    big = sub.add_parser("big")
    big.add_argument("--mb", type=float, default=9)
    everything = sub.add_parser("all")
    everything.add_argument("--short", action="store_true", help="the CI form: a couple of minutes")
    state = sub.add_parser("state")
    state.add_argument("--home", required=True)
    state.add_argument("--feed", required=True)
    state.add_argument("--ingest", nargs="*")
    for p in (load, chroma, big, everything):
        p.add_argument("--work", help="folder for indexes and logs (default: a temporary one)")
    for p in (kill, load, chroma, big, everything):
        p.add_argument("--data", type=Path, default=DEFAULT_CORPUS.parent,
                       help="the MultiHop-RAG dev slice (corpus.json, MultiHopRAG.json)")
    args = parser.parse_args(argv)
    os.environ.update(ENV)
    if getattr(args, "data", None):
        DATA.update(corpus=args.data / "corpus.json", questions=args.data / "MultiHopRAG.json")
    if args.command == "state":
        return cmd_state(args)
    if args.command == "kill":
        return emit([scenario_kill(args.rounds, args.articles, args.seed)])
    with contextlib.ExitStack() as stack:
        work = Path(args.work) if args.work else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soak-")))
        work.mkdir(parents=True, exist_ok=True)
        if args.command == "load":
            return emit([scenario_load(work, args.clients, args.seconds)])
        if args.command == "chroma":
            return emit([scenario_chroma(work, args.clients, args.down)])
        if args.command == "big":
            return emit([scenario_big(work, args.mb)])
        if args.short:
            return emit([scenario_kill(3, 6, 8), scenario_load(work, 8, 10), scenario_chroma(work, 4, 4)])
        return emit([scenario_kill(20, 12, 8), scenario_load(work, 32, 60), scenario_chroma(work, 8, 8)])


def emit(results: list[dict]) -> int:
    for result in results:
        print(json.dumps(result), flush=True)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
