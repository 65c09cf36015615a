"""``python -m eval.soak replicas``: two ``newsrag serve`` replicas on one ``chroma run`` server,
writing one URL and one text through both at once."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from pathlib import Path

from eval.metrics import percentile
from eval.soak.common import (
    chroma_run,
    newsrag_server,
)


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
