"""The segmented BM25 index: the scores of one full index, updates proportional to the change,
one consistent state per query, shared on disk between processes, merged without changing a score;
and the sentences (vectors, facts) its segments hold for the chunks they index."""

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
from index.quantized import pack, unpack
from index.segments import Segment, score
from index.sentences import SentenceTable
from index.store import ChunkRecord
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


@pytest.mark.parametrize(("vector", "row"), [
    ([0.5, -0.25, 0.0, 0.125], [127, -64, 0, 32]),  # the largest magnitude becomes 127
    ([0.0, 0.0, 0.0, 0.0], [0, 0, 0, 0]),  # a zero vector stays zero (scale 1, not a division by 0)
    ([-0.01, 0.021, 0.03, -0.04], [-32, 67, 95, -127]),  # small vectors keep their resolution
])
def test_packed_vectors_are_int8_rows_each_with_its_own_scale(vector, row):
    rows, scales = unpack(pack(np.array([vector])))
    assert rows.dtype == np.int8 and rows.tolist() == [row]
    assert np.allclose(rows[0] * scales[0], vector, atol=max(np.abs(vector).max(), 1e-9) / 254)
    assert unpack("")[0].shape == (0, 0) and pack(np.zeros((0, 4))) == ""


def test_packed_sentence_vectors_keep_the_cosine_of_the_model_within_a_thousandth(encoder):
    vectors = encoder.embed(["Drones were shot down over the Ryazan region.", "The central bank raised rates.",
                             "Kyiv said the attack failed.", "Rain is expected on Friday in the north."])
    rows, scales = unpack(pack(vectors))
    restored = rows.astype(np.float32) * scales[:, None]
    # measured 0.00063 (fp32) and 0.00114 (int8: its vectors have a few larger components, so one
    # int8 step is coarser), onnx on an AVX-512 VNNI EPYC, 2026-12-07
    assert np.abs(restored @ vectors.T - vectors @ vectors.T).max() < {"fp32": 1e-3, "int8": 2e-3}[encoder.precision]


def _chunk(cid: str, spans, vectors=None, facts=None) -> ChunkRecord:
    return ChunkRecord(id=cid, article_id="a", version="v", index=0, text="", header_len=0, start=0, end=0,
                       sentences=tuple(spans), vectors="" if vectors is None else pack(np.array(vectors)),
                       facts="\n".join(facts or ()))


def test_a_sentence_table_holds_each_chunks_rows_and_merging_keeps_the_live_ones():
    chunks = [_chunk("c0", [(0, 10), (11, 30)], [[1.0, 0.0], [0.0, 1.0]], ['{"e":[]}', '{"f":[]}']),
              _chunk("c1", [(0, 5)]),  # stored before sentences were: no rows
              _chunk("c2", [(0, 5), (6, 9)], [[1.0, 0.0]], ['{"e":[]}']),  # damaged: 1 row for 2 sentences
              _chunk("c3", [(40, 52)], [[0.6, 0.8]], ['{"f":[[5,"5","",""]]}']),
              None]
    table = SentenceTable.build(chunks)
    assert table.ptr.tolist() == [0, 2, 2, 2, 3, 3] and table.starts.tolist() == [0, 11, 40]
    assert [table.span(c) for c in range(5)] == [(0, 2), (2, 2), (2, 2), (2, 3), (3, 3)]
    assert [table.facts_of(r) for r in range(3)] == ['{"e":[]}', '{"f":[]}', '{"f":[[5,"5","",""]]}']
    assert np.allclose(table.vectors(np.array([0, 2])), [[1.0, 0.0], [0.6, 0.8]], atol=0.01)
    other = SentenceTable.build([_chunk("d0", [(3, 9)], [[0.0, -1.0]], ["{}"])])
    merged = SentenceTable.merge([(table, np.array([False, True, True, True, False])), (other, np.array([True]))])
    assert merged.ptr.tolist() == [0, 0, 0, 1, 2] and merged.starts.tolist() == [40, 3]
    assert [merged.facts_of(r) for r in range(2)] == ['{"f":[[5,"5","",""]]}', "{}"]
    assert np.allclose(merged.vectors(np.arange(2)), [[0.6, 0.8], [0.0, -1.0]], atol=0.01)


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


