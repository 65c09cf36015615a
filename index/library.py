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
import random
import secrets
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from index.articles import Article, InputError, article_id, expand_paths, load_file
from index.boilerplate import LineCounts, clean, line_keys, parse_stored
from index.browse import ArticlePage, ArticleQuery, Listing, Match, Overview, best_sentence
from index.chunking import Chunker
from index.embedding import PRECISION, Embedder, make_embedder, resolve_backend, resolve_model_path
from index.errors import ConfigError, NotFoundError
from index.language import ANNOTATOR_VERSION, Facts, annotate, figures, name_index
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
from index.text import analyze
from index.vectors import chunk_vectors, in_chunk, sentence_spans

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger("newsrag.index")

_FLUSH_BATCHES = 4  # embed this many model batches of chunks at once, across articles
_SENTENCES = "sentences-v3"  # sentence vectors (read in their chunks) and facts stored with every version
_MAX_VERSIONS = 100  # how far a chain of earlier versions is followed
COMMIT_LEASE = 300.0  # seconds a replica's claim to commit on a Chroma server lasts at most


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
    boilerplate: int = 0  # lines removed from the articles loaded (index.boilerplate)
    recleaned: int = 0  # earlier articles stored again without lines that became boilerplate
    earlier: int = 0  # texts kept as an earlier version: the one holding their URL has the stronger claim
    refused: set[str] = field(default_factory=set)  # ids of articles over the budget (``Budget``)

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
        if self.earlier:
            parts.append(f"{self.earlier} kept as earlier version{'s' if self.earlier != 1 else ''} (older than the indexed one)")
        parts.append(f"{self.failed} failed")
        if self.boilerplate or self.recleaned:
            again = f", {self.recleaned} earlier article{'s' if self.recleaned != 1 else ''} cleaned again" \
                if self.recleaned else ""
            parts.append(f"{self.boilerplate} boilerplate line{'s' if self.boilerplate != 1 else ''} "
                         f"removed{again}")
        rate = f", {self.chunks_written / self.seconds:.1f} chunks/s" if self.chunks_written and self.seconds else ""
        return f"{', '.join(parts)} ({self.chunks_written} chunks written in {self.seconds:.1f} s{rate})"

    def to_dict(self) -> dict:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "duplicates": self.duplicates, "removed": self.removed, "failed": self.failed,
                "failures": self.failures, "chunks_written": self.chunks_written,
                "seconds": round(self.seconds, 3), "articles": self.articles,
                "boilerplate": self.boilerplate, "recleaned": self.recleaned, "earlier": self.earlier}


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


@dataclass(frozen=True)
class Budget:
    """What one article may cost at ingest, whatever its text: a long article is read in full,
    but past these only at the price of its chunks (one encoder run each, which no budget can
    avoid). A sentence past ``own_sentences`` gets no encoder run of its own (its vector is the
    one it has in its chunk); one past ``annotated_chars`` of annotated text, and every window (a
    piece cut out of a sentence with no end in reach, ``index.chunking``), gets its figures but no
    entity recognition. A chunk past ``encoded_chunks`` is not run through the encoder: its vector
    (and its sentences') is the mean of the article's encoded chunks, so dense search finds it as
    part of its article and BM25 finds its words (about 3 MB of text is encoded in full). An
    article of more than ``chunks`` chunks is refused in one line."""

    own_sentences: int = 3000
    annotated_chars: int = 300_000
    encoded_chunks: int = 3000
    chunks: int = 50_000


BUDGET = Budget()


@dataclass
class _Cut:
    """An article's text cut into chunks, and, once encoded, what its chunks store."""

    version: str
    body: str
    chunks: list[ChunkRecord]
    sentences: list[tuple[int, int]]  # every sentence of the chunks once, in order
    windows: set[tuple[int, int]]  # those that are windows: no encoder run or recognizer of their own
    vectors: np.ndarray | None = None  # the chunks', once encoded (``chunks`` then hold their sentences)
    names: str | None = None  # index.language.name_index of its sentences


