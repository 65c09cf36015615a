"""Encoding in a child process (``index.encoder_process``): what it stores is what an ingest in
this process stores, it runs niced, a stop request or a closed server ends it, a dead child is
started again, and a child's error is one line here."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from conftest import SEEDS, make_library

from index.encoder_process import IDLE_EXIT, NICE, EncoderProcesses, Ended, serve
from index.errors import ConfigError


def stored(library) -> list[tuple]:
    """Every chunk as the store holds it: id, metadata (sentence vectors and facts included), text
    and vector."""
    got = library.store.chunks.get(include=["metadatas", "documents", "embeddings"])
    return sorted(zip(got["ids"], [sorted(m.items()) for m in got["metadatas"]], got["documents"],
                      [e.tolist() for e in got["embeddings"]], strict=True))


@pytest.fixture
def encoders():
    pool = EncoderProcesses()
    yield pool
    pool.close()


def test_an_ingest_encoded_in_a_child_stores_exactly_what_one_in_this_process_stores(tmp_path, embedder, encoders):
    here, apart = make_library(tmp_path / "here", embedder), make_library(tmp_path / "apart", embedder)
    apart.encoders = encoders
    heard: dict[str, list] = {"here": [], "apart": []}
    assert here.ingest([SEEDS], progress=lambda p: heard["here"].append(p.counts())).added == 2
    assert apart.ingest([SEEDS], progress=lambda p: heard["apart"].append(p.counts())).added == 2
    (child,) = encoders.running
    assert child != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, child) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICE)
    assert stored(apart) == stored(here) and len(stored(here)) == 8
    assert heard["apart"] == heard["here"]
    assert heard["apart"][-1] == {"articles_done": 2, "articles_total": 2, "chunks_done": 8, "chunks_total": 8,
                                  "sentences_done": 39, "sentences_total": 39}
    assert [(a.id, a.version, a.names) for a in apart.articles()] == [(a.id, a.version, a.names)
                                                                      for a in here.articles()]


def test_without_encoders_or_with_an_embedder_no_child_can_build_the_ingest_stays_here(tmp_path, embedder,
                                                                                       encoders):
    class Counting(type(embedder)):  # a subclass: a child would build the plain class instead
        pass

    library = make_library(tmp_path / "home", embedder)
    assert library.ingest([SEEDS]).added == 2 and encoders.running == []
    own = Counting(model=embedder.name, precision=embedder.precision, cache_dir=embedder.cache_dir)
    assert own.recipe() is None and embedder.recipe()["backend"] == embedder.backend
    other = make_library(tmp_path / "other", own)
    other.encoders = encoders
    assert other.ingest([SEEDS]).added == 2 and encoders.running == []


def test_a_stop_request_ends_the_child_and_the_next_ingest_starts_another(tmp_path, embedder, encoders):
    library = make_library(tmp_path / "home", embedder, embed_batch_size=2)  # many reports
    library.encoders = encoders

    class Stop(Exception):
        pass

    def stop(progress):
        if progress.sentences_done:  # a report of the child's
            raise Stop

    with pytest.raises(Stop):
        library.ingest([SEEDS], progress=stop)
    assert encoders.running == [] and library.articles() == []
    assert library.ingest([SEEDS]).added == 2
    (first,) = encoders.running
    os.kill(first, signal.SIGKILL)  # a child that died between two ingests
    library.remove(library.articles()[0].id)
    assert library.ingest([SEEDS]).added == 1
    (second,) = encoders.running
    assert second != first


def test_closing_ends_an_encoding_in_progress_with_ended(tmp_path, embedder, encoders):
    library = make_library(tmp_path / "home", embedder, embed_batch_size=2)
    library.encoders = encoders
    started = threading.Event()
    raised: list[BaseException] = []

    def run():
        try:
            library.ingest([SEEDS], progress=lambda _p: started.set())
        except BaseException as exc:  # noqa: BLE001 (what the thread ended with is the assertion)
            raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(120)
    encoders.close()
    thread.join(60)
    assert [type(e) for e in raised] == [Ended] and encoders.running == []
    with pytest.raises(Ended):  # closed: no child starts again
        library.ingest([SEEDS])


def test_a_childs_error_is_raised_here_as_the_same_one_line_error(tmp_path, embedder, encoders, monkeypatch):
    library = make_library(tmp_path / "home", embedder)
    library.encoders = encoders
    recipe = {**embedder.recipe(), "backend": "no-such-backend"}
    monkeypatch.setattr(embedder, "recipe", lambda: recipe)  # what a child is told to build and cannot
    with pytest.raises(ConfigError) as caught:
        library.ingest([SEEDS])
    assert "no-such-backend" in str(caught.value) and "\n" not in str(caught.value)
    assert library.articles() == []


def test_the_child_loop_ends_idle_and_when_its_parent_is_gone(tmp_path):
    read, write = os.pipe()
    with open(read, "rb") as requests, open(tmp_path / "replies", "wb") as replies:
        assert serve(requests, replies, idle=0.2) == IDLE_EXIT
        os.close(write)
        assert serve(requests, replies, idle=5) == 0
    assert (tmp_path / "replies").read_bytes() == b""
