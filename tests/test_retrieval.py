"""Hybrid retrieval: fusion arithmetic, outlet/date filters, repeated passages, the LlamaIndex wrapper."""

from __future__ import annotations

from datetime import date

import pytest

from index.errors import ConfigError
from rag.analysis import analyse
from rag.filters import make_filters
from rag.pipeline import Pipeline
from rag.retrieval import HybridRetriever, fuse
from rag.settings import RagSettings
from rag.tuning import Tuning
from rag.types import Filters
from rag.understand import encode

LISTS = {"dense": [("a", 0.9), ("b", 0.5), ("c", 0.2)], "bm25": [("c", 12.0), ("a", 6.0), ("d", 3.0)]}


def test_weighted_reciprocal_rank_fusion():
    fused = dict(fuse(LISTS, method="rrf", rrf_k=10, dense_weight=0.3))
    assert fused == pytest.approx({"a": 0.3 / 11 + 0.7 / 12, "b": 0.3 / 12, "c": 0.3 / 13 + 0.7 / 11,
                                   "d": 0.7 / 13})
    assert [k for k, _ in fuse(LISTS, method="rrf", rrf_k=10, dense_weight=0.3)] == ["c", "a", "d", "b"]
    assert [k for k, _ in fuse(LISTS, method="rrf", rrf_k=60, dense_weight=0.5)] == ["a", "c", "b", "d"]


def test_weighted_score_fusion_and_single_lists():
    fused = dict(fuse(LISTS, method="weighted", rrf_k=10, dense_weight=0.5))
    assert fused == pytest.approx({"a": 0.45 + 0.25, "b": 0.25, "c": 0.1 + 0.5, "d": 0.125})
    assert fuse(LISTS, method="dense", rrf_k=10, dense_weight=0.5) == [("a", 0.9), ("b", 0.5), ("c", 0.2)]
    assert fuse(LISTS, method="bm25", rrf_k=10, dense_weight=0.5) == [("c", 12.0), ("a", 6.0), ("d", 3.0)]
    with pytest.raises(ConfigError, match="fusion='max' is unknown: use one of rrf, weighted, dense, bm25."):
        fuse(LISTS, method="max", rrf_k=10, dense_weight=0.5)


@pytest.fixture(scope="module")
def dated(tmp_path_factory, embedder):
    from conftest import make_library

    folder = tmp_path_factory.mktemp("dated")
    articles = {
        "a.md": ("The Harbor Post", "2023-10-02", "Port workers began a strike on Monday over pay. "
                 "The strike closed three terminals."),
        "b.md": ("Inland Times", "2023-10-20", "The port strike ended after a pay deal was signed. "
                 "Terminals reopened on Friday."),
        "c.md": ("The Harbor Post", "2023-11-15", "Shipping volumes recovered a month after the port strike. "
                 "Officials praised the deal."),
        "d.md": ("Valley Ledger", "2023-10-05", "Farmers reported a record apple harvest this autumn. "
                 "The bridge opened on Monday after five years of work."),
        "e.md": ("Coast Courier", "2023-10-06", "Traffic was heavy across the city on the weekend. "
                 "The bridge opened on Monday after five years of work."),
    }
    for name, (outlet, day, body) in articles.items():
        (folder / name).write_text(f"---\ntitle: {name[0].upper()} story\nsource: {outlet}\n"
                                   f"published_at: {day}\n---\n{body}\n")
    syndicated = "Wildfire smoke closed schools across the valley district on Thursday."
    (folder / "f1.md").write_text(f"---\ntitle: Smoke\nsource: Valley Ledger\n---\n{syndicated}\n")
    (folder / "f2.md").write_text(f"---\ntitle: Smoke (wire)\nsource: Coast Courier\n---\n{syndicated}\n")
    lib = make_library(folder / "home", embedder)
    assert lib.ingest([folder]).added == 6
    return lib


def retriever(lib):
    return HybridRetriever(library=lib, settings=RagSettings(index=lib.settings))


def titles(passages):
    return [p.location.title for p in passages]


def test_outlet_filter_is_case_insensitive_and_exact(dated):
    found = retriever(dated).retrieve("port strike", k=5, filters=make_filters(sources="the harbor post"))
    assert sorted(titles(found)) == ["A story", "C story"]
    both = retriever(dated).retrieve("port strike", k=5, filters=make_filters(sources="The Harbor Post|Inland Times"))
    assert sorted(titles(both)) == ["A story", "B story", "C story"]


def test_date_range_is_inclusive_and_undated_articles_are_excluded(dated):
    window = make_filters(since="2023-10-02", until="2023-10-20")
    found = retriever(dated).retrieve("port strike", k=10, filters=window)
    assert "C story" not in titles(found) and "A story" in titles(found) and "B story" in titles(found)
    assert "Smoke" not in titles(retriever(dated).retrieve("wildfire smoke", k=10, filters=window))
    only_day = make_filters(since=date(2023, 10, 20), until=date(2023, 10, 20))
    assert titles(retriever(dated).retrieve("strike deal", k=10, filters=only_day)) == ["B story"]