@dataclass
class _Tally:
    """The work of one ingest, and how much of it is done (what ``Progress`` reports)."""

    articles: int
    chunks: int
    sentences: int
    articles_done: int = 0
    chunks_done: int = 0
    sentences_done: int = 0

    def progress(self, current: str = "", path: str = "") -> Progress:
        return Progress(self.articles_done, self.articles, self.chunks_done, self.chunks, current, path,
                        self.sentences_done, self.sentences)


def _positions(cuts: Sequence[_Cut]) -> list[list[int]]:
    """The positions of each cut's chunks in the list of all their chunks."""
    out, at = [], 0
    for cut in cuts:
        out.append(list(range(at, at + len(cut.chunks))))
        at += len(cut.chunks)
    return out


def _stale_journal(name: str, prefix: str) -> bool:
    """Whether a journal file was left by a writer no longer at work: one of this process that is
    not active, of a process that no longer runs, or of a version that named no writer."""
    if name == prefix:
        return True
    pid, sep, number = name.removeprefix(prefix + "-").partition("-")
    if not (name.startswith(prefix + "-") and sep and pid.isdigit() and number.isdigit()):
        return False  # another collection's ("newsrag-eval" beside "newsrag")
    if int(pid) == os.getpid():
        return name not in _ACTIVE
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


_WRITERS = iter(range(1, 1 << 62))  # numbers the journals of this process's writers
_ACTIVE: set[str] = set()  # the journals of this process's writers at work


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
    """Where an article came from; ``at``: when its key was given this text (``claim``)."""
    return {"key": article.key, "origin": article.origin, "path": article.path,
            "title": article.title, "source": article.source, "at": time.time()}


def _origins(records: Iterable[ArticleRecord]) -> set[tuple[str, str]]:
    return {(r.id, o.get("key", "")) for r in records for o in r.origins}


