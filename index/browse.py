"""Browsing the library: one page of articles matching a search, in a chosen order.

``Listing`` is built once per catalog snapshot (its fingerprint): the three orders and a search key
per article. A page is then a filter over an already sorted list, so the Library tab and
``GET /api/articles`` answer in milliseconds at tens of thousands of articles, with no Chroma call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from index.errors import ConfigError
from index.store import ArticleRecord

SORTS = ("newest", "oldest", "title")
MAX_LIMIT = 1000


def _day(value: str | date | None, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a date: use YYYY-MM-DD, e.g. 2023-10-01.") from None


@dataclass(frozen=True, kw_only=True)
class ArticleQuery:
    """Words to find in the title or outlet (all of them, any case), outlets, an inclusive range of
    publication days (undated articles never match a range), an order and a page."""

    q: str = ""
    sources: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    sort: str = "newest"
    offset: int = 0
    limit: int = 50

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ConfigError(f"sort={self.sort!r} is unknown: use one of {', '.join(SORTS)}.")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ConfigError(f"limit={self.limit} must be between 1 and {MAX_LIMIT}.")
        if self.offset < 0:
            raise ConfigError(f"offset={self.offset} must be 0 or more.")
        if self.since and self.until and self.since > self.until:
            raise ConfigError(f"since={self.since} is after until={self.until}: swap them.")

    @classmethod
    def of(cls, *, q: str | None = None, sources: Iterable[str] | str | None = None,
           since: str | date | None = None, until: str | date | None = None, sort: str | None = None,
           offset: int | None = None, limit: int | None = None) -> ArticleQuery:
        """From loose input (a form, a query string): blanks mean "any"."""
        if isinstance(sources, str):
            sources = sources.split("|")
        names = tuple(dict.fromkeys(s.strip() for s in sources or () if s and s.strip()))
        return cls(q=" ".join((q or "").split()), sources=names, since=_day(since, "since"),
                   until=_day(until, "until"), sort=sort or "newest", offset=offset or 0,
                   limit=50 if limit is None else limit)


@dataclass(frozen=True)
class ArticlePage:
    total: int  # articles matching the query
    query: ArticleQuery
    articles: list[ArticleRecord]

    @property
    def first(self) -> int:
        """1-based position of the first article shown (0 when none is)."""
        return self.query.offset + 1 if self.articles else 0

    @property
    def last(self) -> int:
        return self.query.offset + len(self.articles)

    def to_dict(self) -> dict:
        return {"total": self.total, "offset": self.query.offset, "limit": self.query.limit,
                "articles": [r.to_dict() for r in self.articles]}


def _ts(day: date, *, end: bool) -> int:
    return int(datetime.combine(day, time.max if end else time.min, tzinfo=UTC).timestamp())


def record_filter(sources: Iterable[str] = (), since: date | None = None, until: date | None = None
                  ) -> Callable[[ArticleRecord], bool] | None:
    """Whether an article is from one of ``sources`` (any case) and was published within
    ``since``..``until`` (inclusive days; an undated article is never within a range); ``None``
    when nothing is asked. The Library's listing and the answer's filters both read articles so."""
    wanted = {s.casefold() for s in sources}
    lo = _ts(since, end=False) if since else None
    hi = _ts(until, end=True) if until else None
    if not wanted and lo is None and hi is None:
        return None

    def passes(record: ArticleRecord) -> bool:
        if wanted and not wanted & {s.casefold() for s in record.sources}:
            return False
        if lo is None and hi is None:
            return True
        ts = record.published_ts
        return ts is not None and (lo is None or ts >= lo) and (hi is None or ts <= hi)

    return passes


class Listing:
    """The articles of one catalog snapshot, sorted three ways, with their search keys."""

    def __init__(self, records: Iterable[ArticleRecord]):
        by_title = sorted(records, key=lambda r: (r.display_title.casefold(), r.id))
        dated = [r for r in by_title if r.published_ts is not None]
        undated = [r for r in by_title if r.published_ts is None]
        newest = sorted(dated, key=lambda r: -r.published_ts)  # stable: ties stay in title order
        oldest = sorted(dated, key=lambda r: r.published_ts)
        self.orders = {"newest": newest + undated, "oldest": oldest + undated, "title": by_title}
        self.keys = {r.id: " ".join([r.display_title, *r.sources]).casefold() for r in by_title}
        self.outlets = sorted({s for r in by_title for s in r.sources}, key=str.casefold)

    def __len__(self) -> int:
        return len(self.keys)

    def page(self, query: ArticleQuery) -> ArticlePage:
        words = query.q.casefold().split()
        passes = record_filter(query.sources, query.since, query.until)

        def matches(r: ArticleRecord) -> bool:
            if words and not all(w in self.keys[r.id] for w in words):
                return False
            return passes is None or passes(r)

        ordered = self.orders[query.sort]
        found = [r for r in ordered if matches(r)] if words or passes is not None else ordered
        return ArticlePage(len(found), query, found[query.offset:query.offset + query.limit])
