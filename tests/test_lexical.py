"""The segmented BM25 index: the scores of one full index, updates proportional to the change,
one consistent state per query, shared on disk between processes, merged without changing a score."""

from __future__ import annotations

import json
import shutil
import threading

import numpy as np
import pytest
from conftest import ROOT, SEED_55, SEED_64, SEEDS, make_library

import index.lexical as lexical_module
from index.lexical import LexicalIndex
from index.library import Catalog
from index.segments import Segment, score
from index.text import analyze

QUERIES = ["drones intercepted over Ryazan", "air defence systems", "Kursk Belgorod drones drones",
           "central bank interest rates", "zzz-unknown-word"]


def _bm25s_scores(docs: list[list[str]], query: list[str]) -> np.ndarray:
    import bm25s

    reference = bm25s.BM25()  # the library the index used before: lucene variant, k1 1.5, b 0.75
    reference.index(docs, show_progress=False)
    known = [t for t in query if t in reference.vocab_dict]
    return reference.get_scores(known) if known else np.zeros(len(docs))


def test_segments_with_deletions_score_exactly_like_one_bm25s_index_of_the_live_chunks():
    texts = [p.read_text() for p in [*SEEDS.iterdir(), *(ROOT / "eval/sets/articles").iterdir()]]
    pieces = [s for text in texts for s in text.replace("\n", " ").split(". ") if len(s.split()) > 3]
    tokens = [analyze(p) for p in pieces]
    assert len(pieces) > 40
    cuts = [0, 20, 32, len(pieces)]
    segments = [Segment.build(f"s{i}", [f"c{j}" for j in range(lo, hi)], tokens[lo:hi])
                for i, (lo, hi) in enumerate(zip(cuts, cuts[1:], strict=False))]
    lives = [np.ones(s.size, dtype=bool) for s in segments]
    for seg, col in [(0, 3), (0, 19), (1, 0), (2, 7)]:
        lives[seg][col] = False
    live_tokens = [t for s, live, lo in zip(segments, lives, cuts, strict=False)
                   for t, alive in zip(tokens[lo:lo + s.size], live, strict=True) if alive]
    n_live = len(live_tokens)
    average = sum(map(len, live_tokens)) / n_live
    for query in ["drones intercepted over Ryazan", "air defence systems", "Kursk Belgorod drones drones"]:
        ours = score(segments, lives, analyze(query), n_live=n_live, avg_length=average)
        live_ours = ours[np.concatenate(lives)]
        assert np.allclose(live_ours, _bm25s_scores(live_tokens, analyze(query)), rtol=1e-5, atol=1e-6)
        assert (live_ours > 0).sum() > 3
    # a merge keeps exactly the live chunks, in order, with the same scores
    merged = Segment.merge("m", list(zip(segments, lives, strict=True)))
    assert merged.ids == tuple(i for s, live in zip(segments, lives, strict=True)
                               for i, alive in zip(s.ids, live, strict=True) if alive)
    again = score([merged], [np.ones(merged.size, dtype=bool)], analyze("drones intercepted over Ryazan"), n_live=n_live,
                  avg_length=average)
    assert np.allclose(again, score(segments, lives, analyze("drones intercepted over Ryazan"), n_live=n_live,
                                    avg_length=average)[np.concatenate(lives)], rtol=1e-6)
    assert score(segments, lives, ["zzzunknown"], n_live=n_live, avg_length=average) is None


def _subset(catalog: Catalog, article_ids) -> Catalog:
    records = {a: catalog.articles[a] for a in article_ids}
    return Catalog(f"subset-{'-'.join(sorted(records))}", records)


def _results(lexical: LexicalIndex) -> list:
    return [lexical.search(q, 10) for q in QUERIES]


@pytest.fixture(scope="module")
def two_seeds(tmp_path_factory, embedder):
    """A library of the two sample articles and the ids of each (read-only)."""
    lib = make_library(tmp_path_factory.mktemp("lexical") / "home", embedder)
    lib.ingest([SEEDS])
    by_origin = {r.origins[0]["path"].rsplit("/", 1)[-1]: r.id for r in lib.articles()}
    return lib, by_origin[SEED_64], by_origin[SEED_55]


def _fresh_index(lib, directory) -> LexicalIndex:
    return LexicalIndex(directory=directory, store=lib.store, background=False)


