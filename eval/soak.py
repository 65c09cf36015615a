"""Faults and load against real processes (``make soak``; CI runs ``all --short``).

    python -m eval.soak kill [--rounds 20] [--articles 12]
        ``kill -9`` of ``newsrag ingest`` at random points of its write phase, each followed by a
        re-run; after every re-run: 0 orphan or missing chunks, 0 chunks without their sentences'
        vectors and facts, 0 keys owned twice, 0 incomplete articles;
        at the end the index (articles, versions, chunks, sentences, earlier versions) is identical to the
        one an uninterrupted run of the same ingests built. Every round updates a third of the
        articles (their URL stays, their text changes), so each round has work to interrupt.
    python -m eval.soak load [--clients 32] [--seconds 60] [--baseline 30]
        ``POST /api/ask`` of ``newsrag serve`` on the MultiHop-RAG dev slice: one client for
        ``--baseline`` s, then that many concurrent clients; errors, p50/p95 latency, throughput,
        and their ratios to the one client of the same run.
    python -m eval.soak chroma [--clients 8] [--down 8] [--articles 12] [--up 10] [--baseline 10]
        ``newsrag serve`` on a ``chroma run`` server (the articles uploaded over HTTP), the Chroma
        server stopped and restarted under load: the statuses while it is down (503 with the
        store's message, never a 500 or a hang), the seconds to recover without restarting
        newsrag, that an article uploaded while it is down is indexed once it is back, and that
        nothing was lost.
    python -m eval.soak big [--mb 9] [--sigterm]
        an unpunctuated file of that size uploaded over HTTP while one client keeps asking: the
        time from upload to done, question and ``/healthz`` latency during the job against before
        it, the server's resident memory, and a small upload made meanwhile (done while the big
        one still runs: not starved); with
        ``--sigterm`` a second such upload is stopped by SIGTERM mid-job and resumed by a restart.
    python -m eval.soak replicas [--rounds 10]
        two ``newsrag serve`` replicas on one ``chroma run`` server, each round one URL and one
        text written through both at the same moment over HTTP: rounds that converged (one live
        version with every origin, the same on both, chosen by the rule of
        ``index.library.claim``), the seconds until both list it, a deletion through one seen by
        the other, and upload files left (none).
    python -m eval.soak all [--short]
        kill, load, chroma and replicas (``--short``, for CI: 1 kill round of 6 articles; 6 articles on a
        Chroma server, one client for 5 s, 8 clients for 10 s, then Chroma down 4 s under them; no
        replicas, which tests/test_replicas.py races in CI).

Each prints one JSON object per scenario (stdout at the end; stderr as each ends) and exits
non-zero when a check fails. Figures taken on a shared, loaded machine are comparable within one
run only: the load and big scenarios measure their own baseline.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from eval.bench import DEFAULT_CORPUS
from eval.metrics import percentile
from eval.processes import free_port, stop, wait_http
from index.offline import OFFLINE_ENV

ROOT = Path(__file__).resolve().parent.parent
DATA = {"corpus": DEFAULT_CORPUS, "questions": DEFAULT_CORPUS.with_name("MultiHopRAG.json")}


def env(**extra: str) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_") or k == "NEWSRAG_MODEL_DIR"}
    return {**base, **OFFLINE_ENV, "PYTHONPATH": str(ROOT), **extra}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ui.cli", *args]


# ------------------------------------------------------------------------------------ kill -9


def snapshot(home: Path) -> dict:
    """The index's content (no timestamps) and its invariants, read in this process."""
    from index.library import Library
    from index.quantized import unpack
    from index.settings import IndexSettings
    from index.store import chunk_id

    library = Library(IndexSettings(home=home), check_every=0.0)
    store = library.store
    records = {r.id: r for r in store.list_articles()}
    chunks = store.chunk_versions()
    live = {(r.version, i) for r in records.values() for i in range(r.n_chunks)}
    present = {cid for cid, _, _ in chunks}
    owners = [k for r in records.values() for k in r.keys]
    # each chunk's sentences with their vectors and facts (what a question reads)
    held = {cid: (len(unpack(c.vectors)[0]), c.sentences, c.facts)
            for cid, c in store.get_chunks(sorted(present)).items()}
    bare = sum(1 for n, spans, facts in held.values() if not n == len(spans) == len(facts.split("\n")))
    return {
        "articles": sorted([r.id, r.version, r.keys, r.n_chunks] for r in records.values()),
        "chunks": sorted(present),
        "sentences": sorted([cid, n, facts] for cid, (n, _, facts) in held.items()),
        "versions": sorted([v.id, v.superseded_by] for v in store.list_versions()),
        "invariants": {
            "orphan_chunks": sum(1 for _, aid, version in chunks
                                 if aid not in records or records[aid].version != version),
            "missing_chunks": sum(1 for v, i in live if chunk_id(v, i) not in present),
            "chunks_without_sentences": bare,
            "duplicate_keys": len(owners) - len(set(owners)),
            "duplicate_chunks": len(chunks) - len(present),
        },
    }


