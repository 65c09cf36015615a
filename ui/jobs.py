"""Uploads over HTTP run as background jobs: ``POST /api/articles`` answers 202 at once, one
worker thread ingests, ``GET /api/jobs/{id}`` shows progress and the result of every file.

A job is a JSON file under ``<home>/jobs/`` (written atomically on every change of state and at
most every ``save_every`` seconds of progress) naming the kept upload files it ingests (deleted
when it ends: the store holds the text), so a job survives the server: stopped (SIGTERM, Ctrl-C) or killed, the server finds it unfinished at its
next start and runs it again. Re-running is safe because ingestion is incremental and crash-safe:
what was committed is unchanged, what was not is written, nothing is stored twice.

A feed poll is a job too (``kind: "feed"``, ``submit_feed``): uploads and polls share the one
worker, so one writer ingests at a time, and a poll killed midway runs again at the next start
(it finds what it had written unchanged). After a job that changed the library, ``after_ingest``
is called (the watched questions are answered again).

Two workers: one takes every job in turn; the other only small uploads (``EXPRESS_BYTES`` in
all), so an article or two uploaded beside a huge file is indexed in seconds, not after it. They
can run at once because a writer holds the library's lock only while it commits a slice of
articles (``index.library``), never while the encoder runs. Each worker encodes in a child process
of its own, at a lower CPU priority (``index.encoder_process``): questions answered meanwhile do
not wait behind the encoder for the interpreter lock.

States: ``queued`` -> ``running`` -> ``done`` | ``failed`` (the store failed; the message says
why). A stop between two articles leaves the job ``running`` on disk, i.e. to be resumed. While
the store is unreachable (a Chroma server down) a job goes back to ``queued``, its ``error`` says
so, and it is tried again a little later: an upload made during an outage is not lost.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from index.encoder_process import EncoderProcesses, Ended
from index.errors import NewsragError, NotFoundError, StoreUnavailableError
from index.library import Library, Progress
from index.records import write_whole
from ui import uploads

log = logging.getLogger("newsrag.jobs")

KEEP_FINISHED = 200  # finished jobs kept on disk (the oldest are deleted)
UNFINISHED = ("queued", "running")
EXPRESS_BYTES = 1_000_000  # an upload this small in all is taken by the second worker too
RETRY_SECONDS = (2, 5, 10, 30, 60)  # between tries of a job while the store is unreachable; then 60
Listener = Callable[[str, object], None]


class Stopped(Exception):
    """Raised inside an ingest when the server stops; the job resumes at the next start."""


class Jobs:
    """The job files of one data directory and the worker that runs them, oldest first."""

    def __init__(self, library: Library, *, save_every: float = 0.5, poller=None,
                 after_ingest: Callable[[dict], None] | None = None):
        self.library = library
        self.poller = poller  # index.feeds.Poller: runs the feed jobs
        self.after_ingest = after_ingest
        self.root = library.settings.home / "jobs"
        self.save_every = save_every
        self._pending: list[str] = []  # queued job ids, oldest first
        self._small: set[str] = set()  # those the express worker may take
        self._wake = threading.Condition()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self._files = threading.Lock()
        self._listeners: dict[str, Listener] = {}
        self._encoders: EncoderProcesses | None = None  # those this queue gave its library (``start``)

    # ---------------------------------------------------------------------------- the API side

    def submit(self, files: Sequence[uploads.Upload], *, max_files: int, listener: Listener | None = None) -> dict:
        """Check and keep the files, then queue a job for them; returns the job (``queued``).

        ``listener(kind, value)``, if given, hears this run of the job from the worker thread:
        ``("progress", Progress)`` as it goes, then once ``("done", (IngestReport, results))`` or
        ``("failed", NewsragError)`` (also when the server stops: the job resumes at its next start).
        """
        uploads.check(files, max_files=max_files, max_bytes=self.library.settings.max_file_bytes)
        with self._files:  # kept and queued before any cleanup may look at the files
            kept = uploads.keep(self.library, files)
            job = self._new(kept)
            self._save(job)
        if listener is not None:
            self._listeners[job["id"]] = listener
        self._put(job)
        return public(job)

    def submit_feed(self, fid: str, *, scheduled: bool = False) -> dict:
        """Queue a poll of one feed, unless one is queued or running already (that one is returned)."""
        for job in self._all():
            if job.get("kind") == "feed" and job.get("feed") == fid and job["status"] in UNFINISHED:
                return public(job)
        with self._files:
            job = {**self._new([]), "kind": "feed", "feed": fid, "scheduled": scheduled}
            self._save(job)
        self._put(job)
        return public(job)

    def _new(self, kept: Sequence[uploads.Kept]) -> dict:
        home = self.library.settings.home
        return {"id": "j" + secrets.token_hex(8), "status": "queued", "created_at": time.time(),
               "started_at": None, "finished_at": None, "resumed": 0,
               "files": [{"name": k.name, "stored": str(k.path.relative_to(home)), "bytes": k.path.stat().st_size}
                         for k in kept],
               "progress": None, "results": None, "report": None, "error": None}

    def get(self, job_id: str, *, wait: float = 0.0) -> dict:
        """The job; with ``wait``, block up to that many seconds for it to finish."""
        deadline = time.monotonic() + wait
        with self._changed:
            while True:
                job = self._load(job_id)
                left = deadline - time.monotonic()
                if job["status"] not in UNFINISHED or left <= 0 or self._stop.is_set():
                    return public(job)
                self._changed.wait(min(left, 1.0))

    def discard(self, paths: Sequence[Path], *, done: str | None = None) -> None:
        """Delete kept uploads no article comes from, except those a job (other than ``done``)
        still has to ingest."""
        with self._files:
            uploads.discard_unreferenced(self.library, paths, busy=self.busy_files(but=done))

    def _drop_files(self, job: dict) -> None:
        with self._files:
            uploads.delete_kept(self.library, [k.path for k in self._kept(job)],
                                busy=self.busy_files(but=job["id"]))

    def busy_files(self, *, but: str | None = None) -> list[Path]:
        """Kept uploads that unfinished jobs (except ``but``) still have to ingest."""
        home = self.library.settings.home
        return [home / f["stored"] for job in self._all() if job["status"] in UNFINISHED and job["id"] != but
                for f in job["files"]]

    # ------------------------------------------------------------------------------ the worker

    def start(self) -> None:
        """Queue the jobs a previous run left unfinished, then start the worker."""
        unfinished = sorted((j for j in self._all() if j["status"] in UNFINISHED), key=lambda j: j["created_at"])
        for job in unfinished:
            if job["status"] == "running":
                job["resumed"] += 1
                job["status"] = "queued"
                self._save(job)
            self._put(job)
        if unfinished:
            log.warning("resuming %d unfinished upload job(s)", len(unfinished))
        try:  # files left by a crash between keeping an upload and ingesting it
            with self._files:
                uploads.sweep(self.library, busy=self.busy_files())
        except NewsragError as exc:
            log.warning("kept uploads not swept: %s", exc)
        if self.library.encoders is None:  # texts encoded beside the server, not in it
            self._encoders = self.library.encoders = EncoderProcesses()
        self._workers = [threading.Thread(target=self._work, kwargs={"express": express}, daemon=True,
                                          name=f"newsrag-jobs{'-express' if express else ''}")
                         for express in (False, True)]
        for worker in self._workers:
            worker.start()

    def stop(self, timeout: float) -> bool:
        """Ask the worker to stop between two articles; True when it did within ``timeout``."""
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        with self._changed:
            self._changed.notify_all()
        stopping = NewsragError("The server is stopping; the upload resumes when it starts again.")
        for job_id in list(self._listeners):
            self._tell(job_id, "failed", stopping, last=True)
        if self._encoders is not None:  # an encoding in progress ends now, to be resumed
            if self.library.encoders is self._encoders:  # a later ingest of this library encodes in-process
                self.library.encoders = None
            self._encoders.close()
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        return not any(worker.is_alive() for worker in self._workers)

    def _tell(self, job_id: str, kind: str, value: object, *, last: bool = False) -> None:
        listener = self._listeners.pop(job_id, None) if last else self._listeners.get(job_id)
        if listener is not None:
            try:
                listener(kind, value)
            except Exception:  # a listener's bug never stops the job
                log.exception("listener of upload job %s failed", job_id)

    def _put(self, job: dict) -> None:
        with self._wake:
            self._pending.append(job["id"])
            if job.get("kind", "upload") == "upload" and sum(f["bytes"] for f in job["files"]) <= EXPRESS_BYTES:
                self._small.add(job["id"])
            self._wake.notify_all()

    def _take(self, *, express: bool) -> str | None:
        """The oldest queued job this worker may take (the express one: small uploads only);
        None once the server stops."""
        with self._wake:
            while not self._stop.is_set():
                job_id = next((j for j in self._pending if not express or j in self._small), None)
                if job_id is not None:
                    self._pending.remove(job_id)
                    self._small.discard(job_id)
                    return job_id
                self._wake.wait()
            return None

    def _work(self, *, express: bool = False) -> None:
        while not self._stop.is_set():
            job_id = self._take(express=express)
            if job_id is None or self._stop.is_set():
                return
            try:
                job = self._load(job_id)
                self._run(job)
            except (Stopped, Ended):
                return
            except Exception as exc:  # a bug: the job says so, the worker goes on
                log.exception("upload job %s failed", job_id)
                error = f"Internal error ({type(exc).__name__}); the server log has the traceback."
                with contextlib.suppress(Exception):
                    job.update(status="failed", finished_at=time.time(), error=error)
                    self._save(job)
                self._tell(job_id, "failed", NewsragError(error), last=True)

    def kept(self, job_id: str) -> list[uploads.Kept]:
        """The files a job ingests: their names and where they are kept."""
        return self._kept(self._load(job_id))

    def _kept(self, job: dict) -> list[uploads.Kept]:
        home = self.library.settings.home
        return [uploads.Kept(f["name"], home / f["stored"]) for f in job["files"]]

    def _run(self, job: dict) -> None:
        if job["status"] not in UNFINISHED:
            return
        if job.get("kind") == "feed":
            self._run_feed(job)
            return
        kept = self._kept(job)
        job.update(status="running", started_at=job["started_at"] or time.time(), error=None)
        self._save(job)
        last = 0.0

        def tick(p: Progress) -> None:
            nonlocal last
            job["progress"] = p.counts()
            if time.monotonic() - last >= self.save_every:
                last = time.monotonic()
                self._save(job)
            self._tell(job["id"], "progress", p)
            if self._stop.is_set():
                raise Stopped

        try:
            report, results = uploads.ingest_kept(self.library, kept, progress=tick)
        except StoreUnavailableError as exc:  # nothing is lost: the job waits for the store
            self._retry_later(job, exc)
            return
        except NewsragError as exc:
            self._drop_files(job)
            job.update(status="failed", error=str(exc), finished_at=time.time())
            self._save(job)
            self._tell(job["id"], "failed", exc, last=True)
            return
        self._drop_files(job)  # the store has the text: no upload file outlives its job
        job.update(status="done", report=report.to_dict(), results=results, finished_at=time.time(),
                   progress=job["progress"] or Progress(0, 0, 0, 0).counts())
        self._save(job)
        self._tell(job["id"], "done", (report, results), last=True)
        self._prune()
        self._after(job)

    def _after(self, job: dict) -> None:
        report = job.get("report") or {}
        if self.after_ingest is None or not (report.get("added") or report.get("updated") or report.get("removed")):
            return
        try:
            self.after_ingest(job)
        except Exception:  # a watch failing to refresh never fails the job
            log.exception("after-ingest hook of job %s failed", job["id"])

    def _run_feed(self, job: dict) -> None:
        """Poll one feed (``index.feeds.Poller.poll``); its result is the job's."""
        job.update(status="running", started_at=job["started_at"] or time.time(), error=None)
        self._save(job)

        def tick(p: Progress) -> None:
            job["progress"] = p.counts()
            self._tell(job["id"], "progress", p)
            if self._stop.is_set():
                raise Stopped

        if self.poller is None:
            raise NewsragError("This server polls no feeds (no poller was given to the job queue).")
        try:
            result = self.poller.poll(job["feed"], scheduled=job.get("scheduled", False), progress=tick)
        except StoreUnavailableError as exc:
            self._retry_later(job, exc)
            return
        except NewsragError as exc:
            job.update(status="failed", error=str(exc), finished_at=time.time())
            self._save(job)
            self._tell(job["id"], "failed", exc, last=True)
            return
        from index.feeds import public_feed

        feed = public_feed(result.feed)
        job.update(status="done", finished_at=time.time(), report=result.report.to_dict() if result.report else None,
                   results=[{"feed": feed["id"], "name": feed["name"], "status": feed["status"],
                             "summary": result.summary(), "last": feed["last"], "skipped": result.skipped}],
                   progress=job["progress"] or Progress(0, 0, 0, 0).counts())
        self._save(job)
        self._tell(job["id"], "done", (result.report, job["results"]), last=True)
        self._prune()
        self._after(job)

    def _retry_later(self, job: dict, exc: StoreUnavailableError) -> None:
        """Queue the job again once the store had time to come back (sooner at first); the worker
        waits meanwhile, as any other job would fail the same way."""
        tries = job.get("tries", 0) + 1
        delay = RETRY_SECONDS[min(tries, len(RETRY_SECONDS)) - 1]
        job.update(status="queued", tries=tries, error=f"{exc} The upload is kept and tried again in {delay:g} s.")
        self._save(job)
        self._tell(job["id"], "failed", NewsragError(job["error"]), last=True)
        log.warning("upload job %s waits %g s for the store: %s", job["id"], delay, exc)
        if not self._stop.wait(delay):
            self._put(job)

    # ---------------------------------------------------------------------------------- files

    def _path(self, job_id: str) -> Path:
        if not (job_id.startswith("j") and len(job_id) == 17 and all(c in "0123456789abcdef" for c in job_id[1:])):
            raise NotFoundError(f"No upload job {job_id[:40]!r}: POST /api/articles answers with the job id.")
        return self.root / f"{job_id}.json"

    def _load(self, job_id: str) -> dict:
        path = self._path(job_id)
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            raise NotFoundError(f"No upload job {job_id!r}: it never existed or was cleaned up "
                                f"(the last {KEEP_FINISHED} finished jobs are kept).") from None

    def _save(self, job: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_whole(self._path(job["id"]), job)
        with self._changed:
            self._changed.notify_all()

    def _all(self) -> list[dict]:
        found = []
        for path in sorted(self.root.glob("j*.json")) if self.root.is_dir() else ():
            try:
                found.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                log.warning("unreadable job file %s skipped", path)
        return found

    def _prune(self) -> None:
        finished = sorted((j for j in self._all() if j["status"] not in UNFINISHED),
                          key=lambda j: j["finished_at"] or 0)
        for job in finished[:-KEEP_FINISHED]:
            self._path(job["id"]).unlink(missing_ok=True)


def public(job: dict) -> dict:
    """The job as the API shows it: no server paths."""
    return {"id": job["id"], "kind": job.get("kind", "upload"), **({"feed": job["feed"]} if job.get("feed") else {}),
            "status": job["status"], "created_at": job["created_at"],
            "started_at": job["started_at"], "finished_at": job["finished_at"], "resumed": job["resumed"],
            "files": [{"name": f["name"], "bytes": f["bytes"]} for f in job["files"]],
            "progress": job["progress"], "results": job["results"], "report": job["report"],
            "error": job["error"]}
