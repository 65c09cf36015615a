"""Encoding an ingest in a child process, at a lower CPU priority, for a server that answers
questions while it ingests.

The encoder and spaCy's recognizer hold Python's interpreter lock for most of an ingest's work: in
the serving process, a 10 MB upload held a question for seconds at a time. Here they run in a
process of their own (``python -m index.encoder_process``, one per thread that encodes: the two
job workers), niced, so the operating system gives the questions' process the CPU first. The child
runs ``index.ingest_encode.encode`` itself, so what it stores is what an ingest in this process
stores; this process still plans and writes.

The child is started at its first use and kept while it has work; it ends after ``IDLE_SECONDS``
without any, and when ``close`` is called (the server stops). Requests and replies are pickles on
its stdin and stdout (both ends are this package); what libraries print in the child goes to stderr.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from index.errors import NewsragError
from index.ingest_plan import Budget, Cut, Tally
from index.settings import IndexSettings

log = logging.getLogger("newsrag.index")

NICE = 10  # added to the child's niceness: the serving process has the CPU first
IDLE_SECONDS = 120.0  # a child without work for this long ends (its models' memory is given back)
IDLE_EXIT = 75  # the child's exit status when it ended idle


class Ended(Exception):  # noqa: N818 (not an error: the server is stopping)
    """The child was ended by ``close`` while it encoded: the server is stopping."""


class EncoderProcesses:
    """One encoding child per calling thread, started on first use."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._children: list[_Child] = []
        self._lock = threading.Lock()
        self._closed = False

    def encode(self, cuts: list[Cut], progress: Callable | None, tally: Tally, *, recipe: dict,
               settings: IndexSettings, budget: Budget) -> None:
        """``index.ingest_encode.encode`` of ``cuts`` in this thread's child with the embedder
        ``make_embedder(**recipe)`` and spaCy's recognizer: the cuts and ``tally`` end as they would
        there, and ``progress`` hears the same reports (it may raise to stop the encoding: the child
        is then ended)."""
        child = getattr(self._local, "child", None)
        if child is None:
            with self._lock:
                if self._closed:
                    raise Ended
                child = self._local.child = _Child()
                self._children.append(child)
        child.encode(cuts, progress, tally, request={"recipe": recipe, "settings": settings, "budget": budget})

    @property
    def running(self) -> list[int]:
        """The process ids of the children alive now."""
        return [c.proc.pid for c in self._children if c.proc is not None and c.proc.poll() is None]

    def close(self) -> None:
        """End every child now (an encoding in progress raises ``Ended`` in its thread)."""
        with self._lock:
            self._closed = True
            children = list(self._children)
        for child in children:
            child.end(closing=True)


class _Child:
    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.closing = False
        self.exit_status: int | None = None  # of the last child that ended before it replied
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen:
        self.end()  # a child that ended (idle, killed): its pipes are closed
        with self._lock:
            if self.closing:
                raise Ended
            self.proc = subprocess.Popen([sys.executable, "-m", "index.encoder_process"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[1])
            return self.proc

    def end(self, *, closing: bool = False) -> None:
        with self._lock:
            self.closing = self.closing or closing
            proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()

    def encode(self, cuts: list[Cut], progress, tally: Tally, *, request: dict) -> None:
        request = {**request, "cuts": cuts, "tally": tally, "reports": progress is not None}
        for attempt in (1, 2):
            proc = self.proc if self.proc is not None and self.proc.poll() is None else self._start()
            try:
                pickle.dump(request, proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                proc.stdin.flush()
            except (OSError, ValueError):  # it had just ended idle, or was ended (and its pipes closed) by close
                if self.closing:
                    raise Ended from None
                self.end()
                if attempt == 2:
                    raise NewsragError("The encoder process could not be started; the server log says why.") from None
                continue
            try:
                if self._replies(proc, cuts, progress, tally):
                    return
            except BaseException:  # a stop request (raised by progress), a bad reply: the child goes
                self.end()
                raise
        raise NewsragError(f"The encoder process ended twice before it replied (exit status {self.exit_status}); "
                           "the server log says why.")

    def _replies(self, proc: subprocess.Popen, cuts: list[Cut], progress, tally: Tally) -> bool:
        """Read the child's reports until its result; False when it ended before it replied at all
        (idle just as the request came, or killed between two ingests): it is then asked again."""
        heard = False
        while True:
            try:
                kind, *value = pickle.load(proc.stdout)
            except (EOFError, OSError, ValueError, pickle.UnpicklingError):  # ValueError: closed by ``close``
                code = proc.wait()
                if self.closing:
                    raise Ended from None
                if not heard:  # it had ended (idle, or killed) before it read the request: asked again once
                    self.exit_status = code
                    return False
                raise NewsragError(f"The encoder process stopped (exit status {code}) while it encoded; "
                                   "the server log says why.") from None
            heard = True
            if kind == "progress":
                tally.articles_done, tally.chunks_done, tally.sentences_done = value
                if progress is not None:
                    progress(tally.progress())
            elif kind == "done":
                encoded, done = value
                for cut, (names, chunks, vectors) in zip(cuts, encoded, strict=True):
                    cut.names, cut.chunks, cut.vectors = names, chunks, vectors
                tally.articles_done, tally.chunks_done, tally.sentences_done = done
                return True
            else:  # ("error", class name, message): the child's NewsragError, raised here as it was
                name, message = value
                from index import errors

                cls = getattr(errors, name, NewsragError)
                raise (cls if isinstance(cls, type) and issubclass(cls, NewsragError) else NewsragError)(message)


def serve(requests, replies, *, idle: float = IDLE_SECONDS) -> int:
    """The child's loop: encode each request, reply with its reports and its result; the exit
    status once ``idle`` seconds pass without a request (``IDLE_EXIT``) or the parent is gone (0)."""
    from index.embedding import make_embedder
    from index.ingest_encode import encode
    from index.language import annotate

    embedders: dict[tuple, object] = {}

    def send(*message) -> None:
        pickle.dump(message, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()

    while True:
        ready, _, _ = select.select([requests], [], [], idle)
        if not ready:
            return IDLE_EXIT
        try:
            request = pickle.load(requests)
        except EOFError:
            return 0
        tally: Tally = request["tally"]
        cuts: list[Cut] = request["cuts"]

        def report(_progress, tally=tally) -> None:
            send("progress", tally.articles_done, tally.chunks_done, tally.sentences_done)

        try:
            recipe = request["recipe"]
            key = tuple(sorted((k, str(v)) for k, v in recipe.items()))
            embedder = embedders.get(key) or embedders.setdefault(key, make_embedder(**recipe))
            encode(cuts, report if request["reports"] else None, tally, embedder=embedder, annotate=annotate,
                   settings=request["settings"], budget=request["budget"])
        except NewsragError as exc:
            send("error", type(exc).__name__, str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 (one line for the parent, the traceback in the log)
            log.exception("encoding failed in the encoder process")
            send("error", "NewsragError", f"Encoding failed ({type(exc).__name__}: {exc}).")
            continue
        send("done", [(cut.names, cut.chunks, cut.vectors) for cut in cuts],
             (tally.articles_done, tally.chunks_done, tally.sentences_done))


def main() -> int:
    """``python -m index.encoder_process``: requests on stdin, replies on stdout (started by
    ``EncoderProcesses``)."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what a library prints goes to stderr, never into the replies
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s (encoder process): %(message)s")
    with contextlib.suppress(OSError):
        os.nice(NICE)
    try:
        return serve(sys.stdin.buffer, replies)
    except BrokenPipeError:  # the parent is gone
        return 0
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
