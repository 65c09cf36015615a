"""Feeds that keep the library current: the list of feeds, their state, and one poll.

A feed is a JSON file under ``<home>/feeds/<id>.json`` (written whole, atomically, under a lock
file): its URL, name and interval, the validators of its last response (ETag, Last-Modified),
when it was polled and is due, what the last poll found (new, updated, unchanged, failed, a 304)
with its errors, totals, and a fingerprint of every entry already ingested.

``Poller.poll`` fetches the feed (``index.fetch``: conditional, bounded, SSRF-safe), reads it
(``index.feedparse``), and for each entry new or changed since the last poll builds the article:
the feed's own text when it carries the article, else the entry's page fetched and extracted by
trafilatura; the feed's title, date, author and outlet win over the page's. The articles go
through ``Library.add``, the incremental path of every ingest: an unchanged article writes
nothing, a changed one (same URL: the URL is the article's identity) becomes a new version. The
entry fingerprints are saved only after the articles are committed, so a poll killed midway is
done again and finds what it had written unchanged: nothing is ingested twice. A bad entry is one
line in the poll's errors and is tried again at the next poll; the rest are ingested.

Two servers on one Chroma server share the feeds' leases (``Store.lease``): a scheduled poll
runs only in the process that holds its feed's lease, which lasts until the feed is next due.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.articles import Article, make_article
from index.errors import ConfigError, FetchError, InputError, NewsragError, NotFoundError
from index.feedparse import Entry, parse_feed
from index.fetch import Fetcher
from index.library import IngestReport, Library, Progress
from index.records import Records

DEFAULT_EVERY = 30 * 60
MAX_CHILD_SITEMAPS = 10
MAX_BACKOFF = 6 * 3600
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 60}


def parse_every(text: str | int | float, *, minimum: float = 60) -> int:
    """"30m", "2h", "90s", "1d" (a bare number is minutes) -> seconds, at least ``minimum``."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _EVERY.match(str(text))
        if not match:
            raise ConfigError(f"--every {text!r} is not an interval: use a number with s, m, h or d, e.g. 30m.")
        seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds < minimum or seconds > 30 * 86400:
        raise ConfigError(f"--every {text!r} is {seconds:g} s: feeds are polled every {minimum:g} s to 30 days.")
    return int(seconds)


def feed_id(url: str) -> str:
    return "f" + hashlib.sha256(url.strip().encode()).hexdigest()[:12]


def check_url(url: str) -> str:
    from urllib.parse import urlsplit

    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise ConfigError(f"{url[:200]!r} is not a feed address: give an http(s) URL, e.g. "
                          "https://example.org/rss.xml.")
    return url


@dataclass
class PollResult:
    feed: dict
    report: IngestReport | None = None
    skipped: str | None = None  # why nothing was polled (another server holds the feed)

    def summary(self) -> str:
        if self.skipped:
            return f"{self.feed['name']}: skipped ({self.skipped})"
        last = self.feed["last"] or {}
        if self.feed["status"] == "failed":
            return f"{self.feed['name']}: failed: {self.feed['last_error']}"
        if last.get("not_modified"):
            return f"{self.feed['name']}: not modified (304)"
        more = f", {last['deferred']} left for the next poll" if last.get("deferred") else ""
        return (f"{self.feed['name']}: {last.get('new', 0)} new, {last.get('updated', 0)} updated, "
                f"{last.get('unchanged', 0)} unchanged, {last.get('failed', 0)} failed{more}")


