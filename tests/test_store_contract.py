"""The same assertions against the embedded Chroma and a real `chroma run` server."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest
from conftest import SEEDS, free_port, make_library

from index.errors import StoreUnavailableError
from index.language import Facts
from index.quantized import unpack
from rag.pipeline import Pipeline
from rag.settings import RagSettings


@pytest.fixture(params=["embedded", "server"])
def any_library(request, tmp_path, embedder):
    if request.param == "embedded":
        return make_library(tmp_path / "home", embedder)
    url = request.getfixturevalue("chroma_server")
    # a collection per test keeps server state apart (the server outlives the test)
    return make_library(tmp_path / "home", embedder, chroma_url=url,
                        collection=f"t{abs(hash(request.node.name)) % 10**8}")


@pytest.mark.server
def test_ingest_is_idempotent_and_answers_the_same_on_both_stores(any_library):
    first = any_library.ingest([SEEDS])
    assert (first.added, first.failed) == (2, 0)
    second = any_library.ingest([SEEDS])
    assert (second.unchanged, second.chunks_written) == (2, 0)
    counts = any_library.store.counts()
    assert counts == {"articles": 2, "chunks": first.chunks_written}
    pipeline = Pipeline(RagSettings(index=any_library.settings), library=any_library)
    answer = pipeline.ask("How many drones were shot down over the Ryazan region?")
    assert answer.status == "answered"
    assert answer.citations[0].quote.startswith("According to the statement, 25 of these drones were shot "
                                                "down over the Ryazan region")
    victim = any_library.articles()[0]
    any_library.remove(victim.id)
    assert any_library.store.counts()["articles"] == 1


@pytest.mark.server
def test_dense_results_are_identical_on_both_stores(tmp_path, embedder, chroma_server):
    embedded = make_library(tmp_path / "a", embedder)
    served = make_library(tmp_path / "b", embedder, chroma_url=chroma_server, collection="dense-parity")
    for lib in (embedded, served):
        lib.ingest([SEEDS])
    vectors = embedder.embed(["Which air defence systems were deployed?"])
    (ours,) = embedded.store.query(vectors, 5)
    (theirs,) = served.store.query(vectors, 5)
    assert [cid for cid, _ in ours] == [cid for cid, _ in theirs]
    assert [round(s, 4) for _, s in ours] == [round(s, 4) for _, s in theirs]


@pytest.mark.server
def test_each_chunk_row_holds_its_sentences_vectors_and_facts_and_they_go_with_it(any_library, embedder):
    any_library.ingest([SEEDS])
    store = any_library.store
    catalog = any_library.catalog(fresh=True)
    ids = catalog.chunk_ids(catalog.articles)
    chunks = store.get_chunks(ids)
    assert sorted(chunks) == sorted(ids)
    ryazan = next(c for c in chunks.values() if "over the Ryazan region" in c.text)
    body = store.get_article(ryazan.article_id).body
    texts = [body[s:e] for s, e in ryazan.sentences]
    rows, scales = unpack(ryazan.vectors)
    facts = [Facts.from_json(line) for line in ryazan.facts.split("\n")]
    assert len(rows) == len(facts) == len(texts) > 1
    # each sentence's own vector plus its vector read in the chunk, and the recognizer's names in it
    spans = [(ryazan.header_len + s - ryazan.start, ryazan.header_len + e - ryazan.start) for s, e in ryazan.sentences]
    assert [ryazan.text[a:b] for a, b in spans] == texts
    pooled = embedder.embed_spans(ryazan.text, [(t, [span]) for t, span in zip(texts, spans, strict=True)])[1:]
    expected = embedder.embed(texts) + pooled
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(rows.astype(np.float32) * scales[:, None], expected, atol=0.01)
    at = next(i for i, t in enumerate(texts) if t.startswith("According to the statement, 25 of these drones"))
    assert {(m.text, m.label) for m in facts[at].entities} >= {("Ryazan", "GPE"), ("Moscow", "GPE")}
    assert [f.value for f in facts[at].figures][:2] == [25.0, 400.0]
    any_library.remove(ryazan.article_id)  # its chunks go, and their sentences with them
    assert not store.get_chunks([c for c in ids if c.startswith(ryazan.version)])


@pytest.mark.server
def test_an_index_of_the_earlier_layout_is_upgraded_once_and_answers_the_same(any_library, tmp_path):
    any_library.ingest([SEEDS])
    question = "How many drones were shot down over the Ryazan region?"
    before = Pipeline(RagSettings(index=any_library.settings), library=any_library).ask(question)
    store = any_library.store
    catalog = any_library.catalog(fresh=True)
    ids = catalog.chunk_ids(catalog.articles)
    held = store.get_chunks(ids)
    # the earlier layout: a row per sentence with its vector and facts, chunk rows without them
    legacy = store.client.create_collection(f"{any_library.settings.collection}-sentences",
                                            embedding_function=None, metadata={"hnsw:space": "cosine"})
    rows = {}
    for chunk in held.values():
        vectors, scales = unpack(chunk.vectors)
        for (start, end), vector, scale, facts in zip(chunk.sentences, vectors, scales, chunk.facts.split("\n"),
                                                      strict=True):
            # one row per sentence (a sentence two chunks share had one vector then)
            rows.setdefault(f"{chunk.version}-s{start}", ((vector * scale).tolist(), {
                "article_id": chunk.article_id, "version": chunk.version, "start": start, "end": end, "facts": facts}))
    legacy.add(ids=list(rows), embeddings=[v for v, _ in rows.values()], metadatas=[m for _, m in rows.values()])
    page = store.chunks.get(ids=ids, include=["embeddings", "metadatas", "documents"])
    store.chunks.delete(ids=ids)
    bare = [replace(held[i], vectors="", facts="")._metadata() for i in page["ids"]]
    store.chunks.add(ids=page["ids"], embeddings=page["embeddings"], documents=page["documents"], metadatas=bare)
    assert not any(c.vectors for c in store.get_chunks(ids).values()) and store.outdated()
    shutil.rmtree(any_library.settings.lexical_path)  # what a lexical index of that layout held is gone too

    upgraded = make_library(any_library.settings.home, any_library.embedder, chroma_url=any_library.settings.chroma_url,
                            collection=any_library.settings.collection)
    report = upgraded.ingest([SEEDS])  # its first use of the store upgrades it, under the ingest lock
    assert (report.unchanged, report.chunks_written) == (2, 0)  # versions are kept: nothing re-indexed
    assert not upgraded.store.outdated() and upgraded.store.upgrade() == 0  # once
    names = {c.name for c in upgraded.store.client.list_collections()}
    assert f"{any_library.settings.collection}-sentences" not in names
    again = upgraded.store.get_chunks(ids)
    for cid, chunk in held.items():
        assert again[cid].facts == chunk.facts and again[cid].sentences == chunk.sentences
        vectors, scales = unpack(again[cid].vectors)  # the rows of the earlier layout, moved in
        expected = [rows[f"{chunk.version}-s{start}"][0] for start, _ in chunk.sentences]
        assert np.allclose(vectors.astype(np.float32) * scales[:, None], expected, atol=0.01)
    after = Pipeline(RagSettings(index=upgraded.settings), library=upgraded).ask(question)
    assert [c.quote for c in after.citations] == [c.quote for c in before.citations] and after.answer == before.answer


def test_an_unreachable_server_is_a_one_line_error_naming_the_fix(tmp_path, embedder):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnavailableError) as caught:
        make_library(tmp_path / "home", embedder, chroma_url=url).store.counts()
    message = str(caught.value)
    assert message.startswith(f"Chroma at {url} is unreachable while trying to open the store (")
    assert message.endswith("start the server or unset NEWSRAG_CHROMA_URL.")
    assert "\n" not in message and caught.value.http_status == 503


class ProtocolOnly:
    """A store seen only through ``VectorStore``: every other attribute asked for is recorded (and
    refused), so a test through it shows what ``Library``, the lexical index and the answerer need."""

    def __init__(self, inner):
        from index.store import VectorStore

        self._inner = inner
        self._members = {n for n in dir(VectorStore) if not n.startswith("_")} | set(VectorStore.__annotations__)
        self.outside: list[str] = []

    def __getattr__(self, name: str):
        if name not in self._members:
            self.outside.append(name)
            raise AttributeError(f"{name!r} is not part of VectorStore")
        return getattr(self._inner, name)


HARBOUR = """---
title: Harbour strike
outlet: Gozo Gazette
date: 2024-03-01
url: https://gozo.example/strike
---
Dockers at the Mgarr harbour struck for {days} days over night-shift pay, the union said.