def test_several_queries_in_one_batch_rank_as_each_alone(dated):
    queries = ["port strike", "When did the bridge open?", "apple harvest record"]
    together = retriever(dated).rankings_many(queries, filters=make_filters(since="2023-10-01"))
    for query, batched in zip(queries, together, strict=True):
        dated.embedder._cache.clear()
        alone = retriever(dated).rankings(query, filters=make_filters(since="2023-10-01"))
        assert set(batched) == set(alone) == {"dense", "bm25", "sentences"}
        for name, ranking in alone.items():
            assert [cid for cid, _ in batched[name]] == [cid for cid, _ in ranking], (query, name)
            assert [s for _, s in batched[name]] == pytest.approx([s for _, s in ranking], abs=1e-5)
    assert dated.catalog().article_of(together[2]["bm25"][0][0]).title == "D story"


def test_bad_filters_are_refused_with_the_fix(dated):
    with pytest.raises(ConfigError, match=r"No articles from outlet 'Bloomberg': known outlets are Coast "
                                          r"Courier, Inland Times, The Harbor Post, Valley Ledger\."):
        retriever(dated).retrieve("strike", filters=Filters(sources=("Bloomberg",)))
    with pytest.raises(ConfigError, match=r"since=2023-11-01 is after until=2023-10-01: swap them\."):
        make_filters(since="2023-11-01", until="2023-10-01")
    with pytest.raises(ConfigError, match=r"until='next week' is not a date: use YYYY-MM-DD"):
        make_filters(until="next week")


def test_a_syndicated_copy_is_one_passage_with_all_its_outlets(dated):
    (record,) = [r for r in dated.articles() if r.title == "Smoke"]
    assert record.sources == ["Valley Ledger", "Coast Courier"]
    top = retriever(dated).retrieve("Why were schools closed?", k=1)[0]
    assert top.location.title == "Smoke" and top.location.source == "Valley Ledger, Coast Courier"


def test_a_sentence_repeated_in_two_articles_is_cited_once_with_both(dated):
    answer = Pipeline(RagSettings(index=dated.settings), library=dated).ask("When did the bridge open?")
    assert answer.status == "answered"
    bridge = [c for c in answer.citations if "bridge opened" in c.quote]
    assert len(bridge) == 1
    (citation,) = bridge
    assert citation.quote == "The bridge opened on Monday after five years of work."
    assert {citation.location.title, *(a.title for a in citation.also)} == {"D story", "E story"}
    for where in (citation.location, *citation.also):
        assert dated.article(where.article_id).body[where.start:where.end] == citation.quote


def test_llamaindex_retriever_returns_the_same_passages_as_nodes(dated):
    from rag.llamaindex import NewsRetriever

    settings = RagSettings(index=dated.settings)
    ours = retriever(dated).retrieve("port strike", k=3)
    nodes = NewsRetriever(retriever=retriever(dated), top_k=3).retrieve("port strike")
    assert [n.node.node_id for n in nodes] == [p.location.chunk_id for p in ours]
    assert [n.score for n in nodes] == [p.score for p in ours]
    assert nodes[0].node.metadata["title"] == ours[0].location.title
    assert nodes[0].node.get_content() == ours[0].body
    filtered = NewsRetriever.from_settings(settings, top_k=5, sources=["Inland Times"]).retrieve("strike")
    assert [n.node.metadata["source"] for n in filtered] == ["Inland Times"]


def test_a_day_named_in_words_is_searched_as_the_index_writes_dates(dated):
    # a report's date is in its chunks' header as "Valley Ledger, 2023-10-05" (index.chunking); the
    # question's text, what retrieval reads, gives the day so (rag.question)
    asked = "Did the bridge open on Monday, October 5, 2023?"
    info = analyse(asked, outlets=dated.catalog().outlets)
    assert (info.text, info.dated) == (asked, "Did the bridge open on 2023-10-05?")
    # the same sentence in two reports: the day named decides which one BM25 ranks first
    words = retriever(dated).rankings(asked)["bm25"]
    iso = retriever(dated).rankings(info.dated)["bm25"]
    assert [dated.catalog().article_of(cid).title for cid, _ in words[:2]] == ["E story", "D story"]
    assert [dated.catalog().article_of(cid).title for cid, _ in iso[:2]] == ["D story", "E story"]


def test_the_answer_also_reads_the_first_passage_of_further_reports(dated):
    info = analyse("How did the port strike end?", outlets=dated.catalog().outlets)
    r = retriever(dated)
    vectors = encode(dated.embedder, info)
    ranked = titles(r.retrieve_question(info, k=4))
    reading = r.read_question(info, vectors, k=2, further=1)
    # the ranking's first passages unchanged, then the next report's
    assert titles(reading.passages) == ranked[:2] == ["B story", "A story"]
    assert titles(reading.further) == ranked[2:3] == ["C story"]
    assert r.read_question(info, vectors, k=2, further=0).further == []  # none asked for, none read
    # unless told, as many as Tuning.further_reports (2)
    assert titles(r.read_question(info, vectors, k=2).further) == ["C story", "E story"]
    none = HybridRetriever(library=dated, settings=RagSettings(index=dated.settings, tuning=Tuning(further_reports=0)))
    assert none.read_question(info, vectors, k=2).further == []
