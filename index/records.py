"""A folder of JSON records, one file per record, changed under one file lock shared by every
process using the folder; each file replaced whole (written beside, synced, renamed), so a reader
never sees half a record. The feeds (``index.feeds``) and the watched questions (``rag.watches``)
are kept this way."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from index.errors import NotFoundError


def write_whole(path: Path, data: object) -> None:
    """``data`` as JSON in ``path``, replaced whole: written beside it, synced, renamed over it."""
    partial = path.with_name(path.name + ".part")
    with open(partial, "w") as handle:
        json.dump(data, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


class Records:
    """The records of ``root``, with ids of ``prefix`` and 12 hex digits; ``what`` and ``listed``
    name them in errors ("No feed 'x': `newsrag feeds list` shows the ids."), ``order`` is the
    field ``all`` sorts by (then the id)."""

    def __init__(self, root: Path, *, prefix: str, what: str, listed: str, order: str):
        self.root, self.prefix, self.what, self.listed, self.order = Path(root), prefix, what, listed, order

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def path(self, rid: str) -> Path:
        if not re.fullmatch(rf"{self.prefix}[0-9a-f]{{12}}", rid or ""):
            raise NotFoundError(f"No {self.what} {str(rid)[:40]!r}: {self.listed} shows the ids.")
        return self.root / f"{rid}.json"

    def get(self, rid: str) -> dict:
        try:
            return json.loads(self.path(rid).read_text())
        except (OSError, ValueError):
            raise NotFoundError(f"No {self.what} {rid!r}: {self.listed} shows the ids.") from None

    def all(self) -> list[dict]:
        found = []
        for path in sorted(self.root.glob(f"{self.prefix}*.json")) if self.root.is_dir() else ():
            with contextlib.suppress(OSError, ValueError):
                found.append(json.loads(path.read_text()))
        return sorted(found, key=lambda r: (r[self.order], r["id"]))

    def write(self, record: dict) -> None:
        """Replace the record's file whole (under ``locked``)."""
        write_whole(self.path(record["id"]), record)

    def update(self, rid: str, change: Callable[[dict], None]) -> dict:
        """Read, change and write one record under the lock."""
        with self.locked():
            record = self.get(rid)
            change(record)
            self.write(record)
            return record

    def remove(self, rid: str) -> dict:
        with self.locked():
            record = self.get(rid)
            self.path(rid).unlink(missing_ok=True)
            return record
