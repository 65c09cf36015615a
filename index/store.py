"""Our narrow adapter over Chroma, the single source of truth of the index.

Three collections per index: ``<name>-chunks`` (one row per chunk: header + text, embedding,
offsets, and its sentences' vectors and facts, ``index.sentences``), ``<name>-articles`` (one row
per article: the full body, metadata, origins; its embedding is the normalized mean of its
chunks') and ``<name>-versions`` (earlier versions of updated articles, read by id, never
searched). An article row is written *after* its chunks and deleted *after* them, so it acts as
the commit marker: a chunk whose article row is missing, or whose version differs from the row's,
is an orphan left by an interrupted run and ``repair`` removes it.

Every chromadb call goes through ``_chroma`` so library errors leave as ``StoreError`` /
``StoreUnavailableError``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlparse

from index.articles import date_timestamp, display_title
from index.errors import ConfigError, NewsragError, NotFoundError, StoreError, StoreUnavailableError
from index.settings import IndexSettings

if TYPE_CHECKING:
    import numpy as np

_PAGE = 5000


@dataclass(frozen=True, kw_only=True)
class ArticleRecord:
    """An indexed article. ``origins`` lists every file/URL it was loaded from: an identical text
    found under several names (a syndicated copy, a renamed file) is stored once."""

    id: str
    version: str
    title: str | None = None  # None when the article names none
    lead: str | None = None  # the opening of its first sentence (names an untitled article)
    source: str | None = None
    published_at: str | None = None
    author: str | None = None
    url: str | None = None
    category: str | None = None
    origins: tuple[dict, ...] = ()
    n_chunks: int = 0
    ingested_at: float = 0.0
    superseded_by: str | None = None  # set on an earlier version: the article that replaced it
    superseded_at: float | None = None
    names: str | None = field(default=None, repr=False)  # index.language.name_index of its sentences
    lines: str | None = field(default=None, repr=False)  # its line keys as loaded (index.boilerplate)
    story: str | None = None  # index.stories: the story its syndicated copies share (None: its own)
    minhash: str | None = field(default=None, repr=False)  # index.stories.Signature, encoded
    body: str | None = field(default=None, repr=False)

    @property
    def published_ts(self) -> int | None:
        return date_timestamp(self.published_at)

    @property
    def display_title(self) -> str:
        """The title, or ``Untitled — "lead …"``: never a file name."""
        return display_title(self.title, self.lead)

    @property
    def sources(self) -> list[str]:
        """Every outlet that published this text, primary first."""
        names = [self.source] + [o.get("source") for o in self.origins]
        return list(dict.fromkeys(n for n in names if n))

    @property
    def keys(self) -> list[str]:
        return [o["key"] for o in self.origins]

    @property
    def story_id(self) -> str:
        """Its story (``index.stories``): shared with its syndicated copies, else its own."""
        return self.story or "s" + self.id.removeprefix("a")

    def to_dict(self, *, with_body: bool = False) -> dict:
        data = asdict(self)
        data["origins"] = list(self.origins)
        data["sources"] = self.sources
        data["display_title"] = self.display_title
        data["story"] = self.story_id
        data.pop("names")
        data.pop("lines")
        data.pop("minhash")
        for name in ("superseded_by", "superseded_at"):
            if data[name] is None:
                data.pop(name)
        if not with_body:
            data.pop("body")
        return data

    def _metadata(self) -> dict:
        meta = {k: v for k, v in asdict(self).items()
                if k not in {"id", "body", "origins"} and v is not None}
        meta["origins"] = json.dumps(list(self.origins), ensure_ascii=False)
        ts = self.published_ts
        if ts is not None:
            meta["published_ts"] = ts
        return meta

    def _document(self) -> str:
        """What the row's document holds: the body, unless it is long (``LONG_BODY``): then the
        metadata holds it (``_row_metadata``), where Chroma writes it ten times faster than a
        document, which it indexes for full-text search (about 0.2 s a MB, under the interpreter lock)."""
        body = self.body or ""
        return "" if len(body) > LONG_BODY else body

    def _row_metadata(self) -> dict:
        """``_metadata``, with the body when it is long (``_document``)."""
        meta = self._metadata()
        if len(self.body or "") > LONG_BODY:
            meta["body"] = self.body
        return meta

    @classmethod
    def _from_row(cls, id_: str, meta: dict, body: str | None = None) -> ArticleRecord:
        """The record of a row; ``body``: its document, when it was read (a long body is in ``meta``)."""
        fields = {k: meta.get(k) for k in ("version", "title", "lead", "source", "published_at", "author",
                                           "url", "category", "n_chunks", "ingested_at", "superseded_by",
                                           "superseded_at", "names", "story", "minhash", "lines")}
        if body is not None:
            body = meta.get("body") or body
        return cls(id=id_, origins=tuple(json.loads(meta.get("origins") or "[]")), body=body,
                   **{k: v for k, v in fields.items() if v is not None})


@dataclass(frozen=True, kw_only=True)
class ChunkRecord:
    id: str
    article_id: str
    version: str
    index: int
    text: str  # header + body[start:end]
    header_len: int
    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]
    # each of its sentences' vector (``index.sentences.pack``) and facts (``Facts`` JSON, a line each),
    # in the order of ``sentences``; empty in a chunk written before they were stored
    vectors: str = field(default="", repr=False)
    facts: str = field(default="", repr=False)

    @property
    def body_text(self) -> str:
        return self.text[self.header_len:]

    def _metadata(self) -> dict:
        meta = {"article_id": self.article_id, "version": self.version, "index": self.index,
                "header_len": self.header_len, "start": self.start, "end": self.end,
                "sentences": json.dumps([list(s) for s in self.sentences])}
        if self.vectors:
            meta.update(sentence_vectors=self.vectors, sentence_facts=self.facts)
        return meta

    @classmethod
    def _from_row(cls, id_: str, meta: dict, text: str) -> ChunkRecord:
        return cls(id=id_, article_id=meta["article_id"], version=meta["version"], index=meta["index"],
                   text=text, header_len=meta["header_len"], start=meta["start"], end=meta["end"],
                   sentences=tuple(tuple(s) for s in json.loads(meta["sentences"])),
                   vectors=meta.get("sentence_vectors") or "", facts=meta.get("sentence_facts") or "")


def chunk_id(version: str, index: int) -> str:
    return f"{version}-{index:04d}"


def fingerprint(records: Sequence[ArticleRecord]) -> str:
    """Changes whenever the set of committed article versions changes."""
    pairs = sorted(f"{r.id}:{r.version}" for r in records)
    return hashlib.sha256("\n".join(pairs).encode()).hexdigest()[:20]


def _unreachable(exc: BaseException | None) -> bool:
    """Whether ``exc``, or an error it was raised from or while handling, is a failure to reach the
    server: a refused, dropped or timed-out connection, or a name that does not resolve (httpx's
    transport errors, the system's). chromadb re-raises some of them as a ``ValueError`` ("Could not
    connect to a Chroma server"), so the chain is followed; a message is never read."""
    import socket

    import httpx

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError | socket.gaierror):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@contextlib.contextmanager
def _chroma(action: str, where: str) -> Iterator[None]:
    """Translate chromadb/httpx failures into our errors, naming the store and the fix."""
    try:
        yield
    except NewsragError:
        raise
    except Exception as exc:  # chromadb raises many unrelated types; all of them end here
        text = f"{type(exc).__name__}: {exc}"
        if _unreachable(exc):
            raise StoreUnavailableError(f"Chroma at {where} is unreachable while trying to {action} "
                                        f"({text.splitlines()[0][:200]}); start the server or unset "
                                        "NEWSRAG_CHROMA_URL.") from exc
        raise StoreError(f"Chroma at {where} failed to {action}: {text.splitlines()[0][:300]}") from exc


