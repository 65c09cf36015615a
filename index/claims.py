"""Who holds a key (an article's URL, else its file): of two texts for one key, the one with the
stronger ``claim`` is the article, the other an earlier version of it. Every writer, and
``index.journal.repair``, decides by the same rule, whatever order the texts arrive in."""

from __future__ import annotations

import time
from collections import defaultdict

from index.articles import Article
from index.store import ArticleRecord, VectorStore


def origin_of(article: Article) -> dict:
    """Where an article came from; ``at``: when its key was given this text (``claim``)."""
    return {"key": article.key, "origin": article.origin, "path": article.path,
            "title": article.title, "source": article.source, "at": time.time()}


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


def drop_key(store: VectorStore, record: ArticleRecord, key: str, *, superseded_by: str | None = None
             ) -> ArticleRecord | None:
    """Remove one origin from a record; delete the article when none is left. An article
    replaced by another (``superseded_by``) is kept as an earlier version first, so what was
    quoted from it can still be read."""
    remaining = [o for o in record.origins if o["key"] != key]
    if remaining:
        return store.update_origins(record, remaining)
    if superseded_by is not None and superseded_by != record.id:
        store.archive_article(record.id, superseded_by=superseded_by, at=time.time())
    store.delete_article(record.id)
    return None


def move_key(store: VectorStore, key: str, new_owner: str, owner: dict[str, str],
             records: dict[str, ArticleRecord | None], *, by_rule: bool = True) -> None:
    """Give ``key`` to ``new_owner``: the text that held it becomes an earlier version of the
    new one, unless its claim is the stronger (``claim``: a newer date) — then the new text is
    the earlier version. ``by_rule=False``: the new owner is the old one's own text cleaned."""
    previous = owner.get(key)
    if previous and previous != new_owner and records.get(previous) is not None:
        new = records.get(new_owner)
        if by_rule and new is not None and claim(records[previous], key) > claim(new, key):
            records[new_owner] = drop_key(store, new, key, superseded_by=previous)
            return
        records[previous] = drop_key(store, records[previous], key, superseded_by=new_owner)
    owner[key] = new_owner


def settle(store: VectorStore, records: dict[str, ArticleRecord | None]) -> None:
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
                    records[holder.id] = drop_key(store, records[holder.id], key, superseded_by=keep.id)
