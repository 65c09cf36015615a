"""Writing beside questions: a writer waits for the questions being answered before each batch
(never longer than ``READER_FIRST``), a question holds the library as a reader for its whole
answer, writes go in small batches to Chroma on disk, and a long article body is kept where Chroma
writes it fast (the row's metadata), read back whole, on both stores."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import SEED_64, SEEDS, make_library

from index import store as store_module
from index.library import READER_FIRST
from rag.pipeline import Pipeline
from rag.settings import RagSettings


def test_a_writer_waits_for_the_questions_being_answered_and_never_longer_than_reader_first(library):
    assert library.store.between_writes() is True  # no question: at once
    with library.reading():
        started = time.monotonic()
        assert library.store.between_writes() is False  # waited, then writes anyway
        assert READER_FIRST <= time.monotonic() - started < READER_FIRST + 2
    woke: list[float] = []
    held = threading.Event()
    done = threading.Event()

    def question():
        with library.reading():
            held.set()
            done.wait(10)

    thread = threading.Thread(target=question)
    thread.start()
    held.wait(10)
    writer = threading.Thread(target=lambda: woke.append(library.store.between_writes()))
    writer.start()
    time.sleep(0.05)
    assert woke == []  # waiting for the question
    done.set()
    writer.join(10)
    thread.join(10)
    assert woke == [True]


def test_an_ingest_beside_a_question_held_open_completes_and_waits_for_it_at_each_batch(tmp_path, embedder,
                                                                                     monkeypatch):
    library = make_library(tmp_path / "home", embedder)
    monkeypatch.setattr(store_module, "LOCAL_WRITE_BATCH", 2)  # the seeds' 8 chunks in 4 batches
    calls: list[bool] = []
    waits = library.store.between_writes
    library.store.between_writes = lambda: calls.append(waits()) or calls[-1]
    with library.reading():
        report = library.ingest([SEEDS])
    assert report.added == 2 and library.store.counts() == {"articles": 2, "chunks": 8}
    assert calls == [False] * 5  # the 4 batches of chunks, then the batch of the two article rows


def test_a_question_holds_the_library_as_a_reader_until_its_answer_is_read(seed_library):
    pipeline = Pipeline(RagSettings(index=seed_library.settings), library=seed_library)
    assert seed_library._readers == 0
    events = pipeline.stream("How many drones were shot down over the Ryazan region?")
    first = next(events)
    assert first.kind == "delta" and seed_library._readers == 1
    rest = list(events)
    assert rest[-1].kind == "answer" and seed_library._readers == 0
    abandoned = pipeline.stream("How many drones were shot down over the Ryazan region?")
    next(abandoned)
    abandoned.close()  # a client gone mid-answer
    assert seed_library._readers == 0


@pytest.mark.server
@pytest.mark.parametrize("where", ["embedded", "server"])
def test_a_long_body_is_kept_in_its_rows_metadata_and_read_back_whole(where, tmp_path, embedder, monkeypatch,
                                                                      request):
    options = {}
    if where == "server":
        options = {"chroma_url": request.getfixturevalue("chroma_server"), "collection": f"long-{time.time_ns()}"}
    library = make_library(tmp_path / "home", embedder, **options)
    body = (SEEDS / SEED_64).read_text(encoding="utf-8").strip()
    monkeypatch.setattr(store_module, "LONG_BODY", len(body) - 1)  # this seed is long, the other is not
    assert library.ingest([SEEDS]).added == 2
    rows = library.store.articles.get(include=["documents", "metadatas"])
    long_id = next(r.id for r in library.articles() if r.body is None and len(library.article(r.id).body) >= len(body))
    by_id = dict(zip(rows["ids"], zip(rows["documents"], rows["metadatas"], strict=True), strict=True))
    document, meta = by_id[long_id]
    assert document == "" and meta["body"] == library.article(long_id).body
    (short_id,) = set(by_id) - {long_id}
    assert by_id[short_id][0] == library.article(short_id).body and "body" not in by_id[short_id][1]
    assert all(r.body is None for r in library.store.list_articles())  # a listing reads no body
    assert library.article(long_id).body.startswith(body[:200])


def test_an_http_request_is_a_reader_until_its_response_is_sent_and_an_event_stream_only_until_it_starts(library):
    import httpx
    from conftest import free_port, serve_in_thread
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    from ui.api import RELEASE_READER, Readers

    async def plain(_request):
        return JSONResponse({"readers": library._readers})

    async def events(_request):
        async def body():
            yield "event: one\n\n"
            yield f"data: {library._readers}\n\n"
        return StreamingResponse(body(), media_type="text/event-stream")

    async def failing(_request):
        raise RuntimeError("a bug")

    async def waiting(request):  # as GET /api/jobs/{id}?wait= does before it waits
        request.scope[RELEASE_READER]()
        request.scope[RELEASE_READER]()  # once is enough: the second does nothing
        return JSONResponse({"readers": library._readers})

    app = Readers(Starlette(routes=[Route("/plain", plain), Route("/events", events), Route("/failing", failing),
                                     Route("/waiting", waiting)]),
                  library=library)
    with serve_in_thread(app, free_port()) as url, httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/plain").json() == {"readers": 1}
        assert http.get("/events").text == "event: one\n\ndata: 0\n\n"
        assert http.get("/waiting").json() == {"readers": 0}
        assert http.get("/failing").status_code == 500  # last: uvicorn may close the connection after it
        assert library._readers == 0


def test_a_version_hashed_a_piece_of_the_body_at_a_time_is_the_hash_of_the_whole_json(library):
    import hashlib
    import json
    import random
    from dataclasses import replace

    from index.articles import load_file
    from index.language import ANNOTATOR_VERSION
    from index.library import _HASHED_PIECE, _SENTENCES

    def whole(article) -> str:  # the version as it was made before: one dumps of everything
        payload = json.dumps([article.body, sorted(article.metadata().items()), library.chunker.signature,
                              library.embedder.name, _SENTENCES, ANNOTATOR_VERSION], ensure_ascii=False)
        return "v" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:15]

    (seed,) = load_file(SEEDS / SEED_64, max_bytes=10**7)
    rng = random.Random(7)  # JSON escapes quotes, backslashes and control characters, pieces cut anywhere
    odd = "".join(rng.choice('ab "\\\n\t\x00\x1f\u2028é€😀/') for _ in range(2 * _HASHED_PIECE + 3))
    for article in (seed, replace(seed, body=odd)):
        assert library._version(article) == whole(article)
        assert library._versions[id(article)] == (article, whole(article))  # asked again: not hashed again


def test_a_reader_that_sees_the_last_slices_rows_early_keeps_the_index_before_them(tmp_path, embedder):
    library = make_library(tmp_path / "home", embedder)
    first = tmp_path / "first"
    first.mkdir()
    (first / SEED_64).write_bytes((SEEDS / SEED_64).read_bytes())
    assert library.ingest([first]).added == 1
    before = library.lexical.snapshot.fingerprint
    seen: list[tuple] = []
    write = library.store.write_articles

    def write_then_read(items):
        write(items)  # the rows are committed; the writer has not indexed them yet
        def reader():
            catalog = library.catalog(fresh=True)  # as a periodic re-read would find them
            seen.append((len(catalog.articles), library.lexical.ensure(catalog, wait=False),
                         library.lexical.snapshot.fingerprint))
        thread = threading.Thread(target=reader)
        thread.start()
        thread.join(30)

    library.store.write_articles = write_then_read
    assert library.ingest([SEEDS]).added == 1
    assert seen == [(2, False, before)]  # not indexed by the reader: the state before, whole
    assert library.lexical.snapshot.fingerprint == library.catalog().fingerprint != before