class VectorStore(Protocol):
    """What ``Library``, the lexical index and the answerer need from a vector store: two kinds of
    rows (articles and their chunks, each chunk with a vector and its sentences' vectors and facts),
    nearest-chunk queries restricted to some articles, and writes ordered so the article row
    commits its chunks.
    ``Store`` (Chroma embedded or a Chroma server) implements it; another backend is one new class
    and the same contract suite (``tests/test_store_contract.py``). Errors leave as ``StoreError`` /
    ``StoreUnavailableError``; a missing article as ``NotFoundError``."""

    where: str  # where the store lives, for messages
    between_writes: Callable[[], object]  # called before each batch a write sends

    def ping(self) -> None: ...
    def counts(self) -> dict[str, int]: ...  # {"articles", "chunks"}

    # articles and their earlier versions
    def list_articles(self) -> list[ArticleRecord]: ...
    def get_article(self, article_id: str) -> ArticleRecord: ...
    def update_origins(self, record: ArticleRecord, origins: Sequence[dict]) -> ArticleRecord: ...
    def archive_article(self, article_id: str, *, superseded_by: str, at: float) -> None: ...
    def get_version(self, article_id: str) -> ArticleRecord | None: ...
    def versions_superseded_by(self, article_id: str) -> list[ArticleRecord]: ...
    def list_versions(self) -> list[ArticleRecord]: ...
    def delete_versions(self, ids: Sequence[str]) -> None: ...

    # chunks (each with its sentences)
    def get_chunks(self, ids: Sequence[str]) -> dict[str, ChunkRecord]: ...
    def chunk_versions(self) -> list[tuple[str, str, str]]: ...
    def chunk_texts(self) -> tuple[list[str], list[str]]: ...
    # one ranking per row of ``embeddings`` (several queries in one round trip)
    def query(self, embeddings: np.ndarray, k: int, article_ids: Sequence[str] | None = None
              ) -> list[list[tuple[str, float]]]: ...

    # writes: chunks before the article row that commits them; deletes the other way
    def write_articles(self, items: Sequence[tuple]) -> None: ...
    def delete_chunks(self, ids: Sequence[str]) -> None: ...
    def delete_article(self, article_id: str) -> None: ...
    # a named lease shared by every process on the store: (granted, holder, until)
    def lease(self, key: str, *, holder: str, seconds: float, force: bool = False) -> tuple[bool, str, float]: ...
    # a lock shared by every process on the store (the commits of replicas): one try, then release
    def acquire(self, key: str, *, holder: str, since: float, seconds: float) -> bool: ...
    def release(self, key: str, *, holder: str) -> None: ...
    # an index of an earlier layout brought to this one (under the ingest lock); returns rows changed
    def outdated(self) -> bool: ...
    def upgrade(self) -> int: ...