REPAIRS = ("orphan_chunks", "duplicate_keys", "incomplete_articles")


def cmd_state(args) -> int:
    """(internal) for each ``--plan HOME FEED [PATH ...]``: repair what a killed run left in HOME,
    ingest each PATH in order (copied to FEED first, so every run reads the same file name), and
    print the snapshot; one JSON list, one entry per plan. One process, so one model load."""
    from index.library import Library
    from index.settings import IndexSettings

    out = []
    for home, feed, *paths in args.plan:
        library = Library(IndexSettings(home=Path(home)), check_every=0.0)
        repaired = None  # the ingest repairs when it finds the journal of an interrupted write
        for path in paths:
            shutil.copy(path, feed)
            report = library.ingest([Path(feed)])
            if report.failures:
                print(json.dumps({"failures": report.failures}))
                return 1
            repaired = repaired or report.repaired
        out.append({"journal_found": repaired is not None, "repaired": repaired or dict.fromkeys(REPAIRS, 0),
                    **snapshot(Path(home))})
    print(json.dumps(out))
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
    """Start ``newsrag ingest``, kill -9 once ``at_least`` articles are committed (+``extra`` s).
    Small embedding batches make the write commit article by article. Whether the kill landed
    mid-write is read from the journal the writer removes when it completes, not from timing: a
    process still alive may be past its write (refreshing the BM25 sidecar, exiting)."""
    process = subprocess.Popen(cli("ingest", str(feed), "--home", str(home)), cwd=ROOT,
                               env=env(NEWSRAG_EMBED_BATCH="2"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
    return {"killed_after": _committed(seen), "finished_first": finished,
            "mid_write": any(home.glob("writing-*"))}


def run_state(*plans: tuple[Path, Path, list[Path]]) -> list[dict]:
    """``cmd_state`` in a fresh process (the index is opened by no process of ours meanwhile)."""
    argv = [sys.executable, "-m", "eval.soak", "state"]
    for home, feed, ingest in plans:
        argv += ["--plan", str(home), str(feed), *map(str, ingest)]
    out = subprocess.run(argv, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"state failed: {out.stdout[-2000:]}{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def scenario_kill(work: Path, rounds: int, articles: int, seed: int) -> dict:
    """``rounds`` kills, each followed by a re-run; the final index is left in ``work/kill/home``."""
    rng = random.Random(seed)
    tmp = work / "kill"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "ref").mkdir(parents=True)
    paths = variants(rounds, articles, tmp)
    home, feed = tmp / "home", tmp / "feed.json"
    started = time.monotonic()
    # round 0 (the corpus, ingested whole), and the reference: every round ingested uninterrupted
    base, reference = run_state((home, feed, paths[:1]), (tmp / "ref" / "home", tmp / "ref" / "feed.json", paths))
    kills, failures = [], []
    for r in range(1, rounds + 1):
        shutil.copy(paths[r], feed)
        changed = sum(1 for j in range(articles) if (j + r) % 3 == 0 or (j + r - 1) % 3 == 0)
        # at most changed - 2 committed: the kill lands with at least one more article to write
        point = {"round": r, **kill_once(feed, home, rng.randrange(max(1, changed - 1)), rng.uniform(0, 0.4))}
        (after,) = run_state((home, feed, [paths[r]]))
        point["repaired"], point["journal_found"] = after["repaired"], after["journal_found"]
        kills.append(point)
        if any(after["invariants"].values()):
            failures.append(f"round {r}: {after['invariants']}")
        if point["mid_write"] and not point["journal_found"]:
            failures.append(f"round {r}: killed mid-write, but the re-run found no journal to repair from")
    seconds = time.monotonic() - started
    same = {k: after[k] == reference[k] for k in ("articles", "versions", "chunks", "sentences")}
    if not all(same.values()):
        failures.append(f"final state differs from the uninterrupted run: {same}")
    interrupted = [k for k in kills if k["mid_write"]]
    return {"scenario": "kill", "rounds": rounds, "articles": articles, "kills_mid_write": len(interrupted),
            "kills_after_write": sum(1 for k in kills if not k["finished_first"] and not k["mid_write"]),
            "kill_points_committed": [k["killed_after"] for k in kills],
            "left_by_kills": {key: sum(k["repaired"][key] for k in kills) for key in base["repaired"]},
            "rounds_leaving_damage": sum(1 for k in kills if any(k["repaired"].values())),
            "rounds_repaired_from_journal": sum(1 for k in kills if k["journal_found"]),
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


def latency(rows: list[tuple]) -> dict:
    """p50/p95/max of the successful requests among ``rows`` (``(t, status, kind, ms, message)``)."""
    ms = [r[3] for r in rows if r[1] == 200]
    return {"requests": len(rows), "errors": sum(1 for r in rows if r[1] != 200),
            "p50_ms": round(percentile(ms, 50)), "p95_ms": round(percentile(ms, 95)),
            "max_ms": round(max(ms, default=0))}


def scenario_load(work: Path, clients: int, seconds: float, baseline: float, home: Path | None = None) -> dict:
    """One client for ``baseline`` s, ``clients`` for ``seconds``, one client again: on one server,
    so the ratios compare within the run (the machine is shared, absolute figures drift). Each
    phase asks other questions (no answer is cached), and the one-client figures are taken both
    before and after the load (the sentence-embedding cache warms as the run goes on)."""
    import httpx

    home = home or dev_index(work)
    phases = (("one", 1, baseline / 2), ("many", clients, seconds), ("one", 1, baseline / 2))
    runs: dict[str, list[tuple]] = {"warm-up": [], "one": [], "many": []}
    lock = threading.Lock()
    phase = {"name": "warm-up"}

    def record(*row):
        with lock:
            runs[phase["name"]].append(row)

    with newsrag_server(home, work / "load.log") as (process, url):
        articles = httpx.get(f"{url}/healthz", timeout=30).json()["articles"]
        asked = questions()
        ask_loop(url, asked[-4:], 4, lambda: len(runs["warm-up"]) >= 8, record)
        start = 0
        for name, n, length in phases:
            phase["name"] = name
            before = len(runs[name])
            deadline = time.monotonic() + length
            ask_loop(url, asked[start:] + asked[:start], n, lambda d=deadline: time.monotonic() >= d, record)
            start = (start + len(runs[name]) - before) % len(asked)
        took = stop(process)
    one, many = latency(runs["one"]), latency(runs["many"])
    errors = [r for r in runs["one"] + runs["many"] if r[1] != 200]
    summary = {"scenario": "load", "index": home.name, "articles": articles, "clients": clients, "seconds": seconds,
               "requests": many["requests"], "errors": len(errors),
               "error_kinds": sorted({f"{r[1]} {r[2]}" for r in errors}),
               "p50_ms": many["p50_ms"], "p95_ms": many["p95_ms"], "max_ms": many["max_ms"],
               "per_second": round(many["requests"] / seconds, 2),
               "baseline_1_client": {**one, "seconds": baseline,
                                     "per_second": round(one["requests"] / baseline, 2) if baseline else 0},
               "p50_ratio_to_1_client": round(many["p50_ms"] / one["p50_ms"], 2) if one["p50_ms"] else None,
               "throughput_ratio_to_1_client": round(many["requests"] / seconds / (one["requests"] / baseline), 2)
               if one["requests"] else None,
               "sigterm_exit_s": round(took, 1)}
    summary["ok"] = not errors and many["requests"] > 0 and took < 10
    return summary


def scenario_chroma(work: Path, clients: int, down: float, articles: int = 12, *, up: float = 5,
                    baseline: float = 0) -> dict:
    """The articles are uploaded over HTTP to ``newsrag serve`` on a fresh ``chroma run`` server;
    ``clients`` ask for ``up`` s (after one client alone for ``baseline`` s), then the Chroma server
    is stopped for ``down`` s and restarted while they go on asking. An article uploaded while it
    is down must be indexed once it is back (then it is removed, and the index compared)."""
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
    corpus = json.dumps(json.loads(DATA['corpus'].read_text())[:articles]).encode()
    results: list[tuple] = []
    lock = threading.Lock()
    asked = questions()[:40]
    try:
        with newsrag_server(home, work / "chroma-newsrag.log", **url_env) as (process, url):
            job = httpx.post(f"{url}/api/articles", files={"files": ("corpus.json", corpus)}, timeout=60).json()
            job = httpx.get(f"{url}/api/jobs/{job['id']}", params={"wait": 60}, timeout=90).json()
            while job["status"] in ("queued", "running"):
                job = httpx.get(f"{url}/api/jobs/{job['id']}", params={"wait": 60}, timeout=90).json()
            if job["status"] != "done" or job["report"]["added"] != articles:
                raise RuntimeError(f"the upload to the Chroma server failed: {job}")
            health_before = httpx.get(f"{url}/healthz", timeout=30).json()
            reference = httpx.post(f"{url}/api/ask", json={"question": asked[0]}, timeout=120).json()
            phase = {"name": "up"}
            marks: dict[str, float] = {}

            def record(t, status, kind, ms, message):
                with lock:
                    results.append((phase["name"], t, status, kind, ms, message))

            def until():
                return phase["name"] == "done"

            if baseline:  # one client first: the figure the up phase's latency is compared with
                phase["name"] = "one"
                deadline = time.monotonic() + baseline
                ask_loop(url, asked, 1, lambda: time.monotonic() >= deadline, record, 60)
                phase["name"] = "up"
            loader = threading.Thread(target=ask_loop, args=(url, asked, clients, until, record, 60), daemon=True)
            loader.start()
            time.sleep(up)
            phase["name"] = "down"
            marks["stopped"] = time.monotonic()
            stop(server)
            extra = sorted((ROOT / "data/articles").glob("*.txt"))[0]  # an article not in the index
            during = httpx.post(f"{url}/api/articles", files={"files": (extra.name, extra.read_bytes())},
                                timeout=60)
            outage = {"accepted": during.status_code}
            time.sleep(down)
            outage["while_down"] = {k: httpx.get(f"{url}/api/jobs/{during.json()['id']}", timeout=30).json()[k]
                                    for k in ("status", "error")}
            phase["name"] = "restarting"
            server = start_chroma()
            marks["restarted"], restarted_at = time.monotonic(), time.time()
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
            job = httpx.get(f"{url}/api/jobs/{during.json()['id']}", params={"wait": 60}, timeout=90).json()
            while job["status"] in ("queued", "running") and time.monotonic() - marks["restarted"] < 180:
                job = httpx.get(f"{url}/api/jobs/{job['id']}", params={"wait": 60}, timeout=90).json()
            outage.update(status=job["status"], done_s_after_restart=round((job["finished_at"] or 0) - restarted_at, 1),
                          added=[a["status"] for r in job["results"] or () for a in r["articles"]])
            health_with = httpx.get(f"{url}/healthz", timeout=30).json()
            for r in job["results"] or ():  # removed again: the index must be as it was
                for a in r["articles"]:
                    httpx.delete(f"{url}/api/articles/{a['id']}", timeout=60)
            outage["articles_with_it"] = health_with["articles"]
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
    refused_ms = [r[4] for r in results if r[2] == 503]
    bad = [r for r in results if r[2] not in (200, 503)]
    same_answer = {k: v for k, v in again.items() if k != "timings_ms"} == \
        {k: v for k, v in reference.items() if k != "timings_ms"}
    recovered = marks.get("recovered")
    summary = {"scenario": "chroma", "clients": clients, "articles": articles, "down_s": down,
               "statuses_by_phase": by_phase,
               "messages_503": messages[:3], "other_statuses": len(bad),
               "ms_to_503": {"p50": round(percentile(refused_ms, 50)), "max": round(max(refused_ms, default=0))},
               "up_ms": latency([(t, st, k, ms, m) for name, t, st, k, ms, m in results if name == "up"]),
               "one_client_ms": latency([(t, st, k, ms, m) for name, t, st, k, ms, m in results if name == "one"]),
               "recovery_s_after_restart": None if recovered is None else round(recovered - marks["restarted"], 1),
               "health_before": health_before, "health_after": health_after, "same_answer_after": same_answer,
               "upload_during_outage": outage}
    summary["ok"] = (not bad and recovered is not None and health_before == health_after and same_answer
                     and not summary["up_ms"]["errors"] and not summary["one_client_ms"]["errors"]
                     and outage["status"] == "done" and outage["added"] == ["added"]
                     and any(k.startswith("503") for k in by_phase.get("down", {})))
    return summary


def endless_text(mb: float, seed: int) -> str:
    """``mb`` MB of words without a full stop (the words of the corpus, shuffled by ``seed``)."""
    rng = random.Random(seed)
    words = " ".join(a["body"] for a in json.loads(DATA['corpus'].read_text())[:20]).replace(".", " ").split()
    out, size = [], 0
    while size < mb * 1_000_000:
        rng.shuffle(words)
        out.append(" ".join(words))
        size += len(out[-1]) + 1
    return " ".join(out)[:int(mb * 1_000_000)]


SMALL_ARTICLE = """---
title: Valletta harbour sets a container record
outlet: Malta Maritime Review
date: 2024-02-03
---
The Port of Valletta handled 3.2 million containers in 2023, a record for the harbour.
"""


def resident_mb(pid: int) -> int:
    """The resident memory of a process, in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def follow(http, job_id: str, until: tuple[str, ...] = ("done", "failed"), timeout: float = 7200) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = http.get(f"/api/jobs/{job_id}", params={"wait": 30}).json()
        if job["status"] in until or time.monotonic() > deadline:
            return job


def scenario_big(work: Path, mb: float, sigterm: bool) -> dict:
    """An unpunctuated ``mb`` MB ``.txt`` uploaded over HTTP while one client keeps asking (one
    question every 2 s); the same client's latency before the upload is the baseline. With
    ``sigterm``: a second such file, the server stopped mid-job and started again."""
    import httpx

    home = work / "big-home"
    shutil.rmtree(home, ignore_errors=True)
    question = {"question": "How many drones were intercepted?"}
    serve_env = {"NEWSRAG_MAX_FILE_MB": str(max(10, mb + 1))}
    result: dict = {"scenario": "big", "mb": mb}
    with newsrag_server(home, work / "big.log", **serve_env) as (process, url), \
            httpx.Client(base_url=url, timeout=300) as http:
        seeds = [("files", (p.name, p.read_bytes())) for p in sorted((ROOT / "data/articles").glob("*.txt"))]
        follow(http, http.post("/api/articles", files=seeds).json()["id"])

        def ask() -> float:
            t = time.monotonic()
            answer = http.post("/api/ask", json=question)
            if answer.status_code != 200:
                raise RuntimeError(f"/api/ask answered {answer.status_code}: {answer.text[:300]}")
            return (time.monotonic() - t) * 1000

        before = []
        for _ in range(10):
            before.append(ask())
            time.sleep(2)
        rss = [resident_mb(process.pid)]
        started = time.monotonic()
        job = http.post("/api/articles", files={"files": ("endless.txt", endless_text(mb, 1).encode())})
        accepted_ms = (time.monotonic() - started) * 1000
        job_id, during, health, status, small = job.json()["id"], [], [], "queued", None
        while status in ("queued", "running") and time.monotonic() - started < 7200:
            during.append(ask())
            t = time.monotonic()
            assert http.get("/healthz").status_code == 200
            health.append((time.monotonic() - t) * 1000)
            rss.append(resident_mb(process.pid))
            state = http.get(f"/api/jobs/{job_id}").json()
            status = state["status"]
            if small is None and (state["progress"] or {}).get("sentences_done"):
                # a normal article uploaded while the big one is being read: not starved by it
                t = time.monotonic()
                small_job = http.post("/api/articles", files={"files": ("harbour.md", SMALL_ARTICLE.encode())}).json()
                small = follow(http, small_job["id"], timeout=600)
                small["seconds"] = round(time.monotonic() - t, 1)
                small["big_status_then"] = http.get(f"/api/jobs/{job_id}").json()["status"]
            time.sleep(1)
        took = time.monotonic() - started
        final = http.get(f"/api/jobs/{job_id}").json()
        p50_before, p50_during = percentile(before, 50), percentile(during, 50)
        result.update(accepted_ms=round(accepted_ms), job_status=final["status"], upload_to_done_s=round(took, 1),
                      chunks=(final["progress"] or {}).get("chunks_total"),
                      failures=(final["results"] or [{}])[0].get("failures"),
                      ask_before={"n": len(before), "p50_ms": round(p50_before),
                                  "max_ms": round(max(before))},
                      ask_during={"n": len(during), "p50_ms": round(p50_during),
                                  "p95_ms": round(percentile(during, 95)), "max_ms": round(max(during, default=0))},
                      ask_p50_ratio_during_to_before=round(p50_during / p50_before, 2),
                      healthz_during={"n": len(health), "p50_ms": round(percentile(health, 50)),
                                      "max_ms": round(max(health, default=0))},
                      server_rss_mb={"before": rss[0], "max_during": max(rss)},
                      small_upload=None if small is None else {
                          "status": small["status"], "seconds": small["seconds"],
                          "big_job_then": small["big_status_then"]})
        result["ok"] = (final["status"] == "done" and final["results"][0]["status"] == "ok"
                        and small is not None and small["status"] == "done")
        if sigterm:
            second = http.post("/api/articles", files={"files": ("endless-2.txt", endless_text(mb, 2).encode())})
            second_id = second.json()["id"]
            while True:  # stop it once it is embedding (chunking the whole file is done by then)
                state = http.get(f"/api/jobs/{second_id}").json()
                done = state["progress"] or {}
                if state["status"] not in ("queued", "running") or done.get("chunks_done") or done.get("sentences_done"):
                    break
                time.sleep(0.5)
            stopped_at = {k: done.get(k) for k in ("chunks_done", "sentences_done")}
            exit_s = stop(process)
    if not sigterm:
        return result
    with newsrag_server(home, work / "big.log", **serve_env) as (process, url), \
            httpx.Client(base_url=url, timeout=300) as http:
        restarted = time.monotonic()
        resumed = follow(http, second_id)
        result["sigterm"] = {"stopped_at_chunks": stopped_at, "exit_s": round(exit_s, 1),
                             "resumed": resumed["resumed"], "status": resumed["status"],
                             "chunks": (resumed["progress"] or {}).get("chunks_total"),
                             "done_s_after_restart": round(time.monotonic() - restarted, 1),
                             "healthz": http.get("/healthz").json()}
        result["ok"] = result["ok"] and exit_s < 10 and resumed["status"] == "done" and resumed["resumed"] == 1
    return result


# ------------------------------------------------------------------------------------ main


# ------------------------------------------------------------------------------- two replicas


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


def scenario_replicas(work: Path, rounds: int) -> dict:
    """Two ``newsrag serve`` replicas (data directories of their own) on one ``chroma run`` server.
    Each round uploads over HTTP, released at the same moment: one URL, a text through each
    replica (the one through A dated a day later on odd rounds: it must win however the race
    goes), and one text under two names, one through each. A round converges when both replicas
    list one article for the URL, the same one, chosen by the rule (the newer date; on the same
    date the later claim, whose text is the other's earlier version), and one article for the text
    with both names. Then a deletion through B must leave A's list, and no upload file may be left
    under either home. Timed: from both jobs done to both lists agreeing."""
    import httpx

    def upload(url: str, name: str, body: bytes) -> dict:
        job = httpx.post(f"{url}/api/articles", files={"files": (name, body)}, timeout=60).json()
        while job["status"] in ("queued", "running"):
            job = httpx.get(f"{url}/api/jobs/{job['id']}", params={"wait": 30}, timeout=60).json()
        return job

    def at_once(*calls: tuple) -> list:  # (function, *arguments), released together
        gate, out = threading.Barrier(len(calls)), [None] * len(calls)

        def run(i, call):
            gate.wait()
            out[i] = call[0](*call[1:])
        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        return out

    def listed(url: str) -> list[dict]:
        return httpx.get(f"{url}/api/articles", timeout=30).json()

    def converged(urls, test, timeout: float = 30) -> float | None:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            views = [test(listed(u)) for u in urls]
            if views[0] is not None and all(v == views[0] for v in views):
                return time.monotonic() - started
            time.sleep(0.1)
        return None

    story = ("---\ntitle: Ferry count {n}\noutlet: Gozo Gazette\ndate: {date}\nurl: {url}\n---\n"
             "The Gozo ferry carried {n} passengers on Sunday, the operator said.\n")
    rows, seconds = [], []
    with chroma_run(work) as chroma, contextlib.ExitStack() as stack:
        homes = [work / f"replica-{name}" for name in "ab"]
        for home in homes:
            shutil.rmtree(home, ignore_errors=True)
        a, b = (stack.enter_context(newsrag_server(h, work / f"replica-{h.name}.log", NEWSRAG_CHROMA_URL=chroma))[1]
                for h in homes)
        for r in range(rounds):
            url = f"https://gozo.example/ferry-{r}"
            dates = ("2024-03-02", "2024-03-01") if r % 2 else ("2024-03-01", "2024-03-01")
            jobs = at_once((upload, a, f"a{r}.md", story.format(n=100 + r, date=dates[0], url=url).encode()),
                           (upload, b, f"b{r}.md", story.format(n=200 + r, date=dates[1], url=url).encode()))
            ids = {a["id"] for j in jobs for f in j.get("results") or () for a in f["articles"]}
            waited = converged((a, b), lambda arts, url=url: sorted(x["id"] for x in arts if x.get("url") == url))
            live = [x for x in listed(a) if x.get("url") == url]
            winner = live[0]["title"] if len(live) == 1 else None
            want = "Ferry count " + str(100 + r) if r % 2 else None  # odd rounds: the newer date
            statuses = sorted(a["status"] for j in jobs for f in j.get("results") or () for a in f["articles"])
            url_ok = (waited is not None and len(live) == 1 and live[0]["id"] in ids and len(ids) == 2
                      and statuses in (["added", "updated"], ["added", "earlier"]) and (want is None or winner == want))
            text = f"In round {r} the Mgarr harbour counted {300 + r} ferries, the port authority said.\n".encode()
            at_once((upload, a, f"x{r}.txt", text), (upload, b, f"y{r}.txt", text))

            def names(arts, r=r):
                found = [sorted(o["origin"] for o in x["origins"]) for x in arts
                         if (x.get("lead") or "").startswith(f"In round {r} ")]
                return found if found == [[f"x{r}.txt", f"y{r}.txt"]] else None
            waited_text = converged((a, b), names)
            rows.append({"round": r, "url": url_ok, "winner": winner, "text": waited_text is not None})
            seconds += [w for w in (waited, waited_text) if w is not None]
        gone = listed(b)[0]["id"]
        httpx.delete(f"{b}/api/articles/{gone}", timeout=60)
        deletion = converged((a, b), lambda arts: [] if all(x["id"] != gone for x in arts) else None)
        left = [str(p) for h in homes for p in (h / "uploads").rglob("*") if p.is_file()]
    good = sum(row["url"] and row["text"] for row in rows)
    return {"scenario": "replicas", "rounds": rounds, "converged": good, "rows": rows,
            "seconds_to_agree": {"p50": round(percentile(seconds, 50), 2) if seconds else None,
                                 "max": round(max(seconds), 2) if seconds else None},
            "deletion_seen_s": None if deletion is None else round(deletion, 2), "upload_files_left": left,
            "ok": good == rounds and deletion is not None and not left}


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
    load.add_argument("--baseline", type=float, default=30, help="seconds of one client first")
    chroma = sub.add_parser("chroma")
    chroma.add_argument("--clients", type=int, default=8)
    chroma.add_argument("--down", type=float, default=8)
    chroma.add_argument("--articles", type=int, default=12)
    chroma.add_argument("--up", type=float, default=10, help="seconds of load before Chroma is stopped")
    chroma.add_argument("--baseline", type=float, default=10, help="seconds of one client first")
    big = sub.add_parser("big")
    big.add_argument("--mb", type=float, default=9)
    big.add_argument("--sigterm", action="store_true", help="then stop the server in a second such upload")
    replicas = sub.add_parser("replicas")
    replicas.add_argument("--rounds", type=int, default=10)
    everything = sub.add_parser("all")
    everything.add_argument("--short", action="store_true", help="the CI form: a couple of minutes")
    state = sub.add_parser("state")
    state.add_argument("--plan", nargs="+", action="append", required=True, metavar="HOME FEED [PATH]")
    for p in (kill, load, chroma, big, replicas, everything):
        p.add_argument("--work", help="folder for indexes and logs (default: a temporary one)")
        p.add_argument("--data", type=Path, default=DEFAULT_CORPUS.parent,
                       help="the MultiHop-RAG dev slice (corpus.json, MultiHopRAG.json)")
    args = parser.parse_args(argv)
    os.environ.update(OFFLINE_ENV)
    if args.command == "state":
        return cmd_state(args)
    DATA.update(corpus=args.data / "corpus.json", questions=args.data / "MultiHopRAG.json")
    with contextlib.ExitStack() as stack:
        work = Path(args.work) if args.work else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soak-")))
        work.mkdir(parents=True, exist_ok=True)
        if args.command == "kill":
            return emit([timed(scenario_kill, work, args.rounds, args.articles, args.seed)])
        if args.command == "load":
            return emit([timed(scenario_load, work, args.clients, args.seconds, args.baseline)])
        if args.command == "chroma":
            return emit([timed(scenario_chroma, work, args.clients, args.down, args.articles, up=args.up,
                               baseline=args.baseline)])
        if args.command == "big":
            return emit([timed(scenario_big, work, args.mb, args.sigterm)])
        if args.command == "replicas":
            return emit([timed(scenario_replicas, work, args.rounds)])
        if args.short:  # the load is the Chroma scenario's up phase: one server start fewer
            return emit([timed(scenario_kill, work, 1, 6, 8),
                         timed(scenario_chroma, work, 8, 4, 6, up=10, baseline=5)])
        return emit([timed(scenario_kill, work, 20, 12, 8), timed(scenario_load, work, 32, 60, 30),
                     timed(scenario_chroma, work, 8, 8, 12, up=10, baseline=10), timed(scenario_replicas, work, 10)])


def timed(scenario, *args, **kwargs) -> dict:
    started = time.monotonic()
    result = scenario(*args, **kwargs)
    result["wall_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(result), file=sys.stderr, flush=True)  # as it ends: a long run shows its progress
    return result


def emit(results: list[dict]) -> int:
    for result in results:
        print(json.dumps(result), flush=True)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
