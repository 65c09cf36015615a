"""The persistent BM25 index of the chunks in the store, updated in proportion to each change.

It is a list of immutable segments (``index.segments``) plus, per segment, a mask of the chunks
still live. Adding articles writes one new segment holding only their chunks; removing articles
clears bits of the masks; idf and average length are computed at query time over the live chunks,
so the scores are those of a full rebuild. Segments are merged in the background when there are
too many, or too many dead chunks in one (``MERGE_FACTOR``, ``MAX_DEAD``).

Each state is an immutable ``Snapshot``; an update builds a new one beside the old and swaps the
reference, so a query always sees one whole state, never half an update. On disk
(``<home>/bm25/<collection>/``): one ``.npz`` file per segment, never modified, and
``manifest.json`` (segments, dead chunks, the articles covered), replaced atomically under a file
lock shared by every process using the index. ``ensure(catalog)`` brings the index to the
store content the catalog describes: it adopts what another process wrote, then indexes the
difference.

The segments also hold the sentences of their chunks with the vectors and facts stored at ingest
(``index.sentences``): ``best_sentences`` ranks a question's candidate chunks by their closest
sentence and ``stored_sentences`` gives the evidence scorer its sentences' vectors and facts, both
from the snapshot the BM25 search used, in memory, in about a millisecond.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.segments import Segment, idf, score
from index.sentences import SentenceTable
from index.text import ANALYZER, analyze

if TYPE_CHECKING:
    from index.store import ChunkRecord, VectorStore

_MANIFEST = "manifest.json"
_FORMAT = 3  # 3: segments hold their chunks' sentences
MERGE_FACTOR = 8  # merge when this many segments of one size class exist
MAX_DEAD = 0.3  # rewrite a segment once this share of its chunks is deleted
_READ_PAGE = 2000  # chunk texts read from the store per request


@dataclass(frozen=True, eq=False)
class Snapshot:
    """One consistent state of the index; never modified after it is built."""

    token: str  # changes with every manifest written
    fingerprint: str | None  # of the catalog it matches
    articles: dict[str, tuple[str, int]]  # article id -> (version, n_chunks) indexed
    segments: tuple[Segment, ...] = ()
    lives: tuple[np.ndarray, ...] = ()
    position: dict[str, int] = field(default_factory=dict)  # chunk id -> column over all segments
    n_live: int = 0
    total_length: int = 0
    _df: dict[str, int] = field(default_factory=dict, repr=False)  # memo for ``df``
    _memo: dict = field(default_factory=dict, repr=False)  # memo for ``owners``

    @classmethod
    def of(cls, token, fingerprint, articles, segments, lives) -> Snapshot:
        position: dict[str, int] = {}
        base = 0
        for segment, live in zip(segments, lives, strict=True):
            if live.all():
                position.update(zip(segment.ids, range(base, base + segment.size), strict=True))
            else:
                position.update((segment.ids[i], base + i) for i in np.flatnonzero(live).tolist())
            base += segment.size
        n_live = sum(int(live.sum()) for live in lives)
        total = sum(int(s.lengths[live].sum()) for s, live in zip(segments, lives, strict=True))
        return cls(token, fingerprint, dict(articles), tuple(segments), tuple(lives), position, n_live, total)

    def changed(self, token, fingerprint, articles, killed: Sequence[str], segments, lives) -> Snapshot:
        """This snapshot with chunks ``killed`` and at most one segment appended (its columns
        follow the existing ones), in time proportional to the change."""
        position = dict(self.position)
        total = self.total_length
        starts = np.cumsum([0] + [s.size for s in self.segments])
        for cid in killed:
            col = position.pop(cid, None)
            if col is not None:
                seg = int(np.searchsorted(starts, col, side="right") - 1)
                total -= int(self.segments[seg].lengths[col - starts[seg]])
        n_live = len(position)
        if len(segments) > len(self.segments):
            new = segments[-1]
            position.update(zip(new.ids, range(int(starts[-1]), int(starts[-1]) + new.size), strict=True))
            n_live, total = len(position), total + int(new.lengths.sum())
        return Snapshot(token, fingerprint, dict(articles), tuple(segments), tuple(lives), position, n_live, total)

    @property
    def avg_length(self) -> float:
        return self.total_length / self.n_live if self.n_live else 0.0

    def owners(self) -> tuple[np.ndarray, tuple[str, ...]]:
        """The article of every column (an index into the tuple of article ids; -1 for a dead
        chunk), built once per snapshot: full-text search counts articles, not chunks."""
        if "owners" not in self._memo:
            versions = {version: aid for aid, (version, _) in self.articles.items()}
            ids = tuple(sorted(self.articles))
            place = {aid: i for i, aid in enumerate(ids)}
            owners = np.full(sum(s.size for s in self.segments), -1, dtype=np.int64)
            for cid, col in self.position.items():
                aid = versions.get(cid.rsplit("-", 1)[0])
                if aid is not None:
                    owners[col] = place[aid]
            self._memo["owners"] = (owners, ids)
        return self._memo["owners"]

    def df(self, term: str) -> int:
        if term not in self._df:
            count = 0
            for segment, live in zip(self.segments, self.lives, strict=True):
                postings = segment.postings(term)
                if postings is not None:
                    count += int(live[postings[0]].sum())
            self._df[term] = count
        return self._df[term]


class LexicalIndex:
    def __init__(self, *, directory: Path, store: VectorStore, background: bool = True):
        self.directory = Path(directory)
        self.store = store
        self.background = background  # merges in a thread (False: at once, for tests and tools)
        self._lock = threading.RLock()
        self._snapshot = Snapshot("", None, {})
        self._merging: threading.Thread | None = None
        self.rebuilds = 0  # full builds by this process (the first build, or a lost index)
        self.last_update: dict = {}  # what the last ``ensure`` did: added, removed, seconds

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    # ------------------------------------------------------------------------------ updates

    @contextlib.contextmanager
    def updating(self) -> Iterator[None]:
        """Held by a writer of this process from before it commits rows until its ``ensure`` has
        indexed them: a reader (``ensure(wait=False)``) that sees the rows meanwhile, say on its
        periodic re-read of the catalog, searches the index before them instead of indexing a huge
        article itself while a question waits."""
        with self._lock:
            yield

    def ensure(self, catalog, *, wait: bool = True) -> bool:
        """Make the index match ``catalog`` (an ``index.catalog.Catalog``: fingerprint + records);
        True once it does. With ``wait=False`` (a reader), while another thread or process is
        updating the index, return False at once instead of waiting for it: the reader searches
        the state before that update, whole, a moment old (an index with nothing yet is waited for)."""
        if self._snapshot.fingerprint == catalog.fingerprint:
            return True
        wait = wait or not self._snapshot.segments
        if not self._lock.acquire(blocking=wait):
            return False
        try:
            with self._file_lock(wait=wait) as held:
                if not held:
                    return False
                started = time.perf_counter()
                snap = self._adopt_disk()
                if snap.fingerprint != catalog.fingerprint:
                    snap = self._apply(snap, catalog)
                self._snapshot = snap
                self.last_update = {**self.last_update, "seconds": time.perf_counter() - started}
        finally:
            self._lock.release()
        self._maybe_merge()
        return True

    def _apply(self, snap: Snapshot, catalog) -> Snapshot:
        want = {aid: (r.version, r.n_chunks) for aid, r in catalog.articles.items()}
        gone = [aid for aid, held in snap.articles.items() if want.get(aid) != held]
        new = [aid for aid, wanted in want.items() if snap.articles.get(aid) != wanted]
        full = not snap.segments
        lives = list(snap.lives)
        articles = dict(snap.articles)
        killed: list[str] = []
        for aid in gone:
            version, n = articles.pop(aid)
            killed += [f"{version}-{i:04d}" for i in range(n)]
        self._kill(snap, lives, killed)
        segments = list(snap.segments)
        added = 0
        if new:
            chunks = self._read_chunks(catalog, new)
            segment = Segment.build(f"s{time.time_ns()}-{uuid.uuid4().hex[:6]}", [c.id for c in chunks],
                                    [analyze(c.text) for c in chunks], SentenceTable.build(chunks))
            segment.save(self._ensure_dir())
            segments.append(segment)
            lives.append(np.ones(segment.size, dtype=bool))
            articles.update({aid: want[aid] for aid in new})
            added = segment.size
        token = self._write(catalog.fingerprint, articles, segments, lives)
        self.last_update = {"added_chunks": added, "removed_articles": len(gone), "added_articles": len(new)}
        if full:
            self.rebuilds += 1 if new else 0
            self._sweep({s.name for s in segments})
            return Snapshot.of(token, catalog.fingerprint, articles, segments, lives)
        return snap.changed(token, catalog.fingerprint, articles, killed, segments, lives)

    @staticmethod
    def _kill(snap: Snapshot, lives: list[np.ndarray], chunk_ids: Sequence[str]) -> None:
        """Clear the live bits of ``chunk_ids`` in copies of the masks (the old ones stay intact)."""
        starts = np.cumsum([0] + [s.size for s in snap.segments])
        copied: set[int] = set()
        for cid in chunk_ids:
            col = snap.position.get(cid)
            if col is None:
                continue
            seg = int(np.searchsorted(starts, col, side="right") - 1)
            if seg not in copied:
                lives[seg] = lives[seg].copy()
                copied.add(seg)
            lives[seg][col - starts[seg]] = False

    def _read_chunks(self, catalog, article_ids: list[str]) -> list[ChunkRecord]:
        wanted = catalog.chunk_ids(article_ids)
        out = []
        for lo in range(0, len(wanted), _READ_PAGE):
            found = self.store.get_chunks(wanted[lo:lo + _READ_PAGE])
            out += [found[cid] for cid in wanted[lo:lo + _READ_PAGE] if cid in found]
        return out

    # ------------------------------------------------------------------------------ disk

    def _ensure_dir(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory

    @contextlib.contextmanager
    def _file_lock(self, *, wait: bool = True) -> Iterator[bool]:
        """The lock every process using the index takes to change it; yields False, without
        it, when ``wait`` is False and another process holds it."""
        self._ensure_dir()
        with open(self.directory / ".lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _write(self, fingerprint, articles, segments, lives) -> str:
        token = uuid.uuid4().hex
        manifest = {"format": _FORMAT, "analyzer": ANALYZER, "token": token, "fingerprint": fingerprint,
                    "articles": {aid: list(held) for aid, held in articles.items()},
                    "segments": [{"name": s.name, "dead": np.flatnonzero(~live).tolist()}
                                 for s, live in zip(segments, lives, strict=True)]}
        partial = self._ensure_dir() / f".{_MANIFEST}.{os.getpid()}"
        partial.write_text(json.dumps(manifest))
        os.replace(partial, self.directory / _MANIFEST)
        return token

    def _adopt_disk(self) -> Snapshot:
        """The state on disk, reusing the segments already in memory; empty when there is none
        (or it is unreadable, or of an older format: then the next update rebuilds it)."""
        current = self._snapshot
        try:
            manifest = json.loads((self.directory / _MANIFEST).read_text())
        except (OSError, ValueError):
            return Snapshot("", None, {})
        if manifest.get("format") != _FORMAT or manifest.get("analyzer") != ANALYZER:
            return Snapshot("", None, {})  # an older layout, or words analysed another way: rebuild
        if manifest["token"] == current.token:
            return current
        loaded = {s.name: s for s in current.segments}
        segments, lives = [], []
        try:
            for entry in manifest["segments"]:
                segment = loaded.get(entry["name"]) or Segment.load(self.directory, entry["name"])
                live = np.ones(segment.size, dtype=bool)
                live[entry["dead"]] = False
                segments.append(segment)
                lives.append(live)
        except (OSError, ValueError, KeyError):
            return Snapshot("", None, {})
        articles = {aid: (held[0], held[1]) for aid, held in manifest["articles"].items()}
        return Snapshot.of(manifest["token"], manifest["fingerprint"], articles, segments, lives)

    def _sweep(self, keep: Collection[str]) -> None:
        """Delete segment files no manifest names (merged away, or left by a crash), and the
        index of the format before segments."""
        shutil.rmtree(self.directory / "bm25", ignore_errors=True)
        for path in self.directory.glob("*.npz"):
            if path.stem not in keep:
                path.unlink(missing_ok=True)
        for path in self.directory.glob(".*.npz"):
            if time.time() - path.stat().st_mtime > 3600:
                path.unlink(missing_ok=True)

    # ------------------------------------------------------------------------------ merging

    def merge_plan(self, snap: Snapshot) -> list[str]:
        """Names of the segments to merge now: ``MERGE_FACTOR`` of one size class (sizes within a
        factor ``MERGE_FACTOR`` of each other), or one with too many dead chunks."""
        classes: dict[int, list[str]] = {}
        for segment, live in zip(snap.segments, snap.lives, strict=True):
            alive = int(live.sum())
            if segment.size and (segment.size - alive) / segment.size > MAX_DEAD:
                return [segment.name]
            level = int(np.log(max(alive, 1)) / np.log(MERGE_FACTOR))
            classes.setdefault(level, []).append(segment.name)
        for names in classes.values():
            if len(names) >= MERGE_FACTOR:
                return names
        return []

    def _maybe_merge(self) -> None:
        if self._merging is not None and self._merging.is_alive():
            return
        if not self.merge_plan(self._snapshot):
            return
        if not self.background:
            self.merge_now()
            return
        self._merging = threading.Thread(target=self.merge_now, name="bm25-merge", daemon=True)
        self._merging.start()

    def wait_merges(self) -> None:
        if self._merging is not None:
            self._merging.join()

    def merge_now(self) -> None:
        """Merge until the plan is empty. The merge itself runs outside the locks, on a snapshot;
        chunks deleted meanwhile are carried over when the result is installed."""
        while True:
            base = self._snapshot
            names = self.merge_plan(base)
            if not names:
                return
            chosen = [(s, live) for s, live in zip(base.segments, base.lives, strict=True) if s.name in names]
            merged = Segment.merge(f"m{time.time_ns()}-{uuid.uuid4().hex[:6]}", chosen)
            with self._lock, self._file_lock():
                snap = self._adopt_disk()
                present = {s.name: live for s, live in zip(snap.segments, snap.lives, strict=True)}
                if not all(name in present for name in names):
                    return  # another process merged or rebuilt them first
                merged.save(self._ensure_dir())
                still = np.array([present[s.name][i] for s, live in chosen for i in np.flatnonzero(live)],
                                 dtype=bool)
                segments, lives, placed = [], [], False
                for segment, live in zip(snap.segments, snap.lives, strict=True):
                    if segment.name in names:
                        if not placed and merged.size:
                            segments.append(merged)
                            lives.append(still)
                            placed = True
                        continue
                    segments.append(segment)
                    lives.append(live)
                token = self._write(snap.fingerprint, snap.articles, segments, lives)
                self._snapshot = Snapshot.of(token, snap.fingerprint, snap.articles, segments, lives)
                self._sweep({s.name for s in segments})

    # ------------------------------------------------------------------------------ queries

    def search(self, query: str, k: int, allowed: Collection[str] | None = None) -> list[tuple[str, float]]:
        """Top ``k`` chunks as ``(chunk_id, bm25 score)``, score > 0, within ``allowed`` if given."""
        snap = self._snapshot  # one state for the whole query
        scores = score(snap.segments, snap.lives, analyze(query), n_live=snap.n_live,
                       avg_length=snap.avg_length)
        if scores is None:
            return []
        if allowed is not None:
            mask = np.zeros(len(scores), dtype=bool)
            mask[[snap.position[c] for c in allowed if c in snap.position]] = True
            scores = np.where(mask, scores, 0.0)
        hits = np.flatnonzero(scores > 0)
        top = hits[np.argsort(-scores[hits], kind="stable")[:k]]  # ties: earlier column first
        ids = _Columns(snap)
        return [(ids[i], float(scores[i])) for i in top]

    def articles_with(self, terms: Sequence[str]) -> set[str]:
        """Ids of the articles whose live chunks hold every one of ``terms`` (analysed terms;
        several chunks of one article may share them out)."""
        snap = self._snapshot
        owners, ids = snap.owners()
        found: set[int] | None = None
        for term in dict.fromkeys(terms):
            columns, base = [], 0
            for segment, live in zip(snap.segments, snap.lives, strict=True):
                postings = segment.postings(term)
                if postings is not None:
                    docs = postings[0]
                    columns.append(docs[live[docs]].astype(np.int64) + base)
                base += segment.size
            held = set(np.unique(owners[np.concatenate(columns)]).tolist()) if columns else set()
            held.discard(-1)
            found = held if found is None else found & held
            if not found:
                return set()
        return {ids[i] for i in found or ()}

    def best_chunks(self, query: str, article_ids: Collection[str]) -> dict[str, tuple[str, float]]:
        """For each of ``article_ids`` holding a term of ``query``: its chunk of highest BM25 score
        for the query, and that score (how well the article matches)."""
        snap = self._snapshot
        scores = score(snap.segments, snap.lives, analyze(query), n_live=snap.n_live, avg_length=snap.avg_length)
        if scores is None or not article_ids:
            return {}
        owners, ids = snap.owners()
        place = {aid: i for i, aid in enumerate(ids)}
        wanted = np.zeros(len(ids) + 1, dtype=bool)
        wanted[[place[a] for a in article_ids if a in place]] = True
        hits = np.flatnonzero((scores > 0) & wanted[owners])
        best: dict[int, int] = {}
        for col in hits[np.argsort(-scores[hits], kind="stable")].tolist():
            best.setdefault(int(owners[col]), col)
        columns = _Columns(snap)
        return {ids[a]: (columns[col], float(scores[col])) for a, col in best.items()}

    def best_sentences(self, vectors: np.ndarray, pools: Sequence[Sequence[str]]) -> list[list[tuple[str, float]]]:
        """For each row of ``vectors`` (unit query vectors) and its pool of chunk ids, those
        chunks as ``(chunk_id, cosine of their closest sentence)``, best first; a chunk stored
        without sentences is left out. All pools are scored in one product."""
        held: dict[str, int] = {}  # chunk id -> its place among the chunks with sentences
        blocks, counts = [], []
        for table, chunks, rows, sizes in _sentence_rows(self._snapshot, (c for pool in pools for c in pool)):
            if len(rows):
                blocks.append(table.vectors(rows))
            for (cid, _), size in zip(chunks, sizes.tolist(), strict=True):
                if size:
                    held[cid] = len(held)
                    counts.append(size)
        if not held:
            return [[] for _ in pools]
        # sentences x queries; einsum, not a BLAS product: OpenBLAS would wake its threads for this
        # small product and leave them spinning against the encoder and the parser (measured: +40% CPU)
        scores = np.einsum("ij,kj->ik", np.concatenate(blocks), np.asarray(vectors, dtype=np.float32))
        bounds = np.concatenate([[0], np.cumsum(counts)[:-1]])
        best = np.maximum.reduceat(scores, bounds, axis=0)  # chunks x queries
        out = []
        for j, pool in enumerate(pools):
            ranked = [(cid, float(best[held[cid], j])) for cid in dict.fromkeys(pool) if cid in held]
            out.append(sorted(ranked, key=lambda pair: -pair[1]))
        return out

    def stored_sentences(self, places: Sequence[tuple[str, int]]) -> dict[tuple[str, int], tuple[np.ndarray, str]]:
        """The vector and facts JSON stored for each ``(chunk_id, sentence start)``; a place the
        snapshot does not hold (a chunk stored without sentences, or gone) is left out."""
        wanted = set(places)
        out = {}
        for table, chunks, rows, sizes in _sentence_rows(self._snapshot, (cid for cid, _ in places)):
            owners = np.repeat(np.arange(len(chunks)), sizes)
            found = [(i, row) for i, row, start in zip(owners.tolist(), rows.tolist(), table.starts[rows].tolist(),
                                                      strict=True) if (chunks[i][0], start) in wanted]
            if not found:
                continue
            vectors = table.vectors(np.array([row for _, row in found], dtype=np.int64))
            for (i, row), vector in zip(found, vectors, strict=True):
                out[(chunks[i][0], int(table.starts[row]))] = (vector, table.facts_of(row))
        return out

    def idf(self, term: str) -> float:
        """BM25's idf of an analysed term (0 for unknown terms); used to weight lexical overlap."""
        snap = self._snapshot
        df = snap.df(term)
        return idf(df, snap.n_live) if df and snap.n_live else 0.0

    @property
    def size(self) -> int:
        return self._snapshot.n_live

    def stats(self) -> dict:
        snap = self._snapshot
        return {"chunks": snap.n_live, "segments": len(snap.segments),
                "dead": sum(s.size for s in snap.segments) - snap.n_live}