def claim(record: ArticleRecord, key: str) -> tuple[float, float, str]:
    """How strong an article's claim to ``key`` (its URL, or its file) is; of two texts for one
    key, the stronger is the article, the other an earlier version of it. The rule: the newer
    published date (undated is oldest), then the later time the key was given the text, then the
    larger content hash (the article id). Two replicas that wrote one URL at the same moment, and
    ``repair`` after a lost race, all decide the same way."""
    at = next((o.get("at") for o in record.origins if o.get("key") == key and o.get("at")), None)
    published = record.published_ts
    return (float("-inf") if published is None else float(published), float(at or record.ingested_at or 0),
            record.id)


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
                # the origins too (another replica adds a name to an article, or takes one away)
                if self._catalog is None or self._catalog.fingerprint != current or _origins(
                        self._catalog.articles.values()) != _origins(records):
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
            keep = max(holders, key=lambda r: claim(r, key))  # never by chance: the rule of ``claim``
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
        """A journal file per writer (``writing-<collection>-<pid>-<n>``) says its write is under
        way, from its first chunk to its last commit, and is removed only when it completes. A
        writer that finds the journal of one no longer at work (killed, interrupted, failed)
        repairs first, under the ingest lock, and yields what it fixed; the journal of one still
        at work (another upload job, a command-line ingest) is no damage: the lock is held only
        while a writer commits, and between its commits the index is whole. ``repair`` reads every
        row of the store, so a library of any size pays for it only after an interruption."""
        home, prefix = self.settings.home, f"writing-{self.settings.collection}"
        _ = self.store  # opened (and upgraded) first: then every commit holds the store's lock too
        with self._ingest_lock():
            stale = [p for p in home.glob(prefix + "*") if _stale_journal(p.name, prefix)]
            repaired = self.repair() if stale else None
            for path in stale:
                path.unlink(missing_ok=True)
            mine = home / f"{prefix}-{os.getpid()}-{next(_WRITERS)}"
            with open(mine, "w") as handle:
                handle.write(f"{os.getpid()} {time.time():.0f}\n")
                handle.flush()
                os.fsync(handle.fileno())
            _ACTIVE.add(mine.name)
        try:
            yield repaired
        finally:
            _ACTIVE.discard(mine.name)
        mine.unlink()  # only a write that completed: after a failure, the next writer repairs

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
        """Cut and encode the texts the store lacks, a slice of articles at a time, each slice
        committed under the ingest lock: the encoder runs outside it, so another writer (a small
        upload beside a huge one) commits between two slices instead of waiting for the end."""
        with self._journal() as repaired:
            report.repaired = repaired
            with self._ingest_lock():  # boilerplate is counted over the stored articles and these together
                records = {r.id: r for r in self.store.list_articles()}
                loaded, earlier = self._clean(loaded, records, report)
                recleaned = self._reclean(earlier, records, report)
            cuts = self._cuts(loaded + [w.article for w in recleaned], report)
            loaded = [a for a in loaded if a.id not in report.refused]
            recleaned = [w for w in recleaned if w.article.id not in report.refused]
            tally = _Tally(articles=len(cuts), chunks=sum(len(c.chunks) for c in cuts.values()),
                           sentences=sum(len(c.sentences) for c in cuts.values()))
            if cuts and progress:
                _ = self.embedder.dimension  # load the model before the clock of the progress bar starts
                progress(tally.progress())
            token = None
            for group in self._slices(loaded, cuts):
                self._encode([cuts[v] for v in dict.fromkeys(self._version(a) for a in group) if v in cuts],
                             progress, tally)
                with self._ingest_lock():
                    records = self._records(records, token)
                    self._settle(records)
                    writes = self._plan(group, records, report)
                    self._stories(writes, records)
                    self._write(writes, records, report, cuts, progress, tally)
                    token = self.mark_changed()  # readers see a long ingest grow, slice by slice
            if recleaned:  # earlier articles without the lines that became boilerplate: new versions
                self._encode([cuts[v] for v in dict.fromkeys(self._version(w.article) for w in recleaned)
                              if v in cuts], progress, tally)
                with self._ingest_lock():
                    records = self._records(records, token)
                    self._stories(recleaned, records)
                    self._write(recleaned, records, report, cuts, progress, tally)
                    token = self.mark_changed()
            if prune is not None:
                with self._ingest_lock():
                    records = self._records(records, token)
                    self._prune(prune[0], {a.key for a in loaded}, prune[1], records, report)
                    self.mark_changed()
        self.lexical.ensure(self.catalog(fresh=True))
        report.seconds = time.perf_counter() - started
        return report

    def _clean(self, loaded: list[Article], records: dict[str, ArticleRecord | None], report: IngestReport
               ) -> tuple[list[Article], list[tuple[ArticleRecord, set[str]]]]:
        """The loaded articles without their outlet's boilerplate lines (``index.boilerplate``),
        counted over the stored articles and these together; and the stored articles still
        showing a line that is boilerplate now, with the keys to remove from them."""
        stored = {r.id: parse_stored(r.lines)[0] for r in records.values() if r is not None and r.lines}
        counts = LineCounts.of((records[aid].source, keys) for aid, keys in stored.items())
        primary = {r.keys[0]: r for r in records.values() if r is not None and r.keys}
        keys_of = [line_keys(a.body) for a in loaded]
        replaced = set()
        for article, keys in zip(loaded, keys_of, strict=True):
            old = primary.get(article.key)
            if old is not None:  # loaded again: cleaned here if it must be, not as an earlier article
                replaced.add(old.id)
                if old.id in stored and LineCounts.identity(stored[old.id]) != LineCounts.identity(keys):
                    counts.discard(old.source, stored[old.id])  # its text is being replaced
            counts.add(article.source, keys)
        cleaned = []
        for article, keys in zip(loaded, keys_of, strict=True):
            result = clean(article.body, counts.frequent(article.source))
            report.boilerplate += len(result.removed)
            cleaned.append(replace(article, body=result.body, lines=result.stored_keys(keys)))
        earlier = []
        for aid, keys in stored.items():
            record = records[aid]
            due = (counts.frequent(record.source) & set(keys)) - parse_stored(record.lines)[1]
            if due and aid not in replaced:
                earlier.append((record, due))
        return cleaned, earlier

    def _reclean(self, earlier: list[tuple[ArticleRecord, set[str]]], records: dict[str, ArticleRecord | None],
                 report: IngestReport) -> list[_Write]:
        """Stored articles cleaned again of lines that became boilerplate: each is written as a new
        version with all its origins, the old one kept readable by its id (``_write`` moves the
        keys). One whose clean text is already stored under another id joins that article."""
        writes = []
        for record, due in earlier:
            body = self.store.get_article(record.id).body or ""
            result = clean(body, due)
            if not result.removed:
                continue  # a text made only of such lines is kept whole
            keys, removed = parse_stored(record.lines)
            lines = " ".join(f"-{k}" if k in removed or k in result.removed else k for k in keys)
            origin = record.origins[0]
            article = Article(title=record.title, body=result.body, origin=origin["origin"], path=origin["path"],
                              source=record.source, published_at=record.published_at, author=record.author,
                              url=record.url, category=record.category, lines=lines)
            entry = {"id": article.id, "title": record.display_title, "status": "cleaned", "replaces": record.id}
            existing = records.get(article_id(result.body))
            if existing is not None:  # the same text once cleaned: one article with both origins
                owner = {key: r.id for r in records.values() if r for key in r.keys}
                records[existing.id] = self.store.update_origins(
                    existing, [*existing.origins, *(o for o in record.origins if o["key"] not in existing.keys)])
                for key in record.keys:
                    self._move_key(key, existing.id, owner, records, by_rule=False)
            else:  # its keys given the cleaned text now: the later claim of the same date (``claim``)
                writes.append(_Write(article, [{**o, "at": time.time()} for o in record.origins], None))
            report.recleaned += 1
            report.boilerplate += len(result.removed)
            report.articles.append(entry)
        return writes
    def _records(self, records: dict[str, ArticleRecord | None] | None, token: str | None
                 ) -> dict[str, ArticleRecord | None]:
        """The committed articles, under the ingest lock: those this writer knows after its last
        commit (``token``), unless another writer committed since (or may have: a Chroma server
        is shared by processes that signal nothing here)."""
        if records is None or self.settings.chroma_url or token is None or self._marker_token() != token:
            return {r.id: r for r in self.store.list_articles()}
        return records

    def _cuts(self, loaded: list[Article], report: IngestReport) -> dict[str, _Cut]:
        """The chunks of every text whose version the store does not hold yet, by version; an
        article over ``Budget.chunks`` is refused (``report.refused``)."""
        held = {r.version for r in self.catalog(fresh=True).articles.values()}
        cuts: dict[str, _Cut] = {}
        for article in loaded:
            version = self._version(article)
            if version in held or version in cuts or article.id in report.refused:
                continue
            cut = self._cut(article, version)
            if len(cut.chunks) > BUDGET.chunks:
                report.refused.add(article.id)
                report.failures.append(f"{article.origin}: {len(cut.chunks):,} passages, over the "
                                       f"{BUDGET.chunks:,} one article may have; split it into articles")
                continue
            cuts[version] = cut
        return cuts

    def _cut(self, article: Article, version: str) -> _Cut:
        header = self.chunker.header(article.title, article.source, article.published_at)
        chunks, windows = [], set()
        for c in self.chunker.chunk(article.body, header):
            chunks.append(ChunkRecord(id=chunk_id(version, c.index), article_id=article.id, version=version,
                                      index=c.index, text=c.text, header_len=c.header_len, start=c.start,
                                      end=c.end, sentences=c.sentences))
            windows.update(span for span, cut in zip(c.sentences, c.windows, strict=True) if cut)
        return _Cut(version, article.body, chunks, sentence_spans(chunks), windows)

    def _slices(self, loaded: list[Article], cuts: dict[str, _Cut]) -> Iterator[list[Article]]:
        """The articles in slices committed together: all the copies of one text in one slice,
        a slice closed once it holds as many chunks to write as ``_FLUSH_BATCHES`` model batches."""
        groups: dict[str, list[Article]] = defaultdict(list)
        for article in loaded:
            groups[article.id].append(article)
        chunks = {c.chunks[0].article_id: len(c.chunks) for c in cuts.values() if c.chunks}
        group: list[Article] = []
        size = 0
        for aid, arts in groups.items():
            group += arts
            size += chunks.get(aid, 0)
            if size >= _FLUSH_BATCHES * self.settings.embed_batch_size:
                yield group
                group, size = [], 0
        if group:
            yield group

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
                  records: dict[str, ArticleRecord | None], *, by_rule: bool = True) -> None:
        """Give ``key`` to ``new_owner``: the text that held it becomes an earlier version of the
        new one, unless its claim is the stronger (``claim``: a newer date) — then the new text is
        the earlier version. ``by_rule=False``: the new owner is the old one's own text cleaned."""
        previous = owner.get(key)
        if previous and previous != new_owner and records.get(previous) is not None:
            new = records.get(new_owner)
            if by_rule and new is not None and claim(records[previous], key) > claim(new, key):
                records[new_owner] = self._drop_key(new, key, superseded_by=previous)
                return
            records[previous] = self._drop_key(records[previous], key, superseded_by=new_owner)
        owner[key] = new_owner

    def _settle(self, records: dict[str, ArticleRecord | None]) -> None:
        """A key held by two articles (a race the store's lease did not prevent) goes to the
        stronger claim, the other becoming its earlier version: every writer heals what it finds."""
        owners: dict[str, list[ArticleRecord]] = defaultdict(list)
        for record in records.values():
            for key in record.keys if record else ():
                owners[key].append(record)
        for key, holders in owners.items():
            if len(holders) > 1:
                keep = max(holders, key=lambda r: claim(r, key))
                for holder in holders:
                    if holder.id != keep.id and records.get(holder.id) is not None:
                        records[holder.id] = self._drop_key(records[holder.id], key, superseded_by=keep.id)

    def _write(self, writes: list[_Write], records: dict[str, ArticleRecord | None], report: IngestReport,
               cuts: dict[str, _Cut], progress, tally: _Tally) -> None:
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
                self._encode([cut], None, _Tally(1, len(cut.chunks), len(cut.sentences)))
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
                self._move_key(origin["key"], done.record.id, owner, records)
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

    def _encode(self, cuts: list[_Cut], progress, tally: _Tally) -> None:
        """Embed and annotate the sentences of ``cuts`` (within ``BUDGET``), then embed their
        chunks, each chunk's sentences read in it from the same runs; the chunks then hold their
        sentences' vectors and facts. Outside the ingest lock: this is the long part."""
        import numpy as np

        if not cuts:
            return
        step = _FLUSH_BATCHES * self.settings.embed_batch_size
        encode = self.settings.chunk_vectors == "encode"
        work = []  # (cut, span, read on its own, recognized) for every sentence
        for cut in cuts:
            alone = recognized = 0
            for span in cut.sentences:
                window = span in cut.windows
                own = not encode or (not window and alone < BUDGET.own_sentences)
                named = not window and recognized < BUDGET.annotated_chars
                alone += own
                recognized += (span[1] - span[0]) if named else 0
                work.append((cut, span, own, named))

        def read(part):
            texts = [cut.body[s:e] for cut, (s, e), _, _ in part]
            alone = [i for i, (_, _, own, _) in enumerate(part) if own]
            named = [i for i, (_, _, _, rec) in enumerate(part) if rec]
            vectors = self.embedder.embed([texts[i] for i in alone]) if alone else None
            facts = dict(zip(named, self.annotate([texts[i] for i in named]), strict=True))
            return alone, vectors, [facts.get(i) or Facts(figures=tuple(figures(t))) for i, t in enumerate(texts)]

        base = tally.sentences_done

        def read_at(n: int) -> Progress:
            tally.sentences_done = base + n
            return tally.progress()

        dim = self.embedder.dimension
        vectors = np.full((len(work), dim), np.nan, dtype=np.float32)
        facts: list[Facts] = []
        at = 0
        for alone, found, part_facts in _in_slices(work, step, read, progress, read_at):
            if found is not None:
                vectors[[at + i for i in alone]] = found
            facts += part_facts
            at += len(part_facts)
        tally.sentences_done = base + len(work)
        chunks = [c for cut in cuts for c in cut.chunks]
        pooled = None
        if encode:
            # the first ``encoded_chunks`` of each article; the others are their article's mean
            encoded = [k for cut_chunks in _positions(cuts) for k in cut_chunks[:BUDGET.encoded_chunks]]
            spans = [[(chunks[k].header_len + s - chunks[k].start, chunks[k].header_len + e - chunks[k].start)
                      for s, e in chunks[k].sentences] for k in encoded]
            found, found_pooled = self._embed([chunks[k].text for k in encoded], spans, step, progress, tally)
            chunk_vecs = np.zeros((len(chunks), dim), dtype=np.float32)
            chunk_vecs[encoded] = found
            pooled = [None] * len(chunks)
            for k, own in zip(encoded, found_pooled, strict=True):
                pooled[k] = own
            for positions in _positions(cuts):
                mean = chunk_vecs[positions[:BUDGET.encoded_chunks]].mean(axis=0)
                mean /= max(float(np.linalg.norm(mean)), 1e-12)
                for k in positions[BUDGET.encoded_chunks:]:
                    chunk_vecs[k] = mean
                    pooled[k] = [mean] * len(chunks[k].sentences)
        else:  # from the sentence vectors just computed: one encoder pass per sentence
            chunk_vecs = chunk_vectors(self.embedder, [(cut.body, cut.chunks) for cut in cuts],
                                       how=self.settings.chunk_vectors, sentence_vectors=vectors)
        tally.chunks_done += len(chunks)
        row = {(id(cut), span): i for i, (cut, span, _, _) in enumerate(work)}
        if pooled is not None:  # a sentence read in no run of its own: its vector in its (first) chunk
            k = 0
            for cut in cuts:
                for chunk in cut.chunks:
                    for span, vector in zip(chunk.sentences, pooled[k], strict=True):
                        i = row[(id(cut), tuple(span))]
                        if vector is not None and np.isnan(vectors[i, 0]):
                            vectors[i] = vector
                    k += 1
        missing = np.flatnonzero(np.isnan(vectors[:, 0]))
        if len(missing):  # the model does not mean-pool: these are read on their own after all
            vectors[missing] = self.embedder.embed([work[i][0].body[slice(*work[i][1])] for i in missing])
        at = k = 0
        for cut in cuts:
            n = len(cut.sentences)
            own = facts[at:at + n]
            cut.names = name_index(own)
            cut.chunks = _with_sentences(cut.chunks, cut.sentences, vectors[at:at + n], [f.to_json() for f in own],
                                         pooled[k:k + len(cut.chunks)] if pooled is not None else None)
            cut.vectors = chunk_vecs[k:k + len(cut.chunks)]
            at += n
            k += len(cut.chunks)

    def _embed(self, texts: list[str], spans: list[list[tuple[int, int]]], step: int, progress, tally: _Tally):
        """Embed chunks, and each chunk's sentences (``spans``) pooled in it from the same runs,
        reporting chunks as they are embedded."""
        import numpy as np

        def work(part: list[tuple[str, list[tuple[int, int]]]]):
            return self.embedder.embed_pooled([text for text, _ in part], [own for _, own in part])

        base = tally.chunks_done

        def at(n: int) -> Progress:
            tally.chunks_done = base + n
            return tally.progress()

        done = _in_slices(list(zip(texts, spans, strict=True)), step, work, progress, at)
        tally.chunks_done = base
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
