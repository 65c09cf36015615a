"""``python -m eval.soak big``: a huge unpunctuated upload while a client keeps asking (and, with
``--sigterm``, one stopped by SIGTERM mid-job and resumed by a restart)."""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import time
from pathlib import Path

from eval.metrics import percentile
from eval.processes import stop
from eval.soak.common import (
    DATA,
    ROOT,
    newsrag_server,
)


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


def children_mb(pid: int) -> int:
    """The resident memory of a process's children (the encoder processes of a server), in MB (Linux)."""
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            kids += (task / "children").read_text().split()
    total = 0
    for kid in kids:
        with contextlib.suppress(OSError, ValueError):
            total += resident_mb(int(kid))
    return total


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
        rss, kids = [resident_mb(process.pid)], [children_mb(process.pid)]
        started = time.monotonic()
        job = http.post("/api/articles", files={"files": ("endless.txt", endless_text(mb, 1).encode())})
        accepted_ms = (time.monotonic() - started) * 1000
        job_id, during, health, status, small = job.json()["id"], [], [], "queued", None
        timeline: list[dict] = []  # each round of the loop, kept in big-timeline.json (where a stall fell)
        while status in ("queued", "running") and time.monotonic() - started < 7200:
            during.append(ask())
            t = time.monotonic()
            assert http.get("/healthz").status_code == 200
            health.append((time.monotonic() - t) * 1000)
            rss.append(resident_mb(process.pid))
            kids.append(children_mb(process.pid))
            state = http.get(f"/api/jobs/{job_id}").json()
            status = state["status"]
            timeline.append({"s": round(t - started, 2), "ask_ms": round(during[-1]), "healthz_ms": round(health[-1]),
                             "progress": state["progress"]})
            if small is None and (state["progress"] or {}).get("sentences_done"):
                # a normal article uploaded while the big one is being read: not starved by it
                t = time.monotonic()
                small_job = http.post("/api/articles", files={"files": ("harbour.md", SMALL_ARTICLE.encode())}).json()
                small = follow(http, small_job["id"], timeout=600)
                small["seconds"] = round(time.monotonic() - t, 1)
                small["big_status_then"] = http.get(f"/api/jobs/{job_id}").json()["status"]
            time.sleep(1)
        took = time.monotonic() - started
        (work / "big-timeline.json").write_text(json.dumps(timeline, indent=0))
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
                      encoder_rss_mb={"max_during": max(kids),
                                      "with_server_max": max(r + k for r, k in zip(rss, kids, strict=True))},
                      small_upload=None if small is None else {
                          "status": small["status"], "seconds": small["seconds"],
                          "big_job_then": small["big_status_then"]})
        result["ok"] = (final["status"] == "done" and final["results"][0]["status"] == "ok"
                        and small is not None and small["status"] == "done")
        # the bars of the security review (issue 24), reported beside ``ok`` (they are times: a busy
        # machine misses them without a defect)
        result["bars"] = {"done_within_5_min": took <= 300, "asked_within_1_s": max(during, default=0) <= 1000,
                          "server_within_1_gb": max(rss) <= 1000, "healthz_within_100_ms": max(health, default=0) < 100}
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
