"""Taking turns at an engine shared by ingestion and questions (the encoder, spaCy's pipeline).

A long ingest holds an engine one short turn at a time (``index.embedding.TURN_TEXTS`` texts,
``index.language.TURN_CHARS`` characters) and a question waits for the current turn only — if the
lock is fair. ``threading.Lock`` is not: the thread that releases it usually takes it again before
a waiting one wakes, so a question could wait for every turn of a 9 MB upload. ``FairLock`` hands
the lock to the longest waiter.
"""

from __future__ import annotations

import threading
from collections import deque


class FairLock:
    """A lock granted in the order it was asked for (first come, first served)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._held = False

    def acquire(self) -> None:
        with self._guard:
            if not self._held:
                self._held = True
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # the releasing thread hands the lock over: it stays held

    def release(self) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._held = False

    def __enter__(self) -> FairLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