Ferries ran on a reduced timetable while the strike lasted.
"""


@pytest.mark.server
def test_library_lexical_index_and_answerer_need_only_the_protocol(any_library, tmp_path):
    from rag.filters import make_filters

    seen = ProtocolOnly(any_library.store)
    any_library.__dict__["store"] = seen  # before the lexical index and the pipeline reach it
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "strike.md").write_text(HARBOUR.format(days=3))
    assert any_library.ingest([SEEDS, folder]).added == 3
    (folder / "strike.md").write_text(HARBOUR.format(days=4))  # the same url, a new version
    report = any_library.ingest([folder])
    assert (report.added, report.updated) == (0, 1)
    strike = next(r for r in any_library.articles() if r.source == "Gozo Gazette")
    assert len(any_library.versions(strike.id)["previous"]) == 1

    pipeline = Pipeline(RagSettings(index=any_library.settings), library=any_library)
    answer = pipeline.ask("How many days did the dockers strike?", filters=make_filters(sources="Gozo Gazette"))
    assert answer.status == "answered" and "struck for 4 days" in answer.citations[0].quote
    assert {c.location.article_id for c in answer.citations} == {strike.id}  # the filter reaches the store's queries
    any_library.remove(strike.id)
    assert any_library.store.counts()["articles"] == 2
    assert any_library.repair() == any_library.repair()  # nothing left to sweep the second time
    assert seen.outside == []


def test_the_chroma_store_implements_every_method_of_the_protocol_with_its_parameters():
    import inspect

    from index.store import Store, VectorStore

    methods = [n for n, v in vars(VectorStore).items() if callable(v) and not n.startswith("_")]
    assert len(methods) == 22
    for name in methods:
        ours = list(inspect.signature(getattr(Store, name)).parameters)
        assert ours == list(inspect.signature(getattr(VectorStore, name)).parameters), name


def _raised_while(handling: BaseException, raised: BaseException) -> BaseException:
    """``raised`` as chromadb raises it: inside the ``except`` that caught ``handling``."""
    try:
        try:
            raise handling
        except type(handling):
            raise raised  # noqa: B904 (chromadb's own pattern, which the chain must see through)
    except type(raised) as exc:
        return exc


def _table():
    import socket

    import httpx
    from chromadb.errors import NotFoundError as ChromaNotFound

    return [
        (httpx.ConnectError("[Errno 111] Connection refused"), True),
        (httpx.ReadTimeout("timed out"), True),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), True),
        (ConnectionRefusedError(111, "Connection refused"), True),
        (socket.gaierror(-2, "Name or service not known"), True),
        # chromadb's client turns a refused connection into a ValueError raised while handling it
        (_raised_while(httpx.ConnectError("refused"), ValueError("Could not connect to a Chroma server.")), True),
        # the words of a message decide nothing: only the types do
        (ValueError("Could not connect to tenant default_tenant. Are you sure it exists?"), False),
        (RuntimeError("timeout while the collection was unreachable"), False),
        (ChromaNotFound("Collection [newsrag-chunks] does not exist"), False),
    ]


def test_chroma_errors_are_told_apart_by_their_types_not_their_messages():
    from index.errors import StoreError, StoreUnavailableError
    from index.store import _chroma

    for exc, unreachable in _table():
        with pytest.raises(StoreError) as raised, _chroma("read chunks", "http://127.0.0.1:9"):
            raise exc
        assert isinstance(raised.value, StoreUnavailableError) is unreachable, exc
        assert raised.value.__cause__ is exc
        assert str(raised.value).startswith("Chroma at http://127.0.0.1:9 ")
