"""Browsing the library: one page of articles matching a search, in a chosen order.

``Listing`` is built once per catalog snapshot (its fingerprint): the three orders and a search key
per article. A page is then a filter over an already sorted list, so the Library tab and
``GET /api/articles`` answer in milliseconds at tens of thousands of articles, with no Chroma call.

A search word matches an article when it is in its title or outlets (any case, part of a word),
or in its text: the BM25 index (``index.lexical``) holds every chunk, and a word's analysed terms
(stem, one spelling) must all occur in the article's chunks. Every word must match (stop words
are skipped unless the search has nothing else). ``Library.browse`` then finds, for each article
shown, the sentence of its text that matches best (``Match``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cached_property
from typing import Protocol

from index.errors import ConfigError
from index.store import ArticleRecord

SORTS = ("newest", "oldest", "title", "relevance")  # relevance: best match first (newest without words)
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
    """Words to find in the title, outlet or text (all of them, any case), outlets, an inclusive
    range of publication days (undated articles never match a range), an order and a page."""

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


    @property
    def words(self) -> list[str]:
        """The search words that must match: stop words only count when there is nothing else."""
        from index.text import analyze

        words = self.q.casefold().split()
        content = [w for w in words if analyze(w)]
        return content or words


class TextIndex(Protocol):
    """What a search needs of the full-text index (``index.lexical.LexicalIndex``)."""

    def articles_with(self, terms: Sequence[str]) -> set[str]: ...
    def best_chunks(self, query: str, article_ids: Collection[str]) -> dict[str, tuple[str, float]]: ...


@dataclass(frozen=True)
class Match:
    """Why an article matches a search: the fields holding its words (``title``, ``outlet``,
    ``text``) and the sentence of its text that matches best, ``body[start:end]``, with the
    search's words in it (``marks``: offsets in ``quote``)."""

    fields: tuple[str, ...]
    quote: str | None = None
    start: int | None = None
    end: int | None = None
    marks: tuple[tuple[int, int], ...] = ()
    chunk_id: str | None = None  # the chunk the sentence was read from

    def to_dict(self) -> dict:
        data = {"fields": list(self.fields)}
        if self.quote is not None:
            data["sentence"] = {"quote": self.quote, "start": self.start, "end": self.end,
                                "marks": [list(m) for m in self.marks]}
        return data


_WORD = re.compile(r"\w+")


def best_sentence(text: str, base: int, spans: Iterable[tuple[int, int]], terms: Collection[str],
                  weight) -> tuple[int, int, tuple[tuple[int, int], ...]] | None:
    """Of the sentences ``spans`` (body offsets; ``text`` is the body from ``base``), the one
    holding the most weight of ``terms`` (``weight(term)``: its idf), first on ties; its offsets and
    the words of ``terms`` in it. None when no sentence holds one (a match in the title only)."""
    from index.text import analyze

    best, best_score = None, 0.0
    for start, end in spans:
        sentence = text[start - base:end - base]
        found = set(analyze(sentence)) & set(terms)
        score = sum(weight(t) for t in found) + 1e-6 * len(found)
        if score > best_score:
            best, best_score = (start, end), score
    if best is None:
        return None
    sentence = text[best[0] - base:best[1] - base]
    marks = tuple((m.start(), m.end()) for m in _WORD.finditer(sentence)
                  if (stems := analyze(m.group())) and stems[0] in terms)
    return best[0], best[1], marks


@dataclass(frozen=True)
class ArticlePage:
    total: int  # articles matching the query
    query: ArticleQuery
    articles: list[ArticleRecord]
    matches: dict[str, Match] = field(default_factory=dict)  # by article id, when there are words

    @property
    def first(self) -> int:
        """1-based position of the first article shown (0 when none is)."""
        return self.query.offset + 1 if self.articles else 0

    @property
    def last(self) -> int:
        return self.query.offset + len(self.articles)

    def to_dict(self) -> dict:
        return {"total": self.total, "offset": self.query.offset, "limit": self.query.limit,
                "articles": [{**r.to_dict(), **({"match": self.matches[r.id].to_dict()} if r.id in self.matches
                                                else {})} for r in self.articles]}


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


@dataclass(frozen=True)
class OutletSummary:
    name: str
    articles: int
    first: str | None  # the day of its oldest dated article
    last: str | None
    undated: int = 0

    def to_dict(self) -> dict:
        return {"name": self.name, "articles": self.articles, "first": self.first, "last": self.last,
                "undated": self.undated}


