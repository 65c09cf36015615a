"""Ingestion into the real embedded Chroma with the real model: incremental, idempotent, consistent."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, SEED_55, SEED_64, SEEDS, make_library
from helpers import assert_consistent

from index.errors import ConfigError, NotFoundError
from index.offline import OFFLINE_ENV
from index.store import chunk_id


def snapshot(lib):
    """Everything stored: article ids/versions/origins, all chunk ids, and each chunk's sentences
    with their vectors and facts."""
    records = sorted((r.id, r.version, tuple(r.keys), r.n_chunks) for r in lib.store.list_articles())
    chunks = sorted(cid for cid, _, _ in lib.store.chunk_versions())
    sentences = sorted((c.id, c.sentences, c.vectors, c.facts) for c in lib.store.get_chunks(chunks).values())
    return records, chunks, sentences


def copy_seeds(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name in (SEED_64, SEED_55):
        shutil.copy(SEEDS / name, folder / name)
    return folder


def test_ingest_twice_writes_nothing_the_second_time(library, tmp_path):
    folder = copy_seeds(tmp_path / "articles")
    first = library.ingest([folder])
    assert (first.added, first.updated, first.unchanged, first.failed) == (2, 0, 0, 0)
    assert first.chunks_written == sum(r.n_chunks for r in library.articles()) > 0
    before = snapshot(library)
    second = library.ingest([folder])
    assert (second.added, second.updated, second.unchanged, second.failed) == (0, 0, 2, 0)
    assert second.chunks_written == 0
    assert snapshot(library) == before
    assert library.store.counts() == {"articles": 2, "chunks": first.chunks_written}
    held = library.store.get_chunks([cid for cid, _, _ in library.store.chunk_versions()]).values()
    assert len({(c.version, span) for c in held for span in c.sentences}) == 39  # each embedded once
    assert_consistent(library)


def test_a_changed_article_replaces_exactly_its_own_chunks(library, tmp_path):
    folder = copy_seeds(tmp_path / "articles")
    library.ingest([folder])
    other = next(r for r in library.articles() if r.source == "Miami News, KMIA")
    path = folder / SEED_64
    path.write_text(path.read_text().replace("64 Ukrainian drones", "66 Ukrainian drones"))
    report = library.ingest([folder])
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    records = {r.title: r for r in library.articles()}
    assert len(records) == 2
    changed = records[None]  # the untitled report
    assert "66 Ukrainian drones" in library.article(changed.id).body
    assert records[other.title].version == other.version  # untouched
    assert_consistent(library)


def test_a_metadata_change_keeps_the_article_id_and_rewrites_its_chunks(library, tmp_path):
    path = tmp_path / "note.md"
    path.write_text("---\ntitle: Old title\n---\nThe mayor opened the bridge on Monday. Crowds cheered.\n")
    library.ingest([path])
    (before,) = library.articles()
    path.write_text("---\ntitle: New title\n---\nThe mayor opened the bridge on Monday. Crowds cheered.\n")
    report = library.ingest([path])
    (after,) = library.articles()
    assert report.updated == 1 and after.id == before.id and after.version != before.version
    assert after.title == "New title"
    (chunk,) = library.store.get_chunks([chunk_id(after.version, 0)]).values()
    assert chunk.text.startswith("New title\n")
    assert_consistent(library)


def test_an_exact_duplicate_under_another_name_is_stored_once_with_both_origins(library, tmp_path):
    folder = copy_seeds(tmp_path / "articles")
    shutil.copy(folder / SEED_55, folder / "syndicated-copy.txt")
    report = library.ingest([folder])
    assert (report.added, report.duplicates) == (2, 1)
    assert "1 duplicate stored once" in report.summary()
    copy = next(r for r in library.articles() if r.source == "Miami News, KMIA")
    assert sorted(o["path"].rsplit("/", 1)[1] for o in copy.origins) == [SEED_55, "syndicated-copy.txt"]
    again = library.ingest([folder])
    assert (again.unchanged, again.duplicates, again.chunks_written) == (3, 0, 0)
    assert_consistent(library)


def test_remove_deletes_the_article_and_its_chunks(library, tmp_path):
    library.ingest([copy_seeds(tmp_path / "articles")])
    victim = library.articles()[0]
    library.remove(victim.id)
    assert [r.id for r in library.articles()] != [victim.id] and len(library.articles()) == 1
    assert all(aid != victim.id for _, aid, _ in library.store.chunk_versions())
    with pytest.raises(NotFoundError, match=f"No article with id '{victim.id}': `newsrag articles list` "
                                            "shows the ids."):
        library.remove(victim.id)
    assert_consistent(library)


def test_sync_mirrors_a_folder(library, tmp_path):
    folder = copy_seeds(tmp_path / "articles")
    (folder / "third.txt").write_text("Floods closed the coastal road on Sunday. Repairs will take weeks.")
    assert library.sync(folder).added == 3
    (folder / "third.txt").unlink()
    (folder / "fourth.md").write_text("# Fourth\n\nThe airport reopened after the storm.\n")
    (folder / SEED_64).write_text((folder / SEED_64).read_text() + "\nA late update followed.\n")
    (folder / SEED_55).write_bytes(b"\xff\xfe broken now")  # unreadable now: kept, not removed
    report = library.sync(folder)
    assert (report.added, report.updated, report.removed, report.failed) == (1, 1, 1, 1)
    titles = sorted(r.display_title for r in library.articles())
    assert titles == ["Fourth", 'Untitled — "The Russian Ministry of Defense has confirmed …"',
                      "Urgent Update: Russia Intercepts 55 Ukrainian Drones in Largest Nighttime Operation, "
                      "Fueling Fears of Escalation"]
    assert_consistent(library)
    with pytest.raises(ConfigError, match="is not a folder"):
        library.sync(folder / "fourth.md")


def test_a_bad_batch_still_indexes_the_good_files(library, tmp_path):
    folder = copy_seeds(tmp_path / "articles")
    (folder / "empty.txt").write_text("")
    (folder / "feed.jsonl").write_text('{"title": "Good", "body": "A good line."}\n{broken\n')
    report = library.ingest([folder, tmp_path / "missing.txt"])
    assert (report.added, report.failed) == (3, 3)
    assert report.failures == [
        f"{folder / 'empty.txt'}: empty file",
        f"{folder / 'feed.jsonl'}:2: malformed JSON line (Expecting property name enclosed in double "
        "quotes at column 2)",
        f"{tmp_path / 'missing.txt'}: no such file or folder"]
    assert not report.ok


def test_the_bm25_index_is_persisted_and_rebuilt_only_when_missing_or_stale(tmp_path, embedder):
    home = tmp_path / "home"
    lib = make_library(home, embedder)
    lib.ingest([SEEDS])
    manifest = json.loads((home / "bm25" / "newsrag" / "manifest.json").read_text())
    assert sum(n for _, n in manifest["articles"].values()) == lib.store.counts()["chunks"]
    assert [s["dead"] for s in manifest["segments"]] == [[]]
    fresh = make_library(home, embedder)
    _, lexical = fresh.search_index()
    assert fresh.lexical.rebuilds == 0  # loaded from disk
    hits = lexical.search("Ryazan drones", 3)
    assert hits and hits == sorted(hits, key=lambda h: -h[1])
    for _ in range(3):
        fresh.search_index()
    assert fresh.lexical.rebuilds == 0  # never per query
    shutil.rmtree(home / "bm25")
    again = make_library(home, embedder)
    again.search_index()
    assert again.lexical.rebuilds == 1
    assert again.lexical.search("Ryazan drones", 3) == hits


def test_an_index_built_with_another_model_is_refused(tmp_path, embedder):
    from index.settings import IndexSettings
    from index.store import Store

    lib = make_library(tmp_path / "home", embedder)
    lib.ingest([SEEDS / SEED_55])
    with pytest.raises(ConfigError, match="was built with the embedding model 'all-MiniLM-L6-v2', not "
                                          "'other-model'"):
        Store(settings=IndexSettings(home=tmp_path / "home"), embed_model="other-model")


@pytest.mark.slow
def test_a_long_article_reports_its_sentences_before_any_chunk_is_embedded(tmp_path, embedder):
    # one article of 40 sentences, batches of 2: sentences are read in slices of 8, then chunks embedded
    body = " ".join(f"Harbour crane {i} moved {100 + i} containers on the night shift, the port said." for i in range(40))
    (tmp_path / "long.txt").write_text(f"Port night shifts\n\n{body}\n", encoding="utf-8")
    lib = make_library(tmp_path / "home", embedder, embed_batch_size=2)
    events = []
    report = lib.ingest([tmp_path / "long.txt"], progress=events.append)
    held = lib.store.get_chunks([cid for cid, _, _ in lib.store.chunk_versions()]).values()
    stored = len({span for c in held for span in c.sentences})
    chunks = report.chunks_written
    assert stored >= 40 and chunks >= 2
    reading = [(e.sentences_done, e.chunks_done) for e in events if e.chunks_done == 0]
    # the first event announces the work; then each slice of 8 sentences, before any chunk
    assert reading == [(0, 0)] + [(min(n, stored), 0) for n in range(8, stored + 8, 8)]
    assert all(e.sentences_total == stored and e.chunks_total == chunks for e in events)
    done = [e.chunks_done for e in events]
    assert done == sorted(done) and done[-1] == chunks
    assert (events[-1].sentences_done, events[-1].articles_done) == (stored, 1)
    assert_consistent(lib)


def test_cli_ingest_shows_progress_and_a_summary_and_fails_on_bad_files(tmp_path):
    folder = copy_seeds(tmp_path / "articles")
    (folder / "bad.json").write_text("{nope")
    env = {**OFFLINE_ENV, "NEWSRAG_HOME": str(tmp_path / "home"), "PATH": str(ROOT / ".venv/bin"),
           "NEWSRAG_MODEL_DIR": os.environ["NEWSRAG_MODEL_DIR"]}
    result = subprocess.run([sys.executable, "-m", "ui.cli", "ingest", str(folder)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stdout.strip().startswith("2 added, 0 updated, 0 unchanged, 1 failed (")
    assert f"error: {folder / 'bad.json'}: malformed JSON at line 1, column 2" in result.stderr
    assert "chunk/s" in result.stderr and "articles 2/2" in result.stderr  # the progress bar
    listing = subprocess.run([sys.executable, "-m", "ui.cli", "articles", "list", "--json"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=120)
    listed = json.loads(listing.stdout)
    assert sorted((a["title"] or "")[:14] for a in listed) == ["", "Urgent Update:"]
    assert sorted(a["display_title"][:14] for a in listed) == ["Untitled — \"Th", "Urgent Update:"]
