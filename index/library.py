"""The indexed news library: ingest, sync, list and remove articles, keeping the index consistent.

Ingestion is incremental and keyed on content: an article's id is the hash of its body and its
*version* the hash of body, metadata, chunking and model. Re-ingesting an unchanged article writes
nothing; a changed article (same key: URL, else path) replaces exactly its own chunks; an identical
text under another key is stored once with both origins recorded.

Crash safety comes from the write order (chunks, then the article row; deletes the other way
round) plus ``repair``, which removes what an interrupted run left half-done: the run after one
finds its journal file and repairs first. Ingests into one data directory are serialized by a file lock.

``Library`` is the facade that holds the locks and runs the steps; the steps live by concern:
``index.catalog`` (the committed articles as one snapshot), ``index.ingest_plan`` (what a run
writes: reports, budget, cleaning, cutting, slices, the plan of each text), ``index.ingest_encode``
(embedding and annotating the cut texts), ``index.claims`` (which text holds a key) and
``index.journal`` (the write journal and ``repair``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from index import journal
from index.articles import Article, InputError, expand_paths, load_file
from index.browse import ArticlePage, ArticleQuery, Listing, Match, Overview, best_sentence
from index.catalog import Catalog, origins
from index.chunking import Chunker
from index.claims import claim, move_key, settle
from index.embedding import PRECISION, Embedder, make_embedder, resolve_backend, resolve_model_path
from index.encoder_process import EncoderProcesses
from index.errors import ConfigError, NotFoundError
from index.ingest_encode import encode
from index.ingest_plan import (
    BUDGET,
    FLUSH_BATCHES,
    Budget,
    Cut,
    IngestReport,
    Progress,
    Tally,
    Write,
    clean_loaded,
    cut_all,
    cut_article,
    plan,
    prune_mirror,
    reclean,
    slices,
    stories,
)
from index.language import ANNOTATOR_VERSION, Facts, annotate
from index.lexical import LexicalIndex
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
from index.text import analyze

if TYPE_CHECKING:
    import numpy as np

# What other modules and the tests import from here, defined by concern in the modules above.
__all__ = ["BUDGET", "COMMIT_LEASE", "Budget", "Catalog", "IngestReport", "Library", "Progress", "claim"]

log = logging.getLogger("newsrag.index")

_SENTENCES = "sentences-v3"  # sentence vectors (read in their chunks) and facts stored with every version
_HASHED_PIECE = 200_000  # characters of a body hashed at a time (``_version_of``)
_MAX_VERSIONS = 100  # how far a chain of earlier versions is followed
READER_FIRST = 0.5  # seconds a writer waits at most, before each batch, for the questions being answered
READ_GAP = 0.005  # seconds a writer leaves the interpreter to others before each batch (``_after_readers``)
COMMIT_LEASE = 300.0  # seconds a replica's claim to commit on a Chroma server lasts at most


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
        self._listing: tuple[Catalog, Listing] | None = None
        self._held = threading.RLock()  # this process's hold of the ingest lock
        self._depth = 0
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"  # of store leases
        # set by a server's upload jobs: texts are then encoded in child processes
        # (``index.encoder_process``), so questions answered meanwhile do not wait for the encoder
        self.encoders: EncoderProcesses | None = None
        self._versions: dict[int, tuple[Article, str]] = {}  # ``_version``'s last answers
        self._readers = 0  # questions being answered from this library now (``reading``)
        self._no_readers = threading.Condition()
        self._served = False  # whether anything has read through ``reading`` (a server): writes then leave gaps

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
        store.between_writes = self._after_readers
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

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Around the answer to a question: a writer of this process waits for it before each batch
        it writes (``READER_FIRST``). Chroma on disk holds Python's interpreter lock through a
        write, so a question answered beside a long ingest would otherwise wait behind each batch
        at each step that gives the lock up (the encoder, a query): seconds in all."""
        self.begin_reading()
        try:
            yield
        finally:
            self.end_reading()

    def begin_reading(self) -> None:
        """``reading`` without a block (an HTTP request's middleware); ``end_reading`` once after."""
        with self._no_readers:
            self._readers += 1
            self._served = True

    def end_reading(self) -> None:
        with self._no_readers:
            self._readers -= 1
            if not self._readers:
                self._no_readers.notify_all()

    def _after_readers(self) -> bool:
        """Wait until no question is being answered, at most ``READER_FIRST`` seconds (a stream of
        questions slows an ingest, never stops it); True when none was."""
        if self._served:  # a server's event loop takes in a request that came during the last batch
            time.sleep(READ_GAP)
        with self._no_readers:
            return self._no_readers.wait_for(lambda: not self._readers, timeout=READER_FIRST)

    def catalog(self, *, fresh: bool = False) -> Catalog:
        """The committed articles, re-read from the store after a signalled write (by any process
        on this data directory) or at most every ``check_every`` seconds."""
        with self._catalog_lock:
            token = self._marker_token()
            if (fresh or self._catalog is None or token != self._catalog_token
                    or time.monotonic() - self._catalog_at >= self.check_every):
                records = self.store.list_articles()
                current = fingerprint(records)
                # the origins too (another replica adds a name to an article, or takes one away)
                if self._catalog is None or self._catalog.fingerprint != current or origins(
                        self._catalog.articles.values()) != origins(records):
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
        """The catalog and a BM25 index built from the same store content, or, while a writer is
        still indexing what it just committed, from the content before it (a question is not held
        up by a huge article being indexed; the passages it finds then are the store's all the same)."""
        catalog = self.catalog()
        self.lexical.ensure(catalog, wait=False)
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
            if self._listing is None or self._listing[0] is not catalog:
                self._listing = (catalog, Listing(catalog.articles.values()))
            return self._listing[1]

    def overview(self) -> Overview:
        """What the library holds: outlets with their articles and dates, its span, the newest."""
        return self.listing().overview

    def browse(self, query: ArticleQuery) -> ArticlePage:
        """One page of the articles matching ``query`` (see ``index.browse``): searched in titles,
        outlets and the full text, each article shown with the sentence that matches best."""
        listing = self.listing()
        if not query.q:
            return listing.page(query)
        _, lexical = self.search_index()
        page = listing.page(query, text=lexical)
        wanted = [r.id for r in page.articles if "text" in page.matches[r.id].fields]
        best = lexical.best_chunks(query.q, wanted)
        chunks = self.store.get_chunks(sorted({cid for cid, _ in best.values()}))
        terms = set(analyze(query.q))
        matches = dict(page.matches)
        for aid in wanted:
            chunk = chunks.get(best[aid][0]) if aid in best else None
            found = best_sentence(chunk.body_text, chunk.start, chunk.sentences, terms, lexical.idf) if chunk else None
            if found is None:  # the words are in its header (title, outlet) only
                matches[aid] = Match(tuple(f for f in matches[aid].fields if f != "text"))
                continue
            start, end, marks = found
            matches[aid] = Match(matches[aid].fields, chunk.body_text[start - chunk.start:end - chunk.start],
                                 start, end, marks, chunk.id)
        return replace(page, matches=matches)

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
        with self._journal(), self._ingest_lock():
            records = [self.store.get_article(a) for a in ids]
            for record in records:
                self.store.delete_article(record.id)
                earlier, frontier = set(), [record.id]
                while frontier and len(earlier) < _MAX_VERSIONS:
                    frontier = [r.id for aid in frontier for r in self.store.versions_superseded_by(aid)
                                if r.id not in earlier and r.id != record.id]
                    earlier.update(frontier)
                self.store.delete_versions(sorted(earlier))
                self._note_removed(record, sorted(earlier))
            self.mark_changed()
        self.lexical.ensure(self.catalog(fresh=True))
        return records

    @property
    def _removed_log(self) -> Path:
        return self.settings.home / f"removed-{self.settings.collection}.jsonl"

    def _note_removed(self, record: ArticleRecord, earlier: Sequence[str]) -> None:
        """Remember that an article (and its earlier versions) was removed, so a link to it can say
        so instead of "not found"."""
        line = json.dumps({"ids": [record.id, *earlier], "title": record.display_title, "at": time.time()},
                          ensure_ascii=False)
        with contextlib.suppress(OSError), open(self._removed_log, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def removed(self, article_id: str) -> dict | None:
        """``{"title", "at"}`` of a removed article (or one of its earlier versions), None if it never was."""
        try:
            lines = self._removed_log.read_text(encoding="utf-8").splitlines()
        except OSError:
            return None
        for line in reversed(lines):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if article_id in entry.get("ids", ()):
                return {"title": entry.get("title"), "at": entry.get("at")}
        return None

    def repair(self) -> dict[str, int]:
        """Remove what an interrupted ingest left behind; returns what was fixed (``index.journal``)."""
        return journal.repair(self.store)

    # ----------------------------------------------------------------------------- internals

    @contextlib.contextmanager
    def _ingest_lock(self) -> Iterator[None]:
        """The data directory's ingest lock, across processes; re-entered by the thread holding it
        (an ingest's first use of the store may upgrade it, under the same lock). On a Chroma
        server, shared by replicas with data directories of their own, the store's lease too."""
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
                        with self._store_lease():
                            yield
                    finally:
                        fcntl.flock(handle, fcntl.LOCK_UN)
            finally:
                self._depth -= 1

    @contextlib.contextmanager
    def _store_lease(self) -> Iterator[None]:
        """On a Chroma server, shared by replicas with data directories of their own, the store's
        lock ``ingest-<collection>`` (``Store.acquire``) held while this process commits: two
        replicas writing at the same moment commit one after the other, each planning from what
        the other committed (the same URL is one article with two versions, the same text one
        article with both names). A hold lasts ``COMMIT_LEASE`` seconds at most, so a replica that
        died holding it delays the others at most that long."""
        if not self.settings.chroma_url or "store" not in self.__dict__:  # not while the store opens
            yield
            return
        key, holder, since = f"ingest-{self.settings.collection}", self._holder, time.time()
        wait = 0.02
        while not self.store.acquire(key, holder=holder, since=since, seconds=COMMIT_LEASE):
            time.sleep(wait * (0.5 + random.random()))  # jittered: two that saw each other part
            wait = min(0.5, wait * 2)
        try:
            yield
        finally:
            self.store.release(key, holder=holder)

    @contextlib.contextmanager
    def _journal(self) -> Iterator[dict[str, int] | None]:
        """This writer's journal file (``index.journal.open_journal``): a writer no longer at work
        left one, so ``repair`` first, under the ingest lock; yields what it fixed."""
        _ = self.store  # opened (and upgraded) first: then every commit holds the store's lock too
        with journal.open_journal(self.settings.home, self.settings.collection, lock=self._ingest_lock,
                                  repair=self.repair) as repaired:
            yield repaired

    def _version(self, article: Article) -> str:
        """The version of ``article`` here (its text, metadata, chunking, model), asked several
        times per ingest: kept for the last articles asked (a 10 MB text takes 0.2 s to hash, all
        of it holding the interpreter)."""
        held = self._versions.get(id(article))
        if held is not None and held[0] is article:
            return held[1]
        if len(self._versions) >= 256:
            self._versions.clear()
        version = self._version_of(article)
        self._versions[id(article)] = (article, version)  # the article kept: its id is not reused meanwhile
        return version

    def _version_of(self, article: Article) -> str:
        model = self.embedder.name
        if self.settings.chunk_vectors != "encode":
            model += f"/{self.settings.chunk_vectors}"
        # the hash of json.dumps([body, metadata, chunking, model, ...], ensure_ascii=False), made a
        # piece of the body at a time: one dumps of a 10 MB body holds the interpreter for 0.2 s
        rest = json.dumps([sorted(article.metadata().items()), self.chunker.signature, model, _SENTENCES,
                           ANNOTATOR_VERSION], ensure_ascii=False)
        digest = hashlib.sha256(b'["')
        body = article.body
        for lo in range(0, len(body), _HASHED_PIECE):  # JSON escapes character by character
            digest.update(json.dumps(body[lo:lo + _HASHED_PIECE], ensure_ascii=False)[1:-1].encode("utf-8"))
        digest.update(('", ' + rest[1:]).encode("utf-8"))
        return "v" + digest.hexdigest()[:15]

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
        """Cut and encode the texts the store lacks, a slice of articles at a time, each slice
        committed under the ingest lock: the encoder runs outside it, so another writer (a small
        upload beside a huge one) commits between two slices instead of waiting for the end."""
        with self._journal() as repaired:
            report.repaired = repaired
            with self._ingest_lock():  # boilerplate is counted over the stored articles and these together
                records = {r.id: r for r in self.store.list_articles()}
                loaded, earlier = clean_loaded(loaded, records, report)
                recleaned = reclean(self.store, earlier, records, report)
            held = {r.version for r in self.catalog(fresh=True).articles.values()}
            cuts = cut_all(loaded + [w.article for w in recleaned], report, held=held, version_of=self._version,
                           cut=self._cut, budget=BUDGET)
            loaded = [a for a in loaded if a.id not in report.refused]
            recleaned = [w for w in recleaned if w.article.id not in report.refused]
            tally = Tally(articles=len(cuts), chunks=sum(len(c.chunks) for c in cuts.values()),
                          sentences=sum(len(c.sentences) for c in cuts.values()))
            if cuts and progress:
                _ = self.embedder.dimension  # load the model before the clock of the progress bar starts
                progress(tally.progress())
            token = None
            groups = list(slices(loaded, cuts, size=FLUSH_BATCHES * self.settings.embed_batch_size))
            for n, group in enumerate(groups, 1):
                self._encode([cuts[v] for v in dict.fromkeys(self._version(a) for a in group) if v in cuts],
                             progress, tally)
                with self._ingest_lock():
                    records = self._records(records, token)
                    settle(self.store, records)
                    writes = plan(self.store, group, records, report, version_of=self._version)
                    stories(self.store, writes, records)
                    if n < len(groups):
                        self._write(writes, records, report, cuts, progress, tally)
                    else:  # the last slice (a huge article's only one) indexed before readers are told
                        # of it: none waits, and none that sees its rows early indexes them meanwhile
                        with self.lexical.updating():
                            self._write(writes, records, report, cuts, progress, tally)
                            self.lexical.ensure(self.catalog(fresh=True))
                    token = self.mark_changed()  # readers see a long ingest grow, slice by slice
            if recleaned:  # earlier articles without the lines that became boilerplate: new versions
                self._encode([cuts[v] for v in dict.fromkeys(self._version(w.article) for w in recleaned)
                              if v in cuts], progress, tally)
                with self._ingest_lock():
                    records = self._records(records, token)
                    stories(self.store, recleaned, records)
                    self._write(recleaned, records, report, cuts, progress, tally)
                    token = self.mark_changed()
            if prune is not None:
                with self._ingest_lock():
                    records = self._records(records, token)
                    prune_mirror(self.store, prune[0], {a.key for a in loaded}, prune[1], records, report)
                    self.mark_changed()
        self.lexical.ensure(self.catalog(fresh=True))
        report.seconds = time.perf_counter() - started
        return report

    def _records(self, records: dict[str, ArticleRecord | None] | None, token: str | None
                 ) -> dict[str, ArticleRecord | None]:
        """The committed articles, under the ingest lock: those this writer knows after its last
        commit (``token``), unless another writer committed since (or may have: a Chroma server
        is shared by processes that signal nothing here)."""
        if records is None or self.settings.chroma_url or token is None or self._marker_token() != token:
            return {r.id: r for r in self.store.list_articles()}
        return records

    def _write(self, writes: list[Write], records: dict[str, ArticleRecord | None], report: IngestReport,
               cuts: dict[str, Cut], progress, tally: Tally) -> None:
        """Store the encoded texts of ``writes`` (under the ingest lock): every chunk, then the
        article rows that commit them; then the chunks of the versions they replace go."""
        if not writes:
            return
        items = []
        for write in writes:
            article = write.article
            version = self._version(article)
            cut = cuts.get(version)
            if cut is None or cut.vectors is None:  # a text another writer removed since it was cut
                cut = self._cut(article, version)
                self._encode([cut], None, Tally(1, len(cut.chunks), len(cut.sentences)))
            write.chunks = cut.chunks
            write.record = ArticleRecord(id=article.id, version=version, origins=tuple(write.origins),
                                         n_chunks=len(cut.chunks), ingested_at=time.time(), body=article.body,
                                         lead=article.lead, lines=article.lines, story=write.story,
                                         minhash=write.minhash, names=cut.names, **article.metadata())
            items.append((write.record, cut.chunks, cut.vectors))
        self.store.write_articles(items)
        owner = {key: r.id for r in records.values() if r for key in r.keys}
        for done in writes:
            if done.existing is not None and done.existing.version != done.record.version:
                self.store.delete_chunks([chunk_id(done.existing.version, j) for j in range(done.existing.n_chunks)])
            records[done.record.id] = done.record
            for origin in done.origins:
                move_key(self.store, origin["key"], done.record.id, owner, records)
            if records.get(done.record.id) is None:  # the text holding its key has the stronger claim
                entry = next((e for e in report.articles if e["id"] == done.record.id), {})
                if entry.get("status") in ("added", "updated"):
                    setattr(report, entry["status"], getattr(report, entry["status"]) - 1)
                    report.earlier += 1
                entry.pop("replaces", None)
                entry.update(status="earlier", superseded_by=owner.get(done.article.key))
            report.chunks_written += len(done.chunks)
            tally.articles_done += 1
            if progress:
                progress(tally.progress(done.record.display_title, done.article.path))

    def _cut(self, article: Article, version: str) -> Cut:
        return cut_article(self.chunker, article, version)

    def _encode(self, cuts: list[Cut], progress, tally: Tally) -> None:
        """Embed and annotate the sentences of ``cuts``, then their chunks (``index.ingest_encode``),
        within ``BUDGET``, in a child process when ``encoders`` is set and a child can build this
        library's embedder and annotator. Outside the ingest lock: this is the long part."""
        if not cuts:
            return
        recipe = getattr(self.embedder, "recipe", lambda: None)() if self.encoders is not None else None
        if recipe is not None and self.annotate is annotate:  # what a child builds the same
            self.encoders.encode(cuts, progress, tally, recipe=recipe, settings=self.settings, budget=BUDGET)
        else:
            encode(cuts, progress, tally, embedder=self.embedder, annotate=self.annotate, settings=self.settings,
                   budget=BUDGET)