def test_chunks_are_ranked_by_their_closest_stored_sentence_and_each_sentence_is_read_by_place(
        two_seeds, tmp_path, embedder):
    lib, a64, a55 = two_seeds
    catalog = lib.catalog(fresh=True)
    index = _fresh_index(lib, tmp_path / "bm25")
    index.ensure(_subset(catalog, [a64]))
    index.ensure(catalog)  # two segments: the pools span both
    queries = embedder.embed(["How many drones were shot down over the Ryazan region?", "Which rates did the bank set?"])
    pool = catalog.chunk_ids([a55, a64])
    chunks = lib.store.get_chunks(pool)

    def closest(chunk, query):
        rows, scales = unpack(chunk.vectors)
        return float(((rows.astype(np.float32) * scales[:, None]) @ query).max())

    ranked = index.best_sentences(queries, [pool, [*pool[:2], "v-missing-0000"]])
    for query, found, wanted in zip(queries, ranked, [pool, pool[:2]], strict=True):
        expected = sorted(((c, closest(chunks[c], query)) for c in wanted), key=lambda pair: -pair[1])
        assert [c for c, _ in found] == [c for c, _ in expected]  # the unknown chunk is left out
        assert np.allclose([s for _, s in found], [s for _, s in expected], atol=1e-5)
    best = ranked[0][0][0]
    assert best.startswith(catalog.articles[a64].version)  # the Ryazan article
    chunk = chunks[best]
    places = [(best, start) for start, _ in chunk.sentences] + [(best, 99999), ("v-missing-0000", 0)]
    stored = index.stored_sentences(places)
    assert list(stored) == places[:len(chunk.sentences)]
    rows, scales = unpack(chunk.vectors)
    for i, (vector, facts) in enumerate(stored.values()):
        assert np.allclose(vector, rows[i] * scales[i]) and facts == chunk.facts.split("\n")[i]
    ryazan = [f for v, f in stored.values() if "Ryazan" in f]
    assert ryazan and '"GPE"' in ryazan[0]  # the facts annotation found at ingest


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
    places = [(c.id, start) for c in lib.store.get_chunks(catalog.chunk_ids(catalog.articles)).values()
              for start, _ in c.sentences]
    kept, built = index.stored_sentences(places), rebuilt.stored_sentences(places)
    assert len(kept) == len(places) and list(kept) == list(built)  # every sentence survives the merge
    assert all(np.array_equal(kept[p][0], built[p][0]) and kept[p][1] == built[p][1] for p in places)


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


def test_a_reader_searches_the_state_before_an_update_another_holds_instead_of_waiting(two_seeds, tmp_path):
    """While a writer indexes what it just committed (a huge article: seconds), a question is not
    held up: ``ensure(wait=False)`` returns False at once and the reader searches the whole state
    before the update. Held by another thread of the process, then by another process."""
    import subprocess
    import sys

    lib, a64, a55 = two_seeds
    catalog = lib.catalog(fresh=True)
    index = _fresh_index(lib, tmp_path / "bm25")
    empty = _fresh_index(lib, tmp_path / "bm25-empty")
    index.ensure(_subset(catalog, [a64]))
    before = _results(index)
    holding, release = threading.Event(), threading.Event()

    def writer():
        with index._lock:
            holding.set()
            release.wait(60)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(60)
        assert index.ensure(catalog, wait=False) is False  # not waited for: the state before it
        assert index.snapshot.fingerprint == _subset(catalog, [a64]).fingerprint and _results(index) == before
    finally:
        release.set()
        thread.join()

    # another process holds the file lock every process takes to change the index
    code = ("import fcntl, sys, time; h = open(sys.argv[1], 'w'); fcntl.flock(h, fcntl.LOCK_EX); "
            "print('held', flush=True); sys.stdin.readline()")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "bm25" / ".lock")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        assert index.ensure(catalog, wait=False) is False and _results(index) == before
    finally:
        holder.communicate("\n", timeout=60)
    # nothing holds it now: the reader brings the index up to date itself
    assert index.ensure(catalog, wait=False) is True and index.snapshot.fingerprint == catalog.fingerprint
    assert index.size == catalog.articles[a64].n_chunks + catalog.articles[a55].n_chunks
    # an index with nothing yet is built by the reader (a first question gets BM25 too)
    assert empty.ensure(catalog, wait=False) is True and empty.size == index.size


def test_an_ingest_indexes_its_last_slice_before_readers_are_told_of_it(tmp_path, embedder):
    """Readers notice a commit by the change marker; by then the writer has indexed it (so no
    reader builds a huge article's segment itself, nor waits for the writer to)."""
    lib = make_library(tmp_path / "home", embedder)
    told = []
    mark = lib.mark_changed

    def marked():
        told.append((lib.lexical.snapshot.fingerprint, lib.catalog(fresh=True).fingerprint))
        return mark()

    lib.mark_changed = marked
    lib.ingest([SEEDS])
    assert len(told) == 1 and told[0][0] == told[0][1] == lib.catalog().fingerprint
