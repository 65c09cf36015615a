"""``python -m eval.soak load`` and ``chroma``: concurrent clients on ``newsrag serve``, and the
Chroma server stopped and restarted under them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from eval.metrics import percentile
from eval.processes import free_port, stop, wait_http
from eval.soak.common import (
    DATA,
    ROOT,
    ask_loop,
    dev_index,
    env,
    latency,
    newsrag_server,
    questions,
)


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
