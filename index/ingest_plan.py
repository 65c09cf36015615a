"""Planning an ingest: what a run reports (``Progress``, ``IngestReport``), what one article may cost
(``Budget``), and what is written: the loaded texts cleaned of boilerplate, cut into chunks
(``Cut``), grouped into slices committed together, and each text's ``Write`` (added, updated, a
duplicate, an earlier version) planned against the committed articles. ``index.ingest_encode``
encodes the cuts; ``index.library.Library`` runs the steps under its locks."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from index.articles import Article, article_id
from index.boilerplate import LineCounts, clean, line_keys, parse_stored
from index.chunking import Chunker
from index.claims import drop_key, move_key, origin_of
from index.errors import NotFoundError
from index.store import ArticleRecord, ChunkRecord, VectorStore, chunk_id
from index.vectors import sentence_spans

if TYPE_CHECKING:
    import numpy as np

FLUSH_BATCHES = 4  # embed this many model batches of chunks at once, across articles


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



@dataclass
class Write:
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
class Cut:
    """An article's text cut into chunks, and, once encoded, what its chunks store."""

    version: str
    body: str
    chunks: list[ChunkRecord]
    sentences: list[tuple[int, int]]  # every sentence of the chunks once, in order
    windows: set[tuple[int, int]]  # those that are windows: no encoder run or recognizer of their own
    vectors: np.ndarray | None = None  # the chunks', once encoded (``chunks`` then hold their sentences)
    names: str | None = None  # index.language.name_index of its sentences


@dataclass
class Tally:
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


def cut_article(chunker: Chunker, article: Article, version: str) -> Cut:
    header = chunker.header(article.title, article.source, article.published_at)
    chunks, windows = [], set()
    for c in chunker.chunk(article.body, header):
        chunks.append(ChunkRecord(id=chunk_id(version, c.index), article_id=article.id, version=version,
                                  index=c.index, text=c.text, header_len=c.header_len, start=c.start,
                                  end=c.end, sentences=c.sentences))
        windows.update(span for span, cut in zip(c.sentences, c.windows, strict=True) if cut)
    return Cut(version, article.body, chunks, sentence_spans(chunks), windows)


def cut_all(loaded: list[Article], report: IngestReport, *, held: set[str], version_of: Callable[[Article], str],
            cut: Callable[[Article, str], Cut], budget: Budget) -> dict[str, Cut]:
    """The chunks of every text whose version the store does not hold yet, by version; an
    article over ``budget.chunks`` is refused (``report.refused``); ``held``: the versions stored,
    ``cut``: ``cut_article`` with the library's chunker."""
    cuts: dict[str, Cut] = {}
    for article in loaded:
        version = version_of(article)
        if version in held or version in cuts or article.id in report.refused:
            continue
        done = cut(article, version)
        if len(done.chunks) > budget.chunks:
            report.refused.add(article.id)
            report.failures.append(f"{article.origin}: {len(done.chunks):,} passages, over the "
                                   f"{budget.chunks:,} one article may have; split it into articles")
            continue
        cuts[version] = done
    return cuts


def slices(loaded: list[Article], cuts: dict[str, Cut], *, size: int) -> Iterator[list[Article]]:
    """The articles in slices committed together: all the copies of one text in one slice,
    a slice closed once it holds ``size`` chunks to write (``FLUSH_BATCHES`` model batches)."""
    groups: dict[str, list[Article]] = defaultdict(list)
    for article in loaded:
        groups[article.id].append(article)
    chunks = {c.chunks[0].article_id: len(c.chunks) for c in cuts.values() if c.chunks}
    group: list[Article] = []
    filled = 0
    for aid, arts in groups.items():
        group += arts
        filled += chunks.get(aid, 0)
        if filled >= size:
            yield group
            group, filled = [], 0
    if group:
        yield group


