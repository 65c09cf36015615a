"""The indexed news library: ingest, sync, list and remove articles, keeping the index consistent.

Ingestion is incremental and keyed on content: an article's id is the hash of its body and its
*version* the hash of body, metadata, chunking and model. Re-ingesting an unchanged article writes
nothing; a changed article (same key: URL, else path) replaces exactly its own chunks; an identical
text under another key is stored once with both origins recorded.

Crash safety comes from the write order (chunks, then the article row; deletes the other way
round) plus ``repair``, which removes what an interrupted run left half-done: the run after one
finds its journal file and repairs first. Ingests into one data directory are serialized by a file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from index.articles import Article, InputError, expand_paths, load_file
from index.browse import ArticlePage, ArticleQuery, Listing
from index.chunking import Chunker
from index.embedding import PRECISION, Embedder, make_embedder, resolve_backend, resolve_model_path
from index.errors import ConfigError, NotFoundError
from index.language import ANNOTATOR_VERSION, Facts, annotate, name_index
from index.lexical import LexicalIndex
from index.quantized import pack
from index.settings import IndexSettings
from index.store import (
    ArticleRecord,
    ChunkRecord,
    Store,
    VectorStore,
    chunk_id,
    fingerprint,
    recorded_precision,
)
from index.vectors import chunk_vectors, in_chunk, sentence_spans

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger("newsrag.index")

_FLUSH_BATCHES = 4  # embed this many model batches of chunks at once, across articles
_SENTENCES = "sentences-v3"  # sentence vectors (read in their chunks) and facts stored with every version
_MAX_VERSIONS = 100  # how far a chain of earlier versions is followed


@dataclass(frozen=True)
class Progress:
    articles_done: int
    articles_total: int
    chunks_done: int
    chunks_total: int
    current: str = ""  # the article just written
    path: str = ""  # the file it came from
    # sentences embedded and annotated (each sentence is, before its chunks are embedded)
    sentences_done: int = 0
    sentences_total: int = 0

    def counts(self) -> dict[str, int]:
        """What a job reports: every count, without the article being written."""
        return {k: v for k, v in asdict(self).items() if isinstance(v, int)}


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    removed: int = 0
    failures: list[str] = field(default_factory=list)
    chunks_written: int = 0
    seconds: float = 0.0
    articles: list[dict] = field(default_factory=list)  # {id, title, status} per article touched
    repaired: dict[str, int] | None = None  # what an interrupted earlier write left (None: nothing was)

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        parts = [f"{self.added} added", f"{self.updated} updated", f"{self.unchanged} unchanged"]
        if self.duplicates:
            parts.append(f"{self.duplicates} duplicate{'s' if self.duplicates != 1 else ''} stored once")
        if self.removed:
            parts.append(f"{self.removed} removed")
        parts.append(f"{self.failed} failed")
        rate = f", {self.chunks_written / self.seconds:.1f} chunks/s" if self.chunks_written and self.seconds else ""
        return f"{', '.join(parts)} ({self.chunks_written} chunks written in {self.seconds:.1f} s{rate})"

    def to_dict(self) -> dict:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "duplicates": self.duplicates, "removed": self.removed, "failed": self.failed,
                "failures": self.failures, "chunks_written": self.chunks_written,
                "seconds": round(self.seconds, 3), "articles": self.articles}


@dataclass(frozen=True)
class Catalog:
    """A snapshot of the committed articles (metadata only), named by its fingerprint."""

    fingerprint: str
    articles: dict[str, ArticleRecord]

    def chunk_ids(self, article_ids: Iterable[str]) -> list[str]:
        return [chunk_id(self.articles[a].version, i) for a in article_ids if a in self.articles
                for i in range(self.articles[a].n_chunks)]

    @cached_property
    def by_version(self) -> dict[str, ArticleRecord]:
        return {r.version: r for r in self.articles.values()}

    def article_of(self, chunk: str) -> ArticleRecord | None:
        """The committed article a chunk id belongs to (ids are ``<version>-<index>``)."""
        return self.by_version.get(chunk.rsplit("-", 1)[0])

    @cached_property
    def newest(self) -> str | None:
        """The publication date of the newest article ("last week" in a question counts back from it)."""
        return max((r.published_at[:10] for r in self.articles.values() if r.published_at), default=None)

    @cached_property
    def outlets(self) -> list[str]:
        return sorted({s for r in self.articles.values() for s in r.sources})

    @cached_property
    def stories(self) -> dict[str, list[ArticleRecord]]:
        """Story id -> its articles (syndicated copies of one story), oldest first."""
        found: dict[str, list[ArticleRecord]] = defaultdict(list)
        for record in self.articles.values():
            found[record.story_id].append(record)
        for members in found.values():
            members.sort(key=lambda r: (r.published_ts or 0, r.id))
        return dict(found)

    def story_of(self, article_id: str) -> str:
        record = self.articles.get(article_id)
        return record.story_id if record is not None else "s" + article_id.removeprefix("a")


@dataclass
class _Write:
    """One article to (re)write: its primary article, all its origins, the record it replaces."""

    article: Article
    origins: list[dict]
    existing: ArticleRecord | None
    chunks: list[ChunkRecord] = field(default_factory=list)
    sentences: list[tuple[int, int]] = field(default_factory=list)  # every sentence of the chunks once
    record: ArticleRecord | None = None
    story: str | None = None  # index.stories: its story, and its signature
    minhash: str | None = None


def _with_sentences(chunks: list[ChunkRecord], spans: list[tuple[int, int]], vectors, facts: list[str],
                    pooled: Sequence[Sequence[np.ndarray | None]] | None = None) -> list[ChunkRecord]:
    """The chunks, each holding the vectors and facts of its sentences (``spans`` lists an
    article's sentences once, in the order of ``vectors`` and ``facts``); ``pooled``: each chunk's
    sentences read in it, in its order, when the chunks were encoded (``index.vectors.in_chunk``)."""
    row = {span: i for i, span in enumerate(spans)}
    out = []
    for k, chunk in enumerate(chunks):
        rows = [row[tuple(span)] for span in chunk.sentences]
        own = vectors[rows] if pooled is None else in_chunk(vectors[rows], pooled[k])
        out.append(replace(chunk, vectors=pack(own), facts="\n".join(facts[i] for i in rows)))
    return out


def _origin(article: Article) -> dict:
    return {"key": article.key, "origin": article.origin, "path": article.path,
            "title": article.title, "source": article.source}


class Library:
    """Everything that reads or writes the index goes through one of these."""

    def __init__(self, settings: IndexSettings, *, embedder: Embedder | None = None,
                 check_every: float | None = None,
                 annotator: Callable[[Sequence[str]], list[Facts]] | None = None):
        self.settings = settings
        self._embedder = embedder
        # what finds each sentence's entities and figures at ingest (spaCy's; the scale benchmark
        # passes one that remembers the sentences of its recombined corpus)
        self.annotate = annotator or annotate
        # Seconds between full re-reads of the catalog when no write was signalled. Writers on this
        # data directory signal theirs through a marker file (``mark_changed``), so the catalog is
        # re-read at once after them; other writers of a Chroma server cannot, hence the shorter default.
        self.check_every = (2.0 if settings.chroma_url else 60.0) if check_every is None else check_every
        self._catalog_token: str | None = None
        self._catalog: Catalog | None = None
        self._catalog_at = 0.0
        self._catalog_lock = threading.Lock()
        self._listing: tuple[str, Listing] | None = None
        self._held = threading.RLock()  # this process's hold of the ingest lock
        self._depth = 0

    @cached_property
    def embedder(self) -> Embedder:
        if self._embedder is not None:
            return self._embedder
        backend = self.settings.embed_backend
        if backend == "auto":
            backend = self._index_backend()
        return make_embedder(model=self.settings.embed_model, batch_size=self.settings.embed_batch_size,
                             backend=backend, cache_dir=self.settings.model_path)

    def _index_backend(self) -> str:
        """What ``auto`` means here: its choice (``resolve_backend``), unless the index was built in
        the other precision — then the index's, so that an index built before int8 became the
        default, or with another backend, keeps answering (its vectors and the question's must be
        of one precision)."""
        chosen = resolve_backend("auto", resolve_model_path(self.settings.embed_model))
        recorded = recorded_precision(self.settings)
        if recorded is None or recorded == PRECISION[chosen]:
            return chosen
        log.warning("The index '%s' at %s holds %s vectors; auto would embed in %s: embedding in %s "
                    "(NEWSRAG_EMBED_BACKEND=%s and a new collection to change).", self.settings.collection,
                    self.settings.chroma_url or self.settings.chroma_path, recorded, PRECISION[chosen],
                    recorded, chosen)
        return f"onnx-{recorded}"

    @cached_property
    def store(self) -> VectorStore:
        store = Store(settings=self.settings, embed_model=self.embedder.name, embed_precision=self.embedder.precision)
        if store.outdated():  # an index of an earlier layout: upgraded once, before anything reads it
            with self._ingest_lock():
                store.upgrade()
        return store

    @cached_property
    def lexical(self) -> LexicalIndex:
        return LexicalIndex(directory=self.settings.lexical_path, store=self.store)

    @cached_property
    def chunker(self) -> Chunker:
        return Chunker(counter=self.embedder, max_tokens=self.settings.chunk_tokens,
                       overlap=self.settings.chunk_overlap)

    # ------------------------------------------------------------------------------- reading

    def catalog(self, *, fresh: bool = False) -> Catalog:
        """The committed articles, re-read from the store after a signalled write (by any process
        on this data directory) or at most every ``check_every`` seconds."""
        with self._catalog_lock:
            token = self._marker_token()
            if (fresh or self._catalog is None or token != self._catalog_token
                    or time.monotonic() - self._catalog_at >= self.check_every):
                records = self.store.list_articles()
                current = fingerprint(records)
                if self._catalog is None or self._catalog.fingerprint != current:
                    self._catalog = Catalog(current, {r.id: r for r in records})
                self._catalog_at, self._catalog_token = time.monotonic(), token
            return self._catalog

    @property
    def _marker(self) -> Path:
        return self.settings.home / f"changed-{self.settings.collection}"

    def _marker_token(self) -> str | None:
        try:
            return self._marker.read_text()
        except OSError:
            return None

    def mark_changed(self) -> None:
        """Tell every reader of this data directory that the catalog changed (after a commit)."""
        with contextlib.suppress(OSError):  # readers then notice within check_every
            partial = self._marker.with_name(self._marker.name + ".part")
            partial.write_text(f"{time.time_ns()}-{os.getpid()}")
            partial.replace(self._marker)

    def search_index(self) -> tuple[Catalog, LexicalIndex]:
        """The catalog and a BM25 index built from the same store content."""
        catalog = self.catalog()
        self.lexical.ensure(catalog)
        return catalog, self.lexical

    def nearest_chunks(self, vectors: np.ndarray, k: int, article_ids: Sequence[str] | None = None
                       ) -> list[list[tuple[str, float]]]:
        """For each row of ``vectors``, the ``k`` nearest chunks as ``(chunk_id, cosine)``, best
        first, within the chunks of ``article_ids`` when given (one round trip to the store)."""
        return self.store.query(vectors, k, article_ids)

    def chunks(self, ids: Sequence[str]) -> dict[str, ChunkRecord]:
        """The stored chunks of ``ids`` that exist, by id."""
        return self.store.get_chunks(ids)

    @property
    def where(self) -> str:
        """Where the index is, for messages: the data directory or the server's address."""
        return self.store.where

    def articles(self) -> list[ArticleRecord]:
        """Every indexed article (without bodies), newest first, then by title."""
        records = self.store.list_articles()
        return sorted(records, key=lambda r: (-(r.published_ts or 0), r.display_title.lower()))

    def listing(self) -> Listing:
        """The catalog sorted and keyed for browsing, rebuilt only when the catalog changes."""
        catalog = self.catalog()
        with self._catalog_lock:
            if self._listing is None or self._listing[0] != catalog.fingerprint:
                self._listing = (catalog.fingerprint, Listing(catalog.articles.values()))
            return self._listing[1]

    def browse(self, query: ArticleQuery) -> ArticlePage:
        """One page of the articles matching ``query`` (see ``index.browse``)."""
        return self.listing().page(query)

    def article(self, article_id: str) -> ArticleRecord:
        """An indexed article, or an earlier version of one (``superseded_by`` set)."""
        try:
            return self.store.get_article(article_id)
        except NotFoundError:
            earlier = self.store.get_version(article_id)
            if earlier is None:
                raise
            return earlier

    def versions(self, article_id: str) -> dict:
        """Where an article stands among its versions: ``{"number", "previous", "current"}``
        (``current`` is the id of the indexed version, None when it was removed since)."""
        earlier, seen, frontier = 0, {article_id}, [article_id]
        previous = [r.id for r in self.store.versions_superseded_by(article_id)]
        while frontier and earlier < _MAX_VERSIONS:
            found = [r.id for aid in frontier for r in self.store.versions_superseded_by(aid)
                     if r.id not in seen]
            seen.update(found)
            frontier = found
            earlier += bool(found)
        current, hops, live = article_id, 0, self.catalog().articles
        while hops < _MAX_VERSIONS:
            if current in live:
                break
            record = self.store.get_version(current)
            if record is None or record.superseded_by is None:
                current = None
                break
            current, hops = record.superseded_by, hops + 1
        return {"number": earlier + 1, "previous": previous, "current": current}

    def stats(self) -> dict:
        counts = self.store.counts()
        return {**counts, "collection": self.settings.collection, "store": self.store.where,
                "embed_model": self.embedder.name, "embed_backend": self.embedder.backend,
                "embed_precision": self.embedder.precision,
                "chunk_tokens": self.chunker.max_tokens,
                "chunk_overlap": self.chunker.overlap}

    # ------------------------------------------------------------------------------- writing

    def ingest(self, paths: Iterable[str | Path], *,
               progress: Callable[[Progress], None] | None = None) -> IngestReport:
        """Add or update the articles under ``paths``; bad files are reported, never fatal."""
        return self._run(list(paths), progress=progress, mirror=None)

    def sync(self, folder: str | Path, *, progress: Callable[[Progress], None] | None = None) -> IngestReport:
        """Make the index mirror ``folder``: add new files, update changed ones, and remove
        articles whose files under it are gone (files that now fail to load are kept)."""
        folder = Path(folder)
        if not folder.is_dir():
            raise ConfigError(f"{folder} is not a folder: `newsrag sync` mirrors a folder of articles.")
        return self._run([folder], progress=progress, mirror=folder.resolve())

    def remove(self, article_id: str) -> ArticleRecord:
        """Delete an article, and its earlier versions with it."""
        return self.remove_many([article_id])[0]

    def remove_many(self, article_ids: Iterable[str]) -> list[ArticleRecord]:
        """Delete articles and their earlier versions under one lock, with one update of the BM25
        index; an unknown id fails before anything is removed."""
        ids = list(dict.fromkeys(article_ids))
        with self._ingest_lock(), self._writing():
            records = [self.store.get_article(a) for a in ids]
            for record in records:
                self.store.delete_article(record.id)
                earlier, frontier = set(), [record.id]
                while frontier and len(earlier) < _MAX_VERSIONS:
                    frontier = [r.id for aid in frontier for r in self.store.versions_superseded_by(aid)
                                if r.id not in earlier and r.id != record.id]
                    earlier.update(frontier)
                self.store.delete_versions(sorted(earlier))
            self.mark_changed()
        self.lexical.ensure(self.catalog(fresh=True))
        return records

    def repair(self) -> dict[str, int]:
        """Remove what an interrupted ingest left behind; returns what was fixed."""
        records = {r.id: r for r in self.store.list_articles()}
        fixed = {"orphan_chunks": 0, "duplicate_keys": 0, "incomplete_articles": 0}
        owners: dict[str, list[ArticleRecord]] = defaultdict(list)
        for record in records.values():
            for key in record.keys:
                owners[key].append(record)
        for key, holders in owners.items():
            if len(holders) < 2:
                continue
            keep = max(holders, key=lambda r: r.ingested_at)
            for holder in holders:
                if holder.id != keep.id and records[holder.id] is not None:
                    records[holder.id] = self._drop_key(records[holder.id], key, superseded_by=keep.id)
                    fixed["duplicate_keys"] += 1
        live = {i: r for i, r in records.items() if r is not None}
        stale, counts = [], defaultdict(int)
        for cid, aid, version in self.store.chunk_versions():
            record = live.get(aid)
            if record is None or record.version != version:
                stale.append(cid)
            else:
                counts[aid] += 1
        self.store.delete_chunks(stale)
        fixed["orphan_chunks"] = len(stale)
        for aid, record in live.items():
            if counts[aid] != record.n_chunks:
                self.store.delete_article(aid)
                fixed["incomplete_articles"] += 1
        return fixed

    # ----------------------------------------------------------------------------- internals

    @contextlib.contextmanager
    def _ingest_lock(self) -> Iterator[None]:
        """The data directory's ingest lock, across processes; re-entered by the thread holding it
        (an ingest's first use of the store may upgrade it, under the same lock)."""
        with self._held:
            self._depth += 1
            try:
                if self._depth > 1:
                    yield
                    return
                self.settings.home.mkdir(parents=True, exist_ok=True)
                with open(self.settings.home / f"ingest-{self.settings.collection}.lock", "w") as handle:
                    fcntl.flock(handle, fcntl.LOCK_EX)
                    try:
                        yield
                    finally:
                        fcntl.flock(handle, fcntl.LOCK_UN)
            finally:
                self._depth -= 1

    @contextlib.contextmanager
    def _writing(self) -> Iterator[dict[str, int] | None]:
        """Under the ingest lock, around every write: a journal file says a write is under way,
        and is removed only when it completes. A writer that finds one was interrupted (kill -9,
        Ctrl-C, a store error) repairs first and yields what it fixed. ``repair`` reads every row
        of the store, so a library of any size pays for it only after an interruption, not on
        every upload."""
        journal = self.settings.home / f"writing-{self.settings.collection}"
        repaired = self.repair() if journal.exists() else None
        with open(journal, "w") as handle:
            handle.write(f"{os.getpid()} {time.time():.0f}\n")
            handle.flush()
            os.fsync(handle.fileno())
        yield repaired
        journal.unlink()

    def _version(self, article: Article) -> str:
        model = self.embedder.name
        if self.settings.chunk_vectors != "encode":
            model += f"/{self.settings.chunk_vectors}"
        payload = json.dumps([article.body, sorted(article.metadata().items()), self.chunker.signature,
                              model, _SENTENCES, ANNOTATOR_VERSION], ensure_ascii=False)
        return "v" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:15]

    def _drop_key(self, record: ArticleRecord, key: str, *, superseded_by: str | None = None
                  ) -> ArticleRecord | None:
        """Remove one origin from a record; delete the article when none is left. An article
        replaced by another (``superseded_by``) is kept as an earlier version first, so what was
        quoted from it can still be read."""
        remaining = [o for o in record.origins if o["key"] != key]
        if remaining:
            return self.store.update_origins(record, remaining)
        if superseded_by is not None and superseded_by != record.id:
            self.store.archive_article(record.id, superseded_by=superseded_by, at=time.time())
        self.store.delete_article(record.id)
        return None

    def _run(self, paths: list[str | Path], *, progress, mirror: Path | None) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        loaded: list[Article] = []
        failed_paths: set[str] = set()
        for item in expand_paths(paths):
            if isinstance(item, InputError):
                report.failures.append(str(item))
                continue
            for result in load_file(item, max_bytes=self.settings.max_file_bytes,
                                    max_articles=self.settings.max_articles_per_file):
                if isinstance(result, InputError):
                    report.failures.append(str(result))
                    failed_paths.add(str(item.resolve()))
                else:
                    loaded.append(result)
        return self._commit(loaded, report, progress=progress, started=started,
                            prune=(mirror, failed_paths) if mirror is not None else None)

    def add(self, articles: Iterable[Article], *, failures: Iterable[str] = (),
            progress: Callable[[Progress], None] | None = None) -> IngestReport:
        """Add or update articles loaded elsewhere (a feed's entries), as ``ingest`` does for
        files: an unchanged article writes nothing, a changed one (same URL) becomes a new
        version. ``failures`` are entries that could not be loaded, reported with the rest."""
        report = IngestReport(failures=list(failures))
        return self._commit(list(articles), report, progress=progress, started=time.perf_counter(), prune=None)

    def _commit(self, loaded: list[Article], report: IngestReport, *, progress, started: float,
                prune: tuple[Path, set[str]] | None) -> IngestReport:
        with self._ingest_lock(), self._writing() as repaired:
            report.repaired = repaired
            records = {r.id: r for r in self.store.list_articles()}
            writes = self._plan(loaded, records, report)
            self._stories(writes, records)
            self._write(writes, records, report, progress)
            if prune is not None:
                self._prune(prune[0], {a.key for a in loaded}, prune[1], records, report)
            self.mark_changed()
        self.lexical.ensure(self.catalog(fresh=True))
        report.seconds = time.perf_counter() - started
        return report

    def _plan(self, loaded: list[Article], records: dict[str, ArticleRecord | None],
              report: IngestReport) -> list[_Write]:
        groups: dict[str, list[Article]] = defaultdict(list)
        for article in loaded:
            if all(a.key != article.key for a in groups[article.id]):
                groups[article.id].append(article)
        owner = {key: r.id for r in records.values() if r for key in r.keys}
        writes: list[_Write] = []
        for aid, arts in groups.items():
            existing = records.get(aid)
            if existing is None:
                first = arts[0]
                status = "updated" if first.key in owner else "added"
                setattr(report, status, getattr(report, status) + 1)
                report.duplicates += len(arts) - 1
                writes.append(_Write(first, [_origin(a) for a in arts], None))
                entry = {"id": aid, "title": first.display_title, "status": status}
                if status == "updated":  # another text held this key: it becomes an earlier version
                    entry["replaces"] = owner[first.key]
                report.articles.append(entry)
                continue
            primary_key = existing.keys[0] if existing.keys else None
            primary = next((a for a in arts if a.key == primary_key), None)
            fresh = [a for a in arts if a.key not in existing.keys]
            if primary is not None and self._version(primary) != existing.version:
                origins = [_origin(primary)] + [o for o in existing.origins if o["key"] != primary.key]
                writes.append(_Write(primary, origins + [_origin(a) for a in fresh], existing))
                report.updated += 1
                report.unchanged += len(arts) - 1 - len(fresh)
                report.articles.append({"id": aid, "title": primary.display_title, "status": "updated"})
            else:
                if fresh:
                    records[aid] = self.store.update_origins(
                        existing, list(existing.origins) + [_origin(a) for a in fresh])
                report.unchanged += len(arts) - len(fresh)
                report.duplicates += len(fresh)
                status = "duplicate" if fresh else "unchanged"
                report.articles.append({"id": aid, "title": existing.display_title, "status": status})
                for article in fresh:  # a rewrite moves its keys itself, once committed
                    self._move_key(article.key, aid, owner, records)
        return writes

    def _stories(self, writes: list[_Write], records: dict[str, ArticleRecord | None]) -> None:
        """Each new text's story (``index.stories``): the story of the text it updates (same key),
        else that of a syndicated copy already indexed (or written before it in this run), else
        its own."""
        if not writes:
            return
        from index.stories import StoryIndex

        live = [r for r in records.values() if r is not None]
        def text_of(aid: str) -> str | None:  # a candidate's text, to count what it shares
            try:
                return self.store.get_article(aid).body
            except NotFoundError:
                return None

        index = StoryIndex(((r.id, r.story_id, r.minhash) for r in live), text_of=text_of)
        owner = {key: r for r in live for key in r.keys}
        for write in writes:
            previous = write.existing or next((owner[o["key"]] for o in write.origins if o["key"] in owner), None)
            write.story, write.minhash = index.assign(write.article.id, write.article.body,
                                                      previous_story=previous.story_id if previous else None)

    def _move_key(self, key: str, new_owner: str, owner: dict[str, str],
                  records: dict[str, ArticleRecord | None]) -> None:
        previous = owner.get(key)
        if previous and previous != new_owner and records.get(previous) is not None:
            records[previous] = self._drop_key(records[previous], key, superseded_by=new_owner)
        owner[key] = new_owner

    def _write(self, writes: list[_Write], records: dict[str, ArticleRecord | None],
               report: IngestReport, progress) -> None:
        for write in writes:
            article = write.article
            version = self._version(article)
            header = self.chunker.header(article.title, article.source, article.published_at)
            write.chunks = [
                ChunkRecord(id=chunk_id(version, c.index), article_id=article.id, version=version,
                            index=c.index, text=c.text, header_len=c.header_len, start=c.start,
                            end=c.end, sentences=c.sentences)
                for c in self.chunker.chunk(article.body, header)]
            write.sentences = sentence_spans(write.chunks)
            write.record = ArticleRecord(id=article.id, version=version, origins=tuple(write.origins),
                                         n_chunks=len(write.chunks), ingested_at=time.time(),
                                         body=article.body, lead=article.lead, story=write.story,
                                         minhash=write.minhash, **article.metadata())
        total = sum(len(w.chunks) for w in writes)
        if not writes:
            return
        n_sentences = sum(len(w.sentences) for w in writes)
        import numpy as np

        done_articles = done_chunks = done_sentences = 0
        _ = self.embedder.dimension  # load the model before the clock of the progress bar starts
        if progress:
            progress(Progress(0, len(writes), 0, total, sentences_total=n_sentences))
        owner = {key: r.id for r in records.values() if r for key in r.keys}
        pending: list[_Write] = []
        for i, write in enumerate(writes):
            pending.append(write)
            flush_at = _FLUSH_BATCHES * self.settings.embed_batch_size
            if sum(len(w.chunks) for w in pending) < flush_at and i < len(writes) - 1:
                continue
            texts = [c.text for w in pending for c in w.chunks]
            # every sentence once, with its own vector and facts: a question embeds only itself
            sentence_texts = [w.record.body[start:end] for w in pending for start, end in w.sentences]
            encode = self.settings.chunk_vectors == "encode"
            at = Progress(done_articles, len(writes), done_chunks, total, write.record.display_title,
                          sentences_done=done_sentences, sentences_total=n_sentences)
            sentence_vectors, facts = self._sentence_work(sentence_texts, flush_at, progress, at)
            done_sentences += len(sentence_texts)
            pooled = None  # each chunk's sentences read in it (``index.vectors.in_chunk``)
            if encode:
                spans = [[(c.header_len + s - c.start, c.header_len + e - c.start) for s, e in c.sentences]
                         for w in pending for c in w.chunks]
                vectors, pooled = self._embed(texts, spans, flush_at, progress,
                                              replace(at, sentences_done=done_sentences))
            else:  # from the sentence vectors just computed: one encoder pass per sentence
                vectors = chunk_vectors(self.embedder, [(w.article.body, w.chunks) for w in pending],
                                        how=self.settings.chunk_vectors, sentence_vectors=sentence_vectors)
            embedded = done_chunks + len(texts)
            bounds = np.cumsum([0] + [len(w.chunks) for w in pending])
            s_bounds = np.cumsum([0] + [len(w.sentences) for w in pending])
            items = []
            for j, w in enumerate(pending):
                own = facts[s_bounds[j]:s_bounds[j + 1]]
                w.record = replace(w.record, names=name_index(own))
                w.chunks = _with_sentences(w.chunks, w.sentences, sentence_vectors[s_bounds[j]:s_bounds[j + 1]],
                                           [f.to_json() for f in own],
                                           pooled[bounds[j]:bounds[j + 1]] if pooled is not None else None)
                items.append((w.record, w.chunks, vectors[bounds[j]:bounds[j + 1]]))
            self.store.write_articles(items)
            for done in pending:
                n = len(done.chunks)
                if done.existing is not None and done.existing.version != done.record.version:
                    old = [chunk_id(done.existing.version, j) for j in range(done.existing.n_chunks)]
                    self.store.delete_chunks(old)
                records[done.record.id] = done.record
                for origin in done.origins:
                    self._move_key(origin["key"], done.record.id, owner, records)
                report.chunks_written += n
                done_articles += 1
                done_chunks += n
                if progress:  # chunks embedded so far never go back
                    progress(Progress(done_articles, len(writes), max(done_chunks, embedded), total,
                                      done.record.display_title, done.article.path, done_sentences, n_sentences))
            pending = []
            self.mark_changed()  # readers see a long ingest grow, batch by batch

    def _sentence_work(self, texts: list[str], step: int, progress, at: Progress):
        """Embed and annotate sentences: one long article (a 9 MB file: 8,000 chunks, 9,000
        sentences) shows progress, and can be stopped, before any of its chunks is embedded."""
        import numpy as np

        done = _in_slices(texts, step, lambda part: (self.embedder.embed(part), self.annotate(part)), progress,
                          lambda n: replace(at, sentences_done=at.sentences_done + n))
        return np.concatenate([v for v, _ in done]), [f for _, facts in done for f in facts]

    def _embed(self, texts: list[str], spans: list[list[tuple[int, int]]], step: int, progress, at: Progress):
        """Embed chunks, and each chunk's sentences (``spans``) pooled in it from the same runs,
        reporting chunks as they are embedded."""
        import numpy as np

        def work(part: list[tuple[str, list[tuple[int, int]]]]):
            return self.embedder.embed_pooled([text for text, _ in part], [own for _, own in part])

        done = _in_slices(list(zip(texts, spans, strict=True)), step, work, progress,
                          lambda n: replace(at, chunks_done=at.chunks_done + n))
        return np.concatenate([vectors for vectors, _ in done]), [own for _, pooled in done for own in pooled]

    def _prune(self, mirror: Path, seen: set[str], failed_paths: set[str],
               records: dict[str, ArticleRecord | None], report: IngestReport) -> None:
        for aid, record in list(records.items()):
            if record is None:
                continue
            record_title = record.display_title
            for origin in list(record.origins):
                path = Path(origin["path"])
                if (origin["key"] not in seen and str(path) not in failed_paths
                        and path.is_relative_to(mirror)):
                    record = self._drop_key(record, origin["key"])
                    if record is None:
                        report.removed += 1
                        report.articles.append({"id": aid, "title": origin["title"] or record_title,
                                                "status": "removed"})
                        break
            records[aid] = record


def _in_slices(texts: list[str], step: int, work: Callable, progress, at: Callable[[int], Progress]) -> list:
    """``work`` over ``texts`` in slices of ``step`` (one slice without ``progress``), reporting
    ``at(texts done)`` after each slice; the job runner checks for a stop request on every report."""
    if len(texts) <= step or progress is None:
        return [work(texts)]
    results = []
    for lo in range(0, len(texts), step):
        part = texts[lo:lo + step]
        results.append(work(part))
        progress(at(lo + len(part)))
    return results
