"""Page boilerplate: lines that recur verbatim across many articles of one outlet.

A newsletter prompt ("CLICK HERE TO SIGN UP FOR OUR HEALTH NEWSLETTER"), template code left by a
scraper ("Lifestyle Edit email {{ #verifyErrors }} {{ message }} …"), a share bar ("Facebook
Twitter Whatsapp Reddit Email Share") or "Advertisement" is written by the outlet's page, not by
the reporter, and the same line comes back in article after article. A line (whitespace
normalized) that at least ``MIN_ARTICLES`` different articles of one outlet hold is boilerplate:
it is neither indexed nor shown. One article alone decides nothing, and an article without an
outlet is never cleaned: lines shared by articles of different outlets are what syndicated copies
of one story share.

Incremental (``index.library`` applies it under the ingest lock):

- every article row keeps the keys of its lines as loaded (``line_keys``: a short hash each, a
  removed one marked ``-``), so the counts per outlet come from the catalog and follow every add
  and removal, with nothing else to keep consistent;
- the articles of one ingest are counted before any is cleaned: a folder ingested at once is
  cleaned as a whole;
- when a line becomes frequent (the third article holding it arrives), the earlier articles that
  still show it are cleaned in the same run and stored as a new version (the old text stays
  readable by its id, as for any updated article);
- a line that falls under the threshold after articles are removed is not put back in the
  articles already cleaned (their stored text no longer holds it); ingesting the file again does.

Lines are the text's own line breaks (a paragraph in most article files). On the MultiHop-RAG
train split: ``python -m eval.boilerplate``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

MIN_ARTICLES = 3  # articles of one outlet holding a line that make it boilerplate
REMOVED = "-"  # marks the key of a removed line in an article's stored keys
_BLANKS = re.compile(r"\n{3,}")


def line_key(line: str) -> str | None:
    """The key of a line (48 bits of its hash, whitespace normalized); None for a blank line."""
    text = " ".join(line.split())
    if not text:
        return None
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=6).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def line_keys(body: str) -> list[str]:
    """The distinct keys of a body's lines, in order."""
    return list(dict.fromkeys(k for k in map(line_key, body.split("\n")) if k))


def outlet_of(source: str | None) -> str | None:
    """The outlet lines are counted under (None: an article without one is never cleaned)."""
    name = " ".join((source or "").split()).casefold()
    return name or None


@dataclass(frozen=True)
class Cleaned:
    body: str
    removed: tuple[str, ...]  # keys of the lines removed

    def stored_keys(self, keys: Iterable[str]) -> str:
        """The article's line keys as its row keeps them (removed ones marked)."""
        gone = set(self.removed)
        return " ".join(f"{REMOVED}{k}" if k in gone else k for k in keys)


def clean(body: str, frequent: Iterable[str] | set[str]) -> Cleaned:
    """``body`` without its lines whose key is in ``frequent``; never empty: a text made only of
    such lines is kept whole."""
    frequent = frequent if isinstance(frequent, (set, frozenset)) else set(frequent)
    if not frequent:
        return Cleaned(body, ())
    kept, removed = [], []
    for line in body.split("\n"):
        key = line_key(line)
        if key is not None and key in frequent:
            removed.append(key)
        else:
            kept.append(line)
    if not removed:
        return Cleaned(body, ())
    text = _BLANKS.sub("\n\n", "\n".join(kept)).strip()
    if not text:
        return Cleaned(body, ())
    return Cleaned(text, tuple(dict.fromkeys(removed)))


def parse_stored(stored: str | None) -> tuple[list[str], set[str]]:
    """An article row's keys: all of them, and those removed from its text."""
    keys, removed = [], set()
    for token in (stored or "").split():
        if token.startswith(REMOVED):
            token = token[len(REMOVED):]
            removed.add(token)
        keys.append(token)
    return keys, removed


class LineCounts:
    """How many articles of each outlet hold each line key. An article is counted once by the set
    of its keys (a copy of the same text under another name adds nothing)."""

    def __init__(self, *, min_articles: int = MIN_ARTICLES):
        self.min_articles = min_articles
        self._counts: dict[str, Counter] = {}
        self._held: dict[tuple[str, str], tuple[str, ...]] = {}  # (outlet, identity) -> keys

    @staticmethod
    def identity(keys: Iterable[str]) -> str:
        return hashlib.blake2b(" ".join(sorted(set(keys))).encode(), digest_size=8).hexdigest()

    def add(self, source: str | None, keys: Iterable[str]) -> None:
        outlet, keys = outlet_of(source), tuple(dict.fromkeys(keys))
        if outlet is None or not keys:
            return
        ident = (outlet, self.identity(keys))
        if ident in self._held:
            return
        self._held[ident] = keys
        self._counts.setdefault(outlet, Counter()).update(keys)

    def discard(self, source: str | None, keys: Iterable[str]) -> None:
        outlet, keys = outlet_of(source), tuple(dict.fromkeys(keys))
        ident = (outlet, self.identity(keys))
        if outlet is None or self._held.pop(ident, None) is None:
            return
        self._counts[outlet].subtract(keys)

    def frequent(self, source: str | None) -> set[str]:
        """The keys of the outlet's boilerplate lines."""
        counts = self._counts.get(outlet_of(source) or "")
        if not counts:
            return set()
        return {k for k, n in counts.items() if n >= self.min_articles}

    def count(self, source: str | None, key: str) -> int:
        return self._counts.get(outlet_of(source) or "", Counter()).get(key, 0)

    @classmethod
    def of(cls, articles: Iterable[tuple[str | None, Iterable[str]]], **options) -> LineCounts:
        counts = cls(**options)
        for source, keys in articles:
            counts.add(source, keys)
        return counts


def clean_all(articles: Iterable[tuple[str | None, str]], *, min_articles: int = MIN_ARTICLES
              ) -> list[Cleaned]:
    """Bodies of ``(source, body)`` pairs cleaned together, as one ingest of all of them does."""
    items = list(articles)
    counts = LineCounts.of(((s, line_keys(b)) for s, b in items), min_articles=min_articles)
    frequent: dict[str | None, set[str]] = {}
    out = []
    for source, body in items:
        outlet = outlet_of(source)
        if outlet not in frequent:
            frequent[outlet] = counts.frequent(source)
        out.append(clean(body, frequent[outlet]))
    return out
