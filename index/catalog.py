"""The committed articles as one snapshot (``Catalog``), named by its fingerprint: what retrieval,
browsing and the BM25 index read, re-read by ``index.library.Library.catalog`` after a write."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from index.store import ArticleRecord, chunk_id


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

    @cached_property
    def name_links(self) -> dict[str, str]:
        """Across the library, a short form -> the full form its articles write for it ("Fed" ->
        "Federal Reserve"): the one more than half of the articles linking that short form agree on
        (``index.language.name_links``), so an article that writes only "the Fed" is read by those
        that introduce it."""
        votes: dict[str, Counter] = defaultdict(Counter)
        for record in self.articles.values():
            if not record.names:
                continue
            for entry in json.loads(record.names).values():
                for short, full in entry.get("a", {}).items():
                    votes[short][full] += 1
        return {short: full for short, counted in votes.items() for full, n in counted.most_common(1)
                if 2 * n > sum(counted.values())}

    def story_of(self, article_id: str) -> str:
        record = self.articles.get(article_id)
        return record.story_id if record is not None else "s" + article_id.removeprefix("a")


def origins(records: Iterable[ArticleRecord]) -> set[tuple[str, str]]:
    """Every ``(article id, key)`` of ``records``: another replica may add a name to an article, or
    take one away, without changing the fingerprint."""
    return {(r.id, o.get("key", "")) for r in records for o in r.origins}
