"""Pathological uploads are bounded by work, not only by size (``index.ingest_plan.Budget``, windows in
``index.chunking``), and a long upload never starves the others (``ui.jobs``: a second worker for
small uploads; the library's lock held only while a slice of articles is committed)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from conftest import SEEDS, serve_in_thread
from helpers import assert_consistent, build, upload

import index.library as library_module
from index.chunking import Chunker
from index.library import Budget, Library
from index.settings import IndexSettings

ENDLESS = " ".join(f"harbour{i % 97} crane shift ministry" for i in range(2000))  # 63 kB, no sentence end
SENTENCES = " ".join(f"Kursk officials said crane {i} moved {100 + i} containers on the night shift."
                     for i in range(60))


class Counting:
    """The real encoder and recognizer, counting what each is asked to read (and, with ``pause``,
    taking that much longer over every turn of chunks: a slow machine)."""

    def __init__(self, embedder, pause: float = 0.0):
        self.real, self.pause = embedder, pause
        self.alone: list[str] = []
        self.chunks = 0
        self.recognized: list[str] = []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def embed(self, texts):
        self.alone += texts
        return self.real.embed(texts)

    def embed_pooled(self, texts, spans):
        self.chunks += len(texts)
        time.sleep(self.pause)  # outside the encoder's turns: another upload may take them meanwhile
        return self.real.embed_pooled(texts, spans)

    def annotate(self, texts):
        from index.language import annotate

        self.recognized += texts
        return annotate(texts)


def counting_library(home, embedder, **settings) -> tuple[Library, Counting]:
    counting = Counting(embedder)
    return Library(IndexSettings(home=home, **settings), embedder=counting, check_every=0.0,
                   annotator=counting.annotate), counting


def stored_facts(library: Library) -> list[dict]:
    """The facts stored for each sentence (or window) of the library, in the order of the text."""
    chunks = library.store.get_chunks([cid for cid, _, _ in library.store.chunk_versions()]).values()
    found = {tuple(span): json.loads(line) for c in chunks
             for span, line in zip(c.sentences, c.facts.split("\n"), strict=True)}
    return [found[span] for span in sorted(found)]


def test_text_with_no_sentence_end_is_cut_into_windows(embedder):
    chunker = Chunker(counter=embedder, overlap=1)
    windows = chunker.chunk(ENDLESS, "")
    assert len(windows) > 40 and all(c.windows == (True,) for c in windows)  # one window a chunk, no overlap
    assert [c.start for c in windows[1:]] == [c.end + 1 for c in windows[:-1]]  # the whole text, once
    prose = chunker.chunk(SENTENCES, "")
    assert all(not any(c.windows) for c in prose) and len(prose[0].sentences) > 1


@pytest.mark.slow
def test_windows_are_read_once_by_the_encoder_and_never_by_the_recognizer(tmp_path, embedder):
    (tmp_path / "endless.txt").write_text(ENDLESS)
    library, counting = counting_library(tmp_path / "home", embedder)
    report = library.ingest([tmp_path / "endless.txt"])
    assert report.ok and report.added == 1
    # one encoder run per chunk (each window's vector is the one it has in its chunk), no recognizer
    assert counting.alone == [] and counting.recognized == []
    assert counting.chunks == report.chunks_written > 40
    assert_consistent(library)  # every chunk holds a vector and facts for each of its windows
    facts = stored_facts(library)
    assert len(facts) == report.chunks_written and all(f["e"] == [] for f in facts)
    assert library.search_index()[1].search("harbour42 crane", k=3), "the windows are searchable"


def test_an_article_past_its_budget_costs_no_more_than_the_budget(tmp_path, embedder, monkeypatch):
    monkeypatch.setattr(library_module, "BUDGET", Budget(own_sentences=10, annotated_chars=600, chunks=100))
    (tmp_path / "long.txt").write_text(SENTENCES)
    library, counting = counting_library(tmp_path / "home", embedder)
    assert library.ingest([tmp_path / "long.txt"]).added == 1
    assert len(counting.alone) == 10  # sentences read on their own: the first 10
    assert counting.alone == [s + "." for s in SENTENCES.split(". ")[:10]]
    assert 600 <= sum(map(len, counting.recognized)) < 600 + 80  # until 600 characters were recognized
    facts = stored_facts(library)
    assert len(facts) == 60
    assert facts[0]["e"] and not facts[-1]["e"]  # "Kursk" is recognized in the first sentence only
    assert [f[1] for f in facts[-1]["f"]] == ["59 moved", "159 containers"]  # figures everywhere
    assert_consistent(library)


def test_an_article_of_more_chunks_than_the_budget_is_refused_in_one_line(tmp_path, embedder, monkeypatch):
    monkeypatch.setattr(library_module, "BUDGET", Budget(chunks=20))
    (tmp_path / "endless.txt").write_text(ENDLESS)
    library, counting = counting_library(tmp_path / "home", embedder)
    report = library.ingest([tmp_path / "endless.txt", SEEDS])
    assert report.added == 2 and counting.chunks == report.chunks_written < 20
    (failure,) = report.failures
    assert failure.startswith(f"{tmp_path / 'endless.txt'}: ") and failure.endswith(
        " passages, over the 20 one article may have; split it into articles")


@pytest.mark.slow
def test_a_long_upload_never_starves_a_small_one(tmp_path, embedder):
    counting = Counting(embedder, pause=1.0)  # the long job: 13 slices of 16 chunks, 1 s more each
    library = Library(IndexSettings(home=tmp_path / "home", embed_batch_size=4), embedder=counting, check_every=0.0)
    app, _, port = build(library)
    with serve_in_thread(app, port) as url, httpx.Client(base_url=url, timeout=120) as client:
        big = client.post("/api/articles", files={"files": ("endless.txt", (ENDLESS + " ") * 3)}).json()
        while not (client.get(f"/api/jobs/{big['id']}").json()["progress"] or {}).get("chunks_done"):
            time.sleep(0.1)  # the long job is embedding its chunks
        small = upload(client, {"files": ("seed.txt", next(SEEDS.glob("*.txt")).read_bytes())})
        assert small["report"]["added"] == 1
        assert client.get(f"/api/jobs/{big['id']}").json()["status"] == "running"  # done beside it, not after
        asked = client.post("/api/ask", json={"question": "How many drones were intercepted?"})
        assert asked.status_code == 200 and asked.json()["status"] == "answered"
        assert client.get("/healthz").json()["status"] == "ok"
        done = client.get(f"/api/jobs/{big['id']}", params={"wait": 60}).json()
        while done["status"] == "running":
            done = client.get(f"/api/jobs/{big['id']}", params={"wait": 60}).json()
        assert done["status"] == "done" and done["report"]["added"] == 1
    assert_consistent(library)
