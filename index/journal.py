"""The write journal and repair: what keeps the index whole when a writer is killed mid-write.

Writes go in an order that leaves nothing readable half-done (chunks, then the article row that
commits them; deletes the other way round), and each writer keeps a journal file while it writes.
The writer after one that did not finish finds its journal and ``repair``s first, under the ingest
lock (``index.library.Library``)."""

from __future__ import annotations

import contextlib
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

from index.claims import claim, drop_key
from index.store import ArticleRecord, VectorStore


def stale_journal(name: str, prefix: str) -> bool:
    """Whether a journal file was left by a writer no longer at work: one of this process that is
    not active, of a process that no longer runs, or of a version that named no writer."""
    if name == prefix:
        return True
    pid, sep, number = name.removeprefix(prefix + "-").partition("-")
    if not (name.startswith(prefix + "-") and sep and pid.isdigit() and number.isdigit()):
        return False  # another collection's ("newsrag-eval" beside "newsrag")
    if int(pid) == os.getpid():
        return name not in _ACTIVE
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


_WRITERS = iter(range(1, 1 << 62))  # numbers the journals of this process's writers
_ACTIVE: set[str] = set()  # the journals of this process's writers at work


@contextlib.contextmanager
def open_journal(home: Path, collection: str, *, lock: Callable[[], contextlib.AbstractContextManager],
                 repair: Callable[[], dict[str, int]]) -> Iterator[dict[str, int] | None]:
    """A journal file per writer (``writing-<collection>-<pid>-<n>``) says its write is under
    way, from its first chunk to its last commit, and is removed only when it completes. A
    writer that finds the journal of one no longer at work (killed, interrupted, failed)
    repairs first, under the ingest lock, and yields what it fixed; the journal of one still
    at work (another upload job, a command-line ingest) is no damage: the lock is held only
    while a writer commits, and between its commits the index is whole. ``repair`` reads every
    row of the store, so a library of any size pays for it only after an interruption."""
    prefix = f"writing-{collection}"
    with lock():
        stale = [p for p in home.glob(prefix + "*") if stale_journal(p.name, prefix)]
        repaired = repair() if stale else None
        for path in stale:
            path.unlink(missing_ok=True)
        mine = home / f"{prefix}-{os.getpid()}-{next(_WRITERS)}"
        with open(mine, "w") as handle:
            handle.write(f"{os.getpid()} {time.time():.0f}\n")
            handle.flush()
            os.fsync(handle.fileno())
        _ACTIVE.add(mine.name)
    try:
        yield repaired
    finally:
        _ACTIVE.discard(mine.name)
    mine.unlink()  # only a write that completed: after a failure, the next writer repairs


def repair(store: VectorStore) -> dict[str, int]:
    """Remove what an interrupted ingest left behind; returns what was fixed."""
    records = {r.id: r for r in store.list_articles()}
    fixed = {"orphan_chunks": 0, "duplicate_keys": 0, "incomplete_articles": 0}
    owners: dict[str, list[ArticleRecord]] = defaultdict(list)
    for record in records.values():
        for key in record.keys:
            owners[key].append(record)
    for key, holders in owners.items():
        if len(holders) < 2:
            continue
        keep = max(holders, key=lambda r: claim(r, key))  # never by chance: the rule of ``claim``
        for holder in holders:
            if holder.id != keep.id and records[holder.id] is not None:
                records[holder.id] = drop_key(store, records[holder.id], key, superseded_by=keep.id)
                fixed["duplicate_keys"] += 1
    live = {i: r for i, r in records.items() if r is not None}
    stale, counts = [], defaultdict(int)
    for cid, aid, version in store.chunk_versions():
        record = live.get(aid)
        if record is None or record.version != version:
            stale.append(cid)
        else:
            counts[aid] += 1
    store.delete_chunks(stale)
    fixed["orphan_chunks"] = len(stale)
    for aid, record in live.items():
        if counts[aid] != record.n_chunks:
            store.delete_article(aid)
            fixed["incomplete_articles"] += 1
    return fixed