class Feeds(Records):
    """The feeds of one data directory."""

    def __init__(self, home: Path):
        super().__init__(Path(home) / "feeds", prefix="f", what="feed", listed="`newsrag feeds list`",
                         order="added_at")

    def find(self, key: str) -> dict:
        """A feed by id, URL or name."""
        with contextlib.suppress(NotFoundError):
            return self.get(key)
        for feed in self.all():
            if key in (feed["url"], feed["name"]):
                return feed
        raise NotFoundError(f"No feed {key[:200]!r}: `newsrag feeds list` shows the ids, URLs and names.")

    def save(self, feed: dict) -> None:
        with self.locked():
            self.write(feed)

    def add(self, url: str, *, every: int = DEFAULT_EVERY, name: str | None = None) -> dict:
        url = check_url(url)
        name = (name or "").strip()[:200] or None
        fid = feed_id(url)
        with self.locked():
            if self.path(fid).is_file():
                raise ConfigError(f"{url} is already a feed ({fid}); `newsrag feeds remove {fid}` first to add "
                                  "it again.")
            now = time.time()
            feed = {"id": fid, "url": url, "name": name or url, "named": bool(name), "every": int(every),
                    "added_at": now, "etag": None, "last_modified": None, "last_poll": None,
                    "next_poll": now, "status": "new", "last_error": None, "failures": 0, "deferred": False,
                    "last": None, "totals": {"new": 0, "updated": 0, "failed": 0, "polls": 0, "not_modified": 0},
                    "entries": {}}
            self.write(feed)
            return feed

    def due(self, now: float | None = None) -> list[dict]:
        now = time.time() if now is None else now
        return [f for f in self.all() if (f.get("next_poll") or 0) <= now]


def public_feed(feed: dict) -> dict:
    """A feed as the API and the UI show it: without the entry fingerprints."""
    data = {k: v for k, v in feed.items() if k not in ("entries", "named")}
    data["entries_known"] = len(feed.get("entries") or {})
    return data


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Poller:
    """Polls feeds into one library with one fetcher; ``holder`` names this process in leases."""

    def __init__(self, library: Library, *, fetcher: Fetcher | None = None, holder: str | None = None):
        self.library = library
        self.feeds = Feeds(library.settings.home)
        self.settings = library.settings.fetch
        self.fetcher = fetcher or Fetcher(settings=self.settings)
        self.holder = holder or holder_name()

    def close(self) -> None:
        self.fetcher.close()

    def __enter__(self) -> Poller:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def poll(self, fid: str, *, scheduled: bool = False, progress: Callable[[Progress], None] | None = None
             ) -> PollResult:
        """Poll one feed now. ``scheduled``: only if this process gets the feed's lease (another
        server polling the same feed on the same store holds it until the feed is next due)."""
        feed = self.feeds.get(fid)
        lease_key = "feed-" + hashlib.sha256(feed["url"].encode()).hexdigest()[:24]
        granted, holder, until = self.library.store.lease(lease_key, holder=self.holder, seconds=feed["every"],
                                                          force=not scheduled)
        if not granted:
            def later(f: dict) -> None:
                f["next_poll"] = max(until, time.time() + 1)
            feed = self.feeds.update(fid, later)
            return PollResult(feed, skipped=f"polled by {holder} until {time.strftime('%H:%M:%S', time.localtime(until))}")
        started = time.time()
        try:
            report, last, validators = self._poll(feed, progress)
        except (FetchError, InputError) as exc:
            error = exc
            return PollResult(self.feeds.update(fid, lambda f: _failed(f, error, started)))
        return PollResult(self.feeds.update(fid, lambda f: _done(f, last, validators, started)), report)

    # ---------------------------------------------------------------------------- internals

    def _poll(self, feed: dict, progress) -> tuple[IngestReport | None, dict, dict]:
        conditional = {} if feed.get("deferred") else {"etag": feed.get("etag"),
                                                        "last_modified": feed.get("last_modified")}
        fetched = self.fetcher.get(feed["url"], accept=FEED_ACCEPT, **conditional)
        validators = {"etag": fetched.etag or feed.get("etag"),
                      "last_modified": fetched.last_modified or feed.get("last_modified")}
        if fetched.not_modified:
            return None, {"not_modified": True, "new": 0, "updated": 0, "unchanged": 0, "failed": 0,
                          "errors": [], "seen": 0, "deferred": 0, "entries": {}}, validators
        parsed = parse_feed(fetched.content, url=fetched.url, content_type=fetched.content_type)
        errors = list(parsed.errors)
        entries = list(parsed.entries)
        for child in parsed.sitemaps[:MAX_CHILD_SITEMAPS]:
            try:
                page = self.fetcher.get(child, accept=FEED_ACCEPT)
                sub = parse_feed(page.content, url=page.url, content_type=page.content_type)
            except (FetchError, InputError) as exc:
                errors.append(str(exc))
                continue
            errors += sub.errors
            entries += sub.entries
        if len(parsed.sitemaps) > MAX_CHILD_SITEMAPS:
            errors.append(f"{feed['url']}: {len(parsed.sitemaps)} sitemaps listed; the first {MAX_CHILD_SITEMAPS} "
                          "are read")
        if parsed.title and not feed.get("named"):
            feed["name"] = parsed.title
        known = feed.get("entries") or {}
        fresh = [e for e in entries if known.get(e.url) != e.fingerprint()]
        todo, deferred = fresh[:self.settings.max_entries], len(fresh) - min(len(fresh), self.settings.max_entries)
        articles, done, failed = [], {}, []
        for entry in todo:
            try:
                articles.append(self._article(feed, entry, parsed.title))
                done[entry.url] = entry.fingerprint()
            except (FetchError, InputError) as exc:
                failed.append(str(exc) if str(exc).startswith(entry.url) else f"{entry.url}: {exc}")
        report = self.library.add(articles, failures=failed, progress=progress) if articles or failed else None
        counts = report.to_dict() if report else {"added": 0, "updated": 0, "unchanged": 0, "duplicates": 0}
        last = {"not_modified": False, "new": counts["added"], "updated": counts["updated"],
                "unchanged": counts["unchanged"] + counts["duplicates"] + len(entries) - len(fresh),
                "failed": len(failed), "errors": (errors + failed)[:20], "seen": len(entries), "deferred": deferred,
                "entries": done, "name": feed["name"], "articles": (report.articles if report else [])[:50]}
        return report, last, validators

    def _article(self, feed: dict, entry: Entry, feed_title: str | None) -> Article:
        outlet = entry.outlet or feed_title
        fields: dict[str, object] = {}
        if entry.full_text:
            fields = {"body": entry.content}
        else:
            page = self.fetcher.get(entry.url, accept=PAGE_ACCEPT)
            from index.articles import html_fields

            fields = html_fields(page.text(), origin=entry.url)
        given = {"title": entry.title, "source": outlet, "published_at": entry.published_at or entry.updated_at,
                 "author": entry.author}
        fields.update({k: v for k, v in given.items() if v})
        fields["url"] = entry.url  # the entry's URL is the article's identity, whatever the page says
        return make_article(fields, origin=f"feed:{feed['id']}", path=Path(f"feed-{feed['id']}"))


