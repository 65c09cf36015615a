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
    vector = embedder.embed(["Which air defence systems were deployed?"])[0]
    ours = embedded.store.query(vector, 5)
    theirs = served.store.query(vector, 5)
    assert [cid for cid, _ in ours] == [cid for cid, _ in theirs]
    assert [round(s, 4) for _, s in ours] == [round(s, 4) for _, s in theirs]


def test_an_unreachable_server_is_a_one_line_error_naming_the_fix(tmp_path, embedder):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnavailableError) as caught:
        make_library(tmp_path / "home", embedder, chroma_url=url).store.counts()
    message = str(caught.value)
    assert message.startswith(f"Chroma at {url} is unreachable while trying to open the store (")
    assert message.endswith("start the server or unset NEWSRAG_CHROMA_URL.")
    assert "\n" not in message and caught.value.http_status == 503