def clean_loaded(loaded: list[Article], records: dict[str, ArticleRecord | None], report: IngestReport
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


def reclean(store: VectorStore, earlier: list[tuple[ArticleRecord, set[str]]],
            records: dict[str, ArticleRecord | None], report: IngestReport) -> list[Write]:
    """Stored articles cleaned again of lines that became boilerplate: each is written as a new
    version with all its origins, the old one kept readable by its id (``_write`` moves the
    keys). One whose clean text is already stored under another id joins that article."""
    writes = []
    for record, due in earlier:
        body = store.get_article(record.id).body or ""
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
            records[existing.id] = store.update_origins(
                existing, [*existing.origins, *(o for o in record.origins if o["key"] not in existing.keys)])
            for key in record.keys:
                move_key(store, key, existing.id, owner, records, by_rule=False)
        else:  # its keys given the cleaned text now: the later claim of the same date (``claim``)
            writes.append(Write(article, [{**o, "at": time.time()} for o in record.origins], None))
        report.recleaned += 1
        report.boilerplate += len(result.removed)
        report.articles.append(entry)
    return writes


def plan(store: VectorStore, loaded: list[Article], records: dict[str, ArticleRecord | None],
         report: IngestReport, *, version_of: Callable[[Article], str]) -> list[Write]:
    groups: dict[str, list[Article]] = defaultdict(list)
    for article in loaded:
        if all(a.key != article.key for a in groups[article.id]):
            groups[article.id].append(article)
    owner = {key: r.id for r in records.values() if r for key in r.keys}
    writes: list[Write] = []
    for aid, arts in groups.items():
        existing = records.get(aid)
        if existing is None:
            first = arts[0]
            status = "updated" if first.key in owner else "added"
            setattr(report, status, getattr(report, status) + 1)
            report.duplicates += len(arts) - 1
            writes.append(Write(first, [origin_of(a) for a in arts], None))
            entry = {"id": aid, "title": first.display_title, "status": status}
            if status == "updated":  # another text held this key: it becomes an earlier version
                entry["replaces"] = owner[first.key]
            report.articles.append(entry)
            continue
        primary_key = existing.keys[0] if existing.keys else None
        primary = next((a for a in arts if a.key == primary_key), None)
        fresh = [a for a in arts if a.key not in existing.keys]
        if primary is not None and version_of(primary) != existing.version:
            origins = [origin_of(primary)] + [o for o in existing.origins if o["key"] != primary.key]
            writes.append(Write(primary, origins + [origin_of(a) for a in fresh], existing))
            report.updated += 1
            report.unchanged += len(arts) - 1 - len(fresh)
            report.articles.append({"id": aid, "title": primary.display_title, "status": "updated"})
        else:
            if fresh:
                records[aid] = store.update_origins(
                    existing, list(existing.origins) + [origin_of(a) for a in fresh])
            report.unchanged += len(arts) - len(fresh)
            report.duplicates += len(fresh)
            status = "duplicate" if fresh else "unchanged"
            report.articles.append({"id": aid, "title": existing.display_title, "status": status})
            for article in fresh:  # a rewrite moves its keys itself, once committed
                move_key(store, article.key, aid, owner, records)
    return writes


def stories(store: VectorStore, writes: list[Write], records: dict[str, ArticleRecord | None]) -> None:
    """Each new text's story (``index.stories``): the story of the text it updates (same key),
    else that of a syndicated copy already indexed (or written before it in this run), else
    its own."""
    if not writes:
        return
    from index.stories import StoryIndex

    live = [r for r in records.values() if r is not None]
    def text_of(aid: str) -> str | None:  # a candidate's text, to count what it shares
        try:
            return store.get_article(aid).body
        except NotFoundError:
            return None

    index = StoryIndex(((r.id, r.story_id, r.minhash) for r in live), text_of=text_of)
    owner = {key: r for r in live for key in r.keys}
    for write in writes:
        previous = write.existing or next((owner[o["key"]] for o in write.origins if o["key"] in owner), None)
        write.story, write.minhash = index.assign(write.article.id, write.article.body,
                                                  previous_story=previous.story_id if previous else None)


def prune_mirror(store: VectorStore, mirror: Path, seen: set[str], failed_paths: set[str],
                 records: dict[str, ArticleRecord | None], report: IngestReport) -> None:
    for aid, record in list(records.items()):
        if record is None:
            continue
        record_title = record.display_title
        for origin in list(record.origins):
            path = Path(origin["path"])
            if (origin["key"] not in seen and str(path) not in failed_paths
                    and path.is_relative_to(mirror)):
                record = drop_key(store, record, origin["key"])
                if record is None:
                    report.removed += 1
                    report.articles.append({"id": aid, "title": origin["title"] or record_title,
                                            "status": "removed"})
                    break
        records[aid] = record