def _done(feed: dict, last: dict, validators: dict, started: float) -> None:
    entries = last.pop("entries")
    feed["entries"] = {**(feed.get("entries") or {}), **entries}
    if last.get("name") and not feed.get("named"):
        feed["name"] = last["name"]
    last.pop("name", None)
    feed.update(validators)
    feed.update(last_poll=started, status="ok", last_error=None, failures=0, deferred=bool(last["deferred"]),
                last={**last, "at": started, "seconds": round(time.time() - started, 3)})
    feed["next_poll"] = started + feed["every"]
    totals = feed["totals"]
    totals["polls"] += 1
    totals["new"] += last["new"]
    totals["updated"] += last["updated"]
    totals["failed"] += last["failed"]
    totals["not_modified"] += int(last["not_modified"])
    if last["errors"]:
        feed["last_error"] = last["errors"][0]


def _failed(feed: dict, exc: NewsragError, started: float) -> None:
    feed["failures"] = feed.get("failures", 0) + 1
    backoff = min(feed["every"] * 2 ** (feed["failures"] - 1), max(MAX_BACKOFF, feed["every"]))
    retry = getattr(exc, "retry_after", None) or 0
    message = str(exc)
    feed.update(last_poll=started, status="failed", last_error=message, next_poll=started + max(backoff, retry),
                last={"not_modified": False, "new": 0, "updated": 0, "unchanged": 0, "failed": 0,
                      "errors": [message], "seen": 0, "deferred": 0, "at": started,
                      "seconds": round(time.time() - started, 3)})
    feed["totals"]["polls"] += 1