LONG_BODY = 200_000  # characters: a longer article body is kept in its row's metadata (``_document``)
WRITE_BATCH = 512  # chunks per request to a Chroma server
# chunks per write to Chroma on disk, which holds Python's interpreter lock through a write (about
# 4 ms a chunk with its sentences): a request served meanwhile by another thread waits for one
# (16: /healthz at most 99–125 ms beside a 9.9 MB upload; 8: 84 ms, the upload 25 s longer)
LOCAL_WRITE_BATCH = 8


def _client(settings: IndexSettings):
    """A Chroma client: the on-disk store under ``settings.home`` or the server at ``chroma_url``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        return chromadb.HttpClient(host=url.hostname, port=url.port or 8000, ssl=url.scheme == "https",
                                   settings=chroma_settings)
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def recorded_precision(settings: IndexSettings) -> str | None:
    """The precision ("fp32", "int8") of the vectors the index of ``settings`` holds, or ``None``
    when it has not been created yet (a collection records its precision when it is created)."""
    if not settings.chroma_url and not settings.chroma_path.is_dir():
        return None
    where = settings.chroma_url or str(settings.chroma_path)
    with _chroma("open the store", where):
        client = _client(settings)
        names = {getattr(c, "name", c) for c in client.list_collections()}
        if f"{settings.collection}-chunks" not in names:
            return None
        chunks = client.get_collection(f"{settings.collection}-chunks", embedding_function=None)
        # indexes from before the ONNX backends were built by torch, in fp32
        return (chunks.metadata or {}).get("newsrag:embed_precision", "fp32")


class Store:
    """Chroma on disk (``PersistentClient`` under ``settings.home``) or a Chroma server."""

    def __init__(self, *, settings: IndexSettings, embed_model: str, embed_precision: str = "fp32"):
        self.settings = settings
        self.embed_model = embed_model
        self.embed_precision = embed_precision
        self.where = settings.chroma_url or str(settings.chroma_path)
        # called before each write of a batch: a library that answers questions meanwhile waits
        # there for them (``Library.reading``), so that a long ingest never holds a question up
        self.between_writes: Callable[[], object] = lambda: None
        with _chroma("open the store", self.where):
            self.client = _client(settings)
            meta = {"hnsw:space": "cosine", "newsrag:embed_model": embed_model,
                    "newsrag:embed_precision": embed_precision}
            self.chunks = self.client.get_or_create_collection(
                f"{settings.collection}-chunks", metadata=meta, embedding_function=None)
            self.articles = self.client.get_or_create_collection(
                f"{settings.collection}-articles", metadata=meta, embedding_function=None)
            # earlier versions of updated articles, readable by id (never searched)
            self.versions = self.client.get_or_create_collection(
                f"{settings.collection}-versions", metadata=meta, embedding_function=None)
            # leases (``lease``): which process polls a feed, shared by every server on this store
            self.leases = self.client.get_or_create_collection(
                f"{settings.collection}-leases", metadata={"hnsw:space": "l2"}, embedding_function=None)
            self.max_batch = int(self.client.get_max_batch_size())
        recorded = self.chunks.metadata or {}
        built_with = recorded.get("newsrag:embed_model")
        if built_with and built_with != embed_model:
            raise ConfigError(
                f"The index '{settings.collection}' at {self.where} was built with the embedding model "
                f"{built_with!r}, not {embed_model!r}: set NEWSRAG_EMBED_MODEL={built_with} or use a new "
                "collection (NEWSRAG_COLLECTION=...) and ingest again.")
        # indexes from before the ONNX backends were built by torch, in fp32
        precision = recorded.get("newsrag:embed_precision", "fp32")
        if precision != embed_precision:
            raise ConfigError(
                f"The index '{settings.collection}' at {self.where} holds {precision} vectors of "
                f"{embed_model}, and this embedder makes {embed_precision} ones, which would not match: set "
                f"NEWSRAG_EMBED_BACKEND=onnx-{precision} or use a new collection and ingest again.")

    # -------------------------------------------------------------------------------- reading

    def _get_all(self, collection, include: list[str], where: dict | None = None) -> dict:
        ids: list[str] = []
        rows: dict[str, list] = {name: [] for name in include}
        offset = 0
        while True:
            page = collection.get(include=include, where=where, limit=_PAGE, offset=offset)
            ids.extend(page["ids"])
            for name in include:
                rows[name].extend(page[name])
            if len(page["ids"]) < _PAGE:
                return {"ids": ids, **rows}
            offset += _PAGE

    def list_articles(self) -> list[ArticleRecord]:
        with _chroma("list articles", self.where):
            page = self._get_all(self.articles, ["metadatas"])
        return [ArticleRecord._from_row(i, m) for i, m in zip(page["ids"], page["metadatas"], strict=True)]

    def get_article(self, article_id: str) -> ArticleRecord:
        with _chroma("read an article", self.where):
            page = self.articles.get(ids=[article_id], include=["metadatas", "documents"])
        if not page["ids"]:
            raise NotFoundError(f"No article with id {article_id!r}: `newsrag articles list` shows the ids.")
        return ArticleRecord._from_row(page["ids"][0], page["metadatas"][0], page["documents"][0])

    def get_version(self, article_id: str) -> ArticleRecord | None:
        """An earlier version kept when its article was updated, or None."""
        with _chroma("read an earlier version", self.where):
            page = self.versions.get(ids=[article_id], include=["metadatas", "documents"])
        if not page["ids"]:
            return None
        return ArticleRecord._from_row(page["ids"][0], page["metadatas"][0], page["documents"][0])

    def versions_superseded_by(self, article_id: str) -> list[ArticleRecord]:
        """The earlier versions that ``article_id`` replaced directly (without bodies)."""
        with _chroma("read earlier versions", self.where):
            page = self.versions.get(where={"superseded_by": article_id}, include=["metadatas"])
        return [ArticleRecord._from_row(i, m) for i, m in zip(page["ids"], page["metadatas"], strict=True)]

    def list_versions(self) -> list[ArticleRecord]:
        with _chroma("list earlier versions", self.where):
            page = self._get_all(self.versions, ["metadatas"])
        return [ArticleRecord._from_row(i, m) for i, m in zip(page["ids"], page["metadatas"], strict=True)]

    def get_chunks(self, ids: Sequence[str]) -> dict[str, ChunkRecord]:
        if not ids:
            return {}
        with _chroma("read chunks", self.where):
            page = self.chunks.get(ids=list(ids), include=["metadatas", "documents"])
        return {i: ChunkRecord._from_row(i, m, d)
                for i, m, d in zip(page["ids"], page["metadatas"], page["documents"], strict=True)}

    def chunk_versions(self) -> list[tuple[str, str, str]]:
        """``(chunk_id, article_id, version)`` of every stored chunk."""
        with _chroma("list chunks", self.where):
            page = self._get_all(self.chunks, ["metadatas"])
        return [(i, m["article_id"], m["version"]) for i, m in zip(page["ids"], page["metadatas"], strict=True)]

    def chunk_texts(self) -> tuple[list[str], list[str]]:
        """Ids and texts of every chunk, for building the lexical index."""
        with _chroma("read chunk texts", self.where):
            page = self._get_all(self.chunks, ["documents"])
        return page["ids"], page["documents"]

    def query(self, embeddings: np.ndarray, k: int, article_ids: Sequence[str] | None = None
              ) -> list[list[tuple[str, float]]]:
        """For each row of ``embeddings``, the nearest chunks as ``(chunk_id, cosine similarity)``,
        optionally within some articles; all rows in one round trip."""
        if not len(embeddings) or (article_ids is not None and not article_ids):
            return [[] for _ in embeddings]
        where = {"article_id": {"$in": list(article_ids)}} if article_ids is not None else None
        with _chroma("search", self.where):  # Chroma returns fewer than k when it holds fewer
            result = self.chunks.query(query_embeddings=embeddings.tolist(), n_results=k,
                                       where=where, include=["distances"])
        return [[(i, 1.0 - d) for i, d in zip(ids, distances, strict=True)]
                for ids, distances in zip(result["ids"], result["distances"], strict=True)]

    def counts(self) -> dict[str, int]:
        with _chroma("count", self.where):
            return {"articles": self.articles.count(), "chunks": self.chunks.count()}

    def ping(self) -> None:
        with _chroma("reach the store", self.where):
            self.client.heartbeat()

    # -------------------------------------------------------------------------------- writing

    @property
    def _write_step(self) -> int:
        """Chunks per write or delete: a 9,000-chunk article in bounded memory, and, on disk, never
        one long hold of the interpreter (``LOCAL_WRITE_BATCH``)."""
        return min(self.max_batch, WRITE_BATCH if self.settings.chroma_url else LOCAL_WRITE_BATCH)

    def write_articles(self, items: Sequence[tuple]) -> None:
        """Several articles, each ``(record, chunks, chunk vectors)``, in as few round trips as the
        store allows: every chunk first, then the article rows that commit them (a crash in
        between leaves only orphans to sweep)."""
        import numpy as np

        chunks = [c for item in items for c in item[1]]
        vectors = np.concatenate([item[2] for item in items]) if items else np.zeros((0, 0), dtype=np.float32)
        rows = []
        for record, _, found in items:
            mean = found.mean(axis=0)
            rows.append((record, (mean / (np.linalg.norm(mean) or 1.0)).tolist()))
        with _chroma("write chunks", self.where):
            step = self._write_step
            for lo in range(0, len(chunks), step):
                part = chunks[lo:lo + step]
                self.between_writes()
                self.chunks.upsert(ids=[c.id for c in part], documents=[c.text for c in part],
                                   metadatas=[c._metadata() for c in part],
                                   embeddings=vectors[lo:lo + len(part)].tolist())
            for lo in range(0, len(rows), self.max_batch):
                part = rows[lo:lo + self.max_batch]
                self.between_writes()
                self.articles.upsert(ids=[r.id for r, _ in part], documents=[r._document() for r, _ in part],
                                     metadatas=[r._row_metadata() for r, _ in part], embeddings=[v for _, v in part])

    def update_origins(self, record: ArticleRecord, origins: Sequence[dict]) -> ArticleRecord:
        updated = replace(record, origins=tuple(origins))
        with _chroma("update an article", self.where):
            self.articles.update(ids=[record.id], metadatas=[updated._metadata()])
        return updated

    def archive_article(self, article_id: str, *, superseded_by: str, at: float) -> None:
        """Keep an article's row (body, metadata) as an earlier version before it is deleted."""
        with _chroma("keep an earlier version", self.where):
            page = self.articles.get(ids=[article_id], include=["metadatas", "documents", "embeddings"])
            if not page["ids"]:
                return
            meta = {**page["metadatas"][0], "superseded_by": superseded_by, "superseded_at": at}
            self.versions.upsert(ids=[article_id], documents=[page["documents"][0]], metadatas=[meta],
                                 embeddings=[list(page["embeddings"][0])])

    def delete_versions(self, ids: Sequence[str]) -> None:
        if ids:
            with _chroma("delete earlier versions", self.where):
                self.versions.delete(ids=list(ids))

    def delete_chunks(self, ids: Sequence[str]) -> None:
        step = self._write_step
        with _chroma("delete chunks", self.where):
            for lo in range(0, len(ids), step):
                self.between_writes()
                self.chunks.delete(ids=list(ids[lo:lo + step]))

    def _legacy_sentences(self) -> str | None:
        name = f"{self.settings.collection}-sentences"
        with _chroma("list collections", self.where):
            return name if any(c.name == name for c in self.client.list_collections()) else None

    def outdated(self) -> bool:
        """Whether ``upgrade`` has work to do."""
        return self._legacy_sentences() is not None

    def upgrade(self) -> int:
        """Bring an index of the earlier layout, where every sentence had a row (and an HNSW index)
        of its own, to this one: each chunk row gets its sentences' stored vectors and facts, then
        the sentence collection is dropped. Returns the chunks given their sentences (0 when there
        was nothing to do); a chunk whose sentences are not all found keeps none, and a question
        embeds them itself. Called under the ingest lock."""
        import numpy as np

        from index.quantized import pack

        legacy = self._legacy_sentences()
        if legacy is None:
            return 0
        with _chroma("upgrade the index", self.where):
            sentences = self.client.get_collection(legacy, embedding_function=None)
            page = self._get_all(self.chunks, ["metadatas", "documents"])
            chunks = [ChunkRecord._from_row(i, m, d)
                      for i, m, d in zip(page["ids"], page["metadatas"], page["documents"], strict=True)]
            moved = 0
            for lo in range(0, len(chunks), _PAGE // 10):
                part = [c for c in chunks[lo:lo + _PAGE // 10] if not c.vectors]
                wanted = list(dict.fromkeys(f"{c.version}-s{start}" for c in part for start, _ in c.sentences))
                rows = sentences.get(ids=wanted, include=["metadatas", "embeddings"]) if wanted else None
                found = {i: (m.get("facts") or "", v) for i, m, v in zip(
                    rows["ids"], rows["metadatas"], rows["embeddings"], strict=True)} if rows else {}
                done = []
                for chunk in part:
                    held = [found.get(f"{chunk.version}-s{start}") for start, _ in chunk.sentences]
                    if held and all(held):
                        done.append(replace(chunk, vectors=pack(np.array([v for _, v in held])),
                                            facts="\n".join(f for f, _ in held)))
                if done:
                    self.chunks.update(ids=[c.id for c in done], metadatas=[c._metadata() for c in done])
                moved += len(done)
            self.client.delete_collection(legacy)
        return moved

    LEASE_SETTLE = 0.2  # seconds a claim waits for a concurrent one to land before reading the winner

    def lease(self, key: str, *, holder: str, seconds: float, force: bool = False) -> tuple[bool, str, float]:
        """Claim ``key`` for ``holder`` for ``seconds`` unless another holder's claim is still
        running (``force``: claim anyway). Returns ``(granted, holder, until)`` of the claim in
        force. Chroma has no compare-and-set: a claim is written, then read back after
        ``LEASE_SETTLE`` seconds; of two processes claiming at once, the last write wins and both
        read the same winner."""
        now = time.time()
        with _chroma("read a lease", self.where):
            row = self.leases.get(ids=[key], include=["metadatas"])
        if row["ids"] and not force:
            meta = row["metadatas"][0] or {}
            if meta.get("holder") != holder and float(meta.get("until", 0)) > now:
                return False, str(meta.get("holder")), float(meta["until"])
        until = now + seconds
        with _chroma("claim a lease", self.where):
            self.leases.upsert(ids=[key], metadatas=[{"holder": holder, "until": until}], embeddings=[[1.0]])
        if force:
            return True, holder, until
        time.sleep(self.LEASE_SETTLE)
        with _chroma("read a lease", self.where):
            row = self.leases.get(ids=[key], include=["metadatas"])
        meta = (row["metadatas"] or [{}])[0] or {}
        return meta.get("holder") == holder, str(meta.get("holder")), float(meta.get("until", until))

    def acquire(self, key: str, *, holder: str, since: float, seconds: float) -> bool:
        """One try at the lock ``key`` for ``holder``, asking since ``since`` (its place in line);
        granted until ``release`` or for ``seconds`` at most (a holder that died). Chroma has no
        compare-and-set, so every claimant writes a row of its own, then reads them all: it holds
        the lock when its row is the only live one. Of two that write at once, at least the later
        reader sees the other, so two never hold it together, whatever the timing; seeing others,
        the first in line keeps its row and tries again, the rest take theirs back."""
        now = time.time()
        mine = f"{key}/{holder}"
        with _chroma("claim a lock", self.where):
            self.leases.upsert(ids=[mine], metadatas=[{"lock": key, "holder": holder, "since": since,
                                                       "until": now + seconds}], embeddings=[[1.0]])
            rows = self.leases.get(where={"lock": key}, include=["metadatas"])
        live, stale = [], []
        for rid, meta in zip(rows["ids"], rows["metadatas"], strict=True):
            meta = meta or {}
            place = (float(meta.get("since", 0)), str(meta.get("holder")), rid)
            (live if rid == mine or float(meta.get("until", 0)) > now else stale).append(place)
        with _chroma("release a lock", self.where):
            if stale:
                self.leases.delete(ids=[rid for _, _, rid in stale])
            if len(live) == 1:
                return True
            if min(live)[2] != mine:
                self.leases.delete(ids=[mine])
        return False

    def release(self, key: str, *, holder: str) -> None:
        """End ``holder``'s hold of the lock ``key`` (``acquire``)."""
        with _chroma("release a lock", self.where):
            self.leases.delete(ids=[f"{key}/{holder}"])

    def delete_article(self, article_id: str) -> None:
        """Its chunks first, then its row (a crash in between leaves only orphans to sweep)."""
        with _chroma("delete an article", self.where):
            self.chunks.delete(where={"article_id": article_id})
            self.articles.delete(ids=[article_id])