def test_adding_and_removing_an_article_touches_only_its_chunks_and_equals_a_rebuild(two_seeds, tmp_path):
    lib, a64, a55 = two_seeds
    catalog = lib.catalog(fresh=True)
    n64, n55 = catalog.articles[a64].n_chunks, catalog.articles[a55].n_chunks
    index = _fresh_index(lib, tmp_path / "inc")
    index.ensure(_subset(catalog, [a64]))
    assert (index.rebuilds, index.size) == (1, n64)
    index.ensure(catalog)  # +1 article: one new segment with its chunks only
    assert index.last_update == {**index.last_update, "added_chunks": n55, "added_articles": 1,
                                 "removed_articles": 0}
    assert (index.rebuilds, index.size, index.stats()["segments"]) == (1, n64 + n55, 2)
    rebuilt = _fresh_index(lib, tmp_path / "full")
    rebuilt.ensure(catalog)
    assert _results(index) == _results(rebuilt)
    assert index.idf("drone") == pytest.approx(rebuilt.idf("drone")) and index.idf("drone") > 0
    index.ensure(_subset(catalog, [a55]))  # -1 article: its chunks are masked, nothing is re-read
    assert index.last_update["added_chunks"] == 0 and index.last_update["removed_articles"] == 1
    # its segment is all dead now: the merge that follows drops it
    assert index.stats() == {"chunks": n55, "segments": 1, "dead": 0}
    only55 = _fresh_index(lib, tmp_path / "only55")
    only55.ensure(_subset(catalog, [a55]))
    assert _results(index) == _results(only55)
    assert all(cid.startswith(catalog.articles[a55].version) for r in _results(index) for cid, _ in r)


def test_a_query_sees_the_whole_state_before_or_after_an_update_never_a_mix(two_seeds, tmp_path):
    lib, a64, _ = two_seeds
    catalog = lib.catalog(fresh=True)
    one, both = _subset(catalog, [a64]), catalog
    index = _fresh_index(lib, tmp_path / "bm25")
    index.ensure(both)
    expected_both = index.search("drones intercepted Ryazan Kursk", 20)
    index.ensure(one)
    expected_one = index.search("drones intercepted Ryazan Kursk", 20)
    assert expected_one != expected_both
    seen, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            seen.append(index.search("drones intercepted Ryazan Kursk", 20))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(15):
            index.ensure(both)
            index.ensure(one)
    finally:
        stop.set()
        thread.join()
    assert len(seen) > 5
    assert all(result in (expected_one, expected_both) for result in seen)


def test_another_process_adopts_the_index_on_disk_without_rebuilding(two_seeds, tmp_path):
    lib, a64, _ = two_seeds
    catalog = lib.catalog(fresh=True)
    writer = _fresh_index(lib, tmp_path / "bm25")
    writer.ensure(_subset(catalog, [a64]))
    reader = _fresh_index(lib, tmp_path / "bm25")
    reader.ensure(_subset(catalog, [a64]))
    assert reader.rebuilds == 0 and reader.size == writer.size
    writer.ensure(catalog)
    loaded = reader.snapshot.segments[0]
    reader.ensure(catalog)  # adopts the writer's new segment; keeps the one it has in memory
    assert reader.rebuilds == 0 and reader.last_update.get("added_chunks") is None
    assert reader.snapshot.segments[0] is loaded and _results(reader) == _results(writer)


def test_merging_keeps_every_score_and_removes_the_merged_files(two_seeds, tmp_path, monkeypatch):
    lib, a64, a55 = two_seeds
    catalog = lib.catalog(fresh=True)
    monkeypatch.setattr(lexical_module, "MERGE_FACTOR", 2)
    index = _fresh_index(lib, tmp_path / "bm25")
    index.ensure(_subset(catalog, [a64]))
    index.ensure(_subset(catalog, []))  # all dead: the segment is dropped by the merge
    assert index.stats() == {"chunks": 0, "segments": 0, "dead": 0} and index.search("drones", 5) == []
    index.ensure(_subset(catalog, [a55]))
    index.ensure(catalog)  # two segments of one size class: merged into one
    assert index.stats() == {"chunks": catalog.articles[a64].n_chunks + catalog.articles[a55].n_chunks,
                             "segments": 1, "dead": 0}
    assert [p.stem for p in (tmp_path / "bm25").glob("*.npz")] == [index.snapshot.segments[0].name]
    rebuilt = _fresh_index(lib, tmp_path / "full")
    rebuilt.ensure(catalog)
    ours, theirs = _results(index), _results(rebuilt)
    assert [[cid for cid, _ in r] for r in ours] == [[cid for cid, _ in r] for r in theirs]
    assert np.allclose([s for r in ours for _, s in r], [s for r in theirs for _, s in r], rtol=1e-6)


def test_an_index_of_the_old_format_or_a_lost_segment_is_rebuilt(two_seeds, tmp_path):
    lib, *_ = two_seeds
    catalog = lib.catalog(fresh=True)
    folder = tmp_path / "bm25"
    index = _fresh_index(lib, folder)
    index.ensure(catalog)
    expected = _results(index)
    for segment in folder.glob("*.npz"):
        segment.unlink()
    again = _fresh_index(lib, folder)
    again.ensure(catalog)
    assert again.rebuilds == 1 and _results(again) == expected
    shutil.rmtree(folder)
    folder.mkdir()
    (folder / "bm25").mkdir()  # what the bm25s-based index left
    (folder / "manifest.json").write_text(json.dumps({"fingerprint": catalog.fingerprint, "chunk_ids": []}))
    third = _fresh_index(lib, folder)
    third.ensure(catalog)
    assert third.rebuilds == 1 and _results(third) == expected and not (folder / "bm25").exists()
