"""The same assertions against the embedded Chroma and a real `chroma run` server."""

from __future__ import annotations

import pytest
from conftest import SEEDS, free_port, make_library

from index.errors import StoreUnavailableError
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
    assert counts == {"articles": 2, "chunks": first.chunks_written, "sentences": 39}
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
def test_a_sentence_search_places_each_sentence_and_forgets_deleted_ones(any_library, embedder):
    any_library.ingest([SEEDS])
    store = any_library.store
    vectors = embedder.embed(["How many drones were shot down over the Ryazan region?", "Kyiv"])
    first = store.query_sentences(vectors, 5)
    assert [len(row) for row in first] == [5, 5]
    (record, score), *_ = first[0]
    stored, vector = store.get_sentences([record.id])[record.id]
    assert not vector.flags.writeable  # shared by the questions that read it
    again, same = store.get_sentences([record.id, record.id])[record.id]  # remembered
    assert again == stored and same is vector
    body = any_library.store.get_article(record.article_id).body
    assert body[record.start:record.end].startswith("According to the statement, 25 of these drones")
    assert (record.version, record.chunks, record.facts) == (stored.version, stored.chunks, "")  # no facts
    assert stored.facts and round(score, 4) == round(float(vectors[0] @ store.get_sentences(
        [record.id])[record.id][1]), 4)
    assert store.query_sentences(vectors, 5) == first  # the second time from what the store remembers
    store.delete_sentences(version=record.version)
    rows = store.query_sentences(vectors, 5)
    assert all(r.version != record.version for row in rows for r, _ in row)
    assert [len(row) for row in rows] == [5, 5]


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
    assert {c.article_id for c in answer.citations} == {strike.id}  # the filter reaches the store's queries
    any_library.remove(strike.id)
    assert any_library.store.counts()["articles"] == 2
    assert any_library.repair() == any_library.repair()  # nothing left to sweep the second time
    assert seen.outside == []


def test_the_chroma_store_implements_every_method_of_the_protocol_with_its_parameters():
    import inspect

    from index.store import Store, VectorStore

    methods = [n for n, v in vars(VectorStore).items() if callable(v) and not n.startswith("_")]
    assert len(methods) == 21
    for name in methods:
        ours = list(inspect.signature(getattr(Store, name)).parameters)
        assert ours == list(inspect.signature(getattr(VectorStore, name)).parameters), name
