"""An interrupted ingest (kill -9, Ctrl-C) leaves the index consistent; a re-run completes it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import MULTIHOP, REFERENCE_BACKEND, ROOT, make_library
from helpers import assert_consistent

from index.offline import OFFLINE_ENV

ARTICLES = 16


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "slice.json"
    path.write_text(json.dumps(json.loads((MULTIHOP / "corpus.json").read_text())[:ARTICLES]))
    return path


def start_ingest(corpus, home):
    # the encoder of the ``embedder`` fixture, which reads the index afterwards
    env = {**os.environ, **OFFLINE_ENV, "NEWSRAG_HOME": str(home), "NEWSRAG_EMBED_BATCH": "8",
           "NEWSRAG_EMBED_BACKEND": REFERENCE_BACKEND}
    # Ctrl-C as in a terminal, even when the tests run in the background (a shell starts background
    # commands with SIGINT ignored, and the child would inherit that)
    return subprocess.Popen([sys.executable, "-m", "ui.cli", "ingest", str(corpus)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_committed(process, at_least: int, timeout: float = 240) -> str:
    """Read the progress bar until ``at_least`` articles are committed; returns what was read."""
    seen, deadline = "", time.monotonic() + timeout
    fd = process.stderr.fileno()
    os.set_blocking(fd, False)
    while time.monotonic() < deadline:
        with contextlib.suppress(BlockingIOError):
            seen += os.read(fd, 65536).decode("utf-8", "replace")
        done = [int(x.split("/")[0]) for x in seen.replace("\r", "\n").split("articles ")[1:]
                if x.split("/")[0].isdigit()]
        if done and max(done) >= at_least:
            return seen
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"ingest never committed {at_least} articles:\n{seen[-2000:]}")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_interrupted_ingest_is_consistent_and_a_rerun_completes_it(corpus, tmp_path, embedder, how):
    home = tmp_path / "home"
    process = start_ingest(corpus, home)
    wait_for_committed(process, 3)
    process.send_signal(getattr(signal, how))
    os.set_blocking(process.stderr.fileno(), True)
    _, err = process.communicate(timeout=60)
    err = err.decode("utf-8", "replace")
    if how == "SIGKILL":
        assert process.returncode == -signal.SIGKILL
    else:
        assert process.returncode == 130, err[-2000:]
        assert "interrupted: the index is consistent; run the same command again to finish." in err

    lib = make_library(home, embedder)
    committed = lib.store.counts()["articles"]
    assert 3 <= committed < ARTICLES
    assert list(home.glob("writing-newsrag-*"))  # the journal of the interrupted write
    report = lib.ingest([corpus])  # the re-run: repair, then finish
    assert report.ok and report.repaired is not None and not list(home.glob("writing-newsrag*"))
    assert (report.added, report.unchanged) == (ARTICLES - committed, committed)
    assert lib.store.counts()["articles"] == ARTICLES
    assert_consistent(lib)
    assert lib.repair() == {"orphan_chunks": 0, "duplicate_keys": 0, "incomplete_articles": 0}
    third = lib.ingest([corpus])
    assert (third.unchanged, third.chunks_written, third.repaired) == (ARTICLES, 0, None)


class Failing:
    """The real embedder, failing on its ``fail_at``-th call (a write interrupted mid-way)."""

    def __init__(self, real, fail_at: int):
        self.real, self.fail_at, self.calls = real, fail_at, 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def _call(self):
        self.calls += 1
        if self.calls == self.fail_at:
            raise OSError("disk full")

    def embed(self, texts):
        self._call()
        return self.real.embed(texts)

    def embed_pooled(self, texts, spans):  # chunks, with their sentences pooled in them
        self._call()
        return self.real.embed_pooled(texts, spans)


def test_only_a_write_left_unfinished_makes_the_next_one_repair(tmp_path, embedder, monkeypatch):
    from index.library import Library

    articles = 4
    corpus = tmp_path / "four.json"
    corpus.write_text(json.dumps(json.loads((MULTIHOP / "corpus.json").read_text())[:articles]))
    home = tmp_path / "home"
    first = make_library(home, Failing(embedder, fail_at=3), embed_batch_size=2)
    with pytest.raises(OSError, match="disk full"):
        first.ingest([corpus])
    (journal,) = home.glob("writing-newsrag-*")  # this process's writer, which failed
    assert journal.name.startswith(f"writing-newsrag-{os.getpid()}-")
    committed = first.store.counts()["articles"]
    assert 0 < committed < articles

    repairs = []
    real_repair = Library.repair
    monkeypatch.setattr(Library, "repair", lambda self: repairs.append(1) or real_repair(self))
    lib = make_library(home, embedder)
    report = lib.ingest([corpus])
    assert repairs == [1] and report.repaired is not None and report.ok
    assert (report.added, report.unchanged) == (articles - committed, committed)
    assert not list(home.glob("writing-newsrag*"))
    assert_consistent(lib)
    again = lib.ingest([corpus])  # nothing interrupted: no full scan of the store
    assert (repairs, again.repaired, again.unchanged) == ([1], None, articles)
    lib.remove(lib.articles()[0].id)
    assert repairs == [1] and not list(home.glob("writing-newsrag*"))
