"""``python -m eval.soak kill``: ``kill -9`` of ``newsrag ingest`` mid-write, each followed by a re-run
that repairs (``state``, run in a fresh process), compared with an uninterrupted run."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from eval.soak.common import (
    DATA,
    ROOT,
    cli,
    env,
)


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