def _sentence_rows(snap: Snapshot, chunk_ids: Iterable[str]
                   ) -> Iterator[tuple[SentenceTable, list[tuple[str, int]], np.ndarray, np.ndarray]]:
    """For each segment holding some of ``chunk_ids`` (each taken once, in order): its sentence
    table, those chunks as ``(chunk_id, column)``, their sentence rows and how many each has."""
    for seg, chunks in _Columns(snap).by_segment(dict.fromkeys(chunk_ids)).items():
        table = snap.segments[seg].sentences
        rows, sizes = table.rows_of(np.array([col for _, col in chunks], dtype=np.int64))
        yield table, chunks, rows, sizes


class _Columns:
    """The columns of a snapshot (they run through the segments in order): the chunk id of one,
    and the segment and column within it of a chunk id."""

    def __init__(self, snap: Snapshot):
        self.snap = snap
        self.starts = np.cumsum([0] + [s.size for s in snap.segments])

    def __getitem__(self, col: int) -> str:
        seg = int(np.searchsorted(self.starts, col, side="right") - 1)
        return self.snap.segments[seg].ids[col - self.starts[seg]]

    def by_segment(self, chunk_ids: Iterable[str]) -> dict[int, list[tuple[str, int]]]:
        """The chunks the snapshot holds, as ``(chunk_id, column in its segment)`` by segment, in order."""
        out: dict[int, list[tuple[str, int]]] = {}
        for cid in chunk_ids:
            found = self.locate(cid)
            if found is not None:
                out.setdefault(found[0], []).append((cid, found[1]))
        return out

    def locate(self, chunk_id: str) -> tuple[int, int] | None:
        col = self.snap.position.get(chunk_id)
        if col is None:
            return None
        seg = int(np.searchsorted(self.starts, col, side="right") - 1)
        return seg, col - int(self.starts[seg])