@dataclass(frozen=True)
class Overview:
    """What a library (or the part of it a filter keeps) holds: its outlets with their articles
    and dates, most articles first; the days it spans; its newest articles."""

    articles: int
    outlets: tuple[OutletSummary, ...]
    first: str | None
    last: str | None
    undated: int  # articles without a date
    without_outlet: int
    newest: tuple[ArticleRecord, ...]

    def to_dict(self) -> dict:
        return {"articles": self.articles, "outlets": [o.to_dict() for o in self.outlets],
                "span": {"first": self.first, "last": self.last}, "undated": self.undated,
                "without_outlet": self.without_outlet, "newest": [r.to_dict() for r in self.newest]}


def overview(records: Iterable[ArticleRecord], *, newest: int = 5) -> Overview:
    """The ``Overview`` of ``records`` (newest first, undated last, then by title)."""
    records = list(records)
    ordered = sorted(records, key=lambda r: (r.published_ts is None, -(r.published_ts or 0),
                                             r.display_title.casefold(), r.id))
    days: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    for r in records:
        for name in dict.fromkeys(r.sources):
            key = name.casefold()
            names.setdefault(key, name)
            counts[key] = counts.get(key, 0) + 1
            if r.published_at:
                days.setdefault(key, []).append(r.published_at[:10])
    outlets = []
    for key, n in counts.items():
        dates = days.get(key, [])
        outlets.append(OutletSummary(names[key], n, min(dates, default=None), max(dates, default=None),
                                     n - len(dates)))
    outlets.sort(key=lambda o: (-o.articles, o.name.casefold()))
    dated = [r.published_at[:10] for r in records if r.published_at]
    return Overview(len(records), tuple(outlets), min(dated, default=None), max(dated, default=None),
                    len(records) - len(dated), sum(1 for r in records if not r.sources),
                    tuple(ordered[:newest]))


class Listing:
    """The articles of one catalog snapshot, sorted three ways, with their search keys."""

    def __init__(self, records: Iterable[ArticleRecord]):
        by_title = sorted(records, key=lambda r: (r.display_title.casefold(), r.id))
        dated = [r for r in by_title if r.published_ts is not None]
        undated = [r for r in by_title if r.published_ts is None]
        newest = sorted(dated, key=lambda r: -r.published_ts)  # stable: ties stay in title order
        oldest = sorted(dated, key=lambda r: r.published_ts)
        self.orders = {"newest": newest + undated, "oldest": oldest + undated, "title": by_title}
        self.orders["relevance"] = self.orders["newest"]
        self.titles = {r.id: r.display_title.casefold() for r in by_title}
        self.outlet_keys = {r.id: " ".join(r.sources).casefold() for r in by_title}
        self.keys = {r.id: f"{self.titles[r.id]} {self.outlet_keys[r.id]}" for r in by_title}
        self.outlets = sorted({s for r in by_title for s in r.sources}, key=str.casefold)

    def __len__(self) -> int:
        return len(self.keys)

    @cached_property
    def overview(self) -> Overview:
        return overview(self.orders["newest"])

    def page(self, query: ArticleQuery, *, text: TextIndex | None = None) -> ArticlePage:
        """One page of the articles matching ``query``; without ``text``, words are only looked for
        in titles and outlets."""
        from index.text import analyze

        words = query.words
        in_text = [text.articles_with(analyze(w)) if text is not None and analyze(w) else set() for w in words]
        passes = record_filter(query.sources, query.since, query.until)

        def keep(r: ArticleRecord) -> bool:
            if words and not all(w in self.keys[r.id] or r.id in held for w, held in zip(words, in_text,
                                                                                        strict=True)):
                return False
            return passes is None or passes(r)

        ordered = self.orders[query.sort]
        found = [r for r in ordered if keep(r)] if words or passes is not None else ordered
        if query.sort == "relevance" and words and text is not None:
            scores = {aid: s for aid, (_, s) in text.best_chunks(query.q, {r.id for r in found}).items()}
            found = sorted(found, key=lambda r: -scores.get(r.id, 0.0))  # stable: newest first on ties
        shown = found[query.offset:query.offset + query.limit]
        why = {r.id: Match(self.fields(r.id, words, in_text)) for r in shown} if words else {}
        return ArticlePage(len(found), query, shown, why)

    def fields(self, article_id: str, words: Sequence[str], in_text: Sequence[set[str]]) -> tuple[str, ...]:
        """Where the words were found, before the text is read: title, outlet, and "text" when the
        full-text index holds some of them (the sentence decides, ``Library.browse``)."""
        from index.text import analyze

        def holds(text: str) -> bool:  # part of a word, or the word in another form ("intercepts")
            terms = set(analyze(text))
            return any(w in text or (stems := analyze(w)) and set(stems) <= terms for w in words)

        found = []
        if holds(self.titles[article_id]):
            found.append("title")
        if holds(self.outlet_keys[article_id]):
            found.append("outlet")
        if any(article_id in held for held in in_text):
            found.append("text")
        return tuple(found)
