"""Feed documents -> entries: RSS 2.0 / RSS 1.0 / Atom (feedparser), JSON Feed 1.x, and XML
sitemaps, Google News sitemaps and sitemap indexes (lxml, with entities and network access off).

``parse_feed`` never fetches anything (feedparser is handed bytes, never a URL). A document that
cannot be read raises ``FeedParseError`` (one line: what and where); a bad entry is left out with
one line in ``ParsedFeed.errors``, and the rest are read. Entries come newest first (undated ones
last, in document order), so a poll that takes only some takes the newest.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from index.articles import normalize_date
from index.errors import InputError

FULL_TEXT_WORDS = 80  # content in the feed this long is the article; shorter, its page is fetched
MAX_ERRORS = 50  # error lines kept per document
_BLOCKS = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "section", "article",
           "tr", "pre", "figcaption", "ul", "ol", "table", "header", "footer")


class FeedParseError(InputError):
    """The feed document as a whole cannot be read."""


@dataclass(frozen=True)
class Entry:
    """One item of a feed: the article's URL (its identity) and what the feed says about it."""

    url: str
    title: str | None = None
    published_at: str | None = None
    updated_at: str | None = None
    author: str | None = None
    outlet: str | None = None
    content: str | None = None  # the article text the feed carries (HTML turned to text), if any

    @property
    def full_text(self) -> bool:
        return bool(self.content) and len(self.content.split()) >= FULL_TEXT_WORDS

    def fingerprint(self) -> str:
        """Changes when anything the feed says about the entry changes (an updated item)."""
        payload = json.dumps([self.url, self.title, self.published_at, self.updated_at, self.author,
                              self.content], ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class ParsedFeed:
    kind: str  # rss, atom, rdf, jsonfeed, sitemap, news-sitemap, sitemap-index
    title: str | None = None
    entries: list[Entry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)  # the children of a sitemap index


def parse_feed(content: bytes, *, url: str, content_type: str = "") -> ParsedFeed:
    """Read a feed document fetched from ``url`` (relative links are resolved against it)."""
    head = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise FeedParseError(f"{url}: the feed is empty")
    if head[:1] in (b"{", b"["):
        parsed = _json_feed(head, url)
    else:
        root = _root_name(head)
        parsed = _sitemap(head, url) if root in ("urlset", "sitemapindex") else _feedparser(head, url, content_type)
    parsed.entries = _newest_first(parsed.entries)
    del parsed.errors[MAX_ERRORS:]
    return parsed


def _newest_first(entries: list[Entry]) -> list[Entry]:
    seen, unique = set(), []
    for entry in entries:  # one entry per URL: the first the document gives
        if entry.url not in seen:
            seen.add(entry.url)
            unique.append(entry)
    dated = sorted((e for e in unique if e.published_at or e.updated_at),
                   key=lambda e: _sort_key(e.published_at or e.updated_at), reverse=True)
    return dated + [e for e in unique if not (e.published_at or e.updated_at)]


def _sort_key(iso: str) -> float:
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        return 0.0
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _root_name(head: bytes) -> str:
    text = head[:4096].decode("utf-8", errors="replace")
    text = re.sub(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(\[.*?\])?\s*>", "", text, flags=re.DOTALL)
    match = re.search(r"<\s*([\w.:-]+)", text)
    return match.group(1).split(":")[-1].lower() if match else ""


def _web_url(raw: object, base: str, *, relative: bool = True) -> str | None:
    """An absolute http(s) URL from a link (resolved against ``base``); an id only when it is one."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    absolute = urljoin(base, raw.strip()) if relative else raw.strip()
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def html_text(markup: str | None) -> str | None:
    """Readable text of an HTML fragment: blocks as paragraphs, scripts and styles dropped."""
    if not markup or not markup.strip():
        return None
    if "<" not in markup:
        import html

        return _tidy(html.unescape(markup))
    from lxml import etree
    from lxml import html as lxml_html

    try:
        root = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return None
    for bad in root.xpath("//script|//style|//noscript|//iframe|//form|//nav"):
        bad.drop_tree()
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    for block in root.iter(*_BLOCKS):
        block.text = "\n\n" + (block.text or "")
        block.tail = "\n\n" + (block.tail or "")
    return _tidy(root.text_content())


def _tidy(text: str) -> str | None:
    lines = [" ".join(line.split()) for line in text.replace("\r", "\n").split("\n")]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return out or None


# ------------------------------------------------------------------------ RSS, Atom (feedparser)

def _feedparser(content: bytes, url: str, content_type: str) -> ParsedFeed:
    import feedparser

    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # bytes, never a URL: feedparser would fetch a URL itself, past our fetcher's checks
    # HTML is turned into text here (``html_text``: scripts dropped) and links resolved against
    # ``url``, so feedparser's own sanitizing and resolving (a third of its time) are off
    data = feedparser.parse(io.BytesIO(content), response_headers=headers, sanitize_html=False,
                            resolve_relative_uris=False)
    version = data.get("version") or ""
    problem = data.get("bozo_exception") if data.get("bozo") else None
    if isinstance(problem, feedparser.CharacterEncodingOverride | feedparser.NonXMLContentType):
        problem = None  # a wrong or missing Content-Type: the document itself was read
    if not data.entries and (problem is not None or not version):
        why = f"malformed XML ({_one_line(problem)})" if problem else "not an RSS, Atom, JSON Feed or sitemap document"
        raise FeedParseError(f"{url}: {why}")
    kind = "atom" if version.startswith("atom") else "rdf" if version.startswith("rss09") or version == "rss10" \
        else "rss"
    outlet = (data.feed.get("title") or "").strip() or None
    parsed = ParsedFeed(kind=kind, title=outlet)
    if problem is not None:
        parsed.errors.append(f"{url}: the feed is not well-formed ({_one_line(problem)}); "
                             f"{len(data.entries)} entries read from it anyway")
    for n, item in enumerate(data.entries):
        link = _web_url(item.get("link"), url) or _web_url(item.get("id"), url, relative=False)
        if link is None:
            parsed.errors.append(f"{url}#{n}: entry {n} ({(item.get('title') or 'untitled')[:60]!r}) has no "
                                 "http(s) link")
            continue
        content_html = next((c.get("value") for c in item.get("content") or () if c.get("value")), None)
        text = html_text(content_html) or html_text(item.get("summary"))
        author = item.get("author") or None
        parsed.entries.append(Entry(
            url=link, title=_clean(item.get("title")), published_at=_struct_date(item.get("published_parsed")),
            updated_at=_struct_date(dict.get(item, "updated_parsed")), author=_clean(author),
            outlet=_clean((item.get("source") or {}).get("title")) or outlet, content=text))
    if problem is not None and not parsed.entries:
        raise FeedParseError(f"{url}: malformed XML ({_one_line(problem)})")
    return parsed


def _struct_date(value) -> str | None:
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC).isoformat()
    except (TypeError, ValueError):
        return None


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    from html import unescape

    text = " ".join(unescape(value).split())
    return text or None


def _one_line(exc: object) -> str:
    text = str(exc).replace("<unknown>:", "line ").strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


# ----------------------------------------------------------------------------------- JSON Feed

def _json_feed(content: bytes, url: str) -> ParsedFeed:
    try:
        data = json.loads(content.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        raise FeedParseError(f"{url}: malformed JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})") from None
    except RecursionError:
        raise FeedParseError(f"{url}: the JSON is nested too deeply to be a feed") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise FeedParseError(f"{url}: JSON, but not a JSON Feed (no \"version\": \"https://jsonfeed.org/version/1.1\")")
    outlet = _clean(data.get("title"))
    parsed = ParsedFeed(kind="jsonfeed", title=outlet)
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedParseError(f"{url}: the JSON Feed has no \"items\" list")
    feed_author = _json_author(data)
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            parsed.errors.append(f"{url}#{n}: item {n} is a JSON {type(item).__name__}, not an object")
            continue
        link = _web_url(item.get("url"), url) or _web_url(item.get("external_url"), url) \
            or _web_url(item.get("id"), url, relative=False)
        if link is None:
            parsed.errors.append(f"{url}#{n}: item {n} ({str(item.get('title') or 'untitled')[:60]!r}) has no "
                                 "http(s) url")
            continue
        text = html_text(item.get("content_html")) or _tidy(str(item.get("content_text") or "")) \
            or _tidy(str(item.get("summary") or ""))
        parsed.entries.append(Entry(
            url=link, title=_clean(item.get("title")), published_at=normalize_date(item.get("date_published")),
            updated_at=normalize_date(item.get("date_modified")), author=_json_author(item) or feed_author,
            outlet=outlet, content=text))
    return parsed


def _json_author(obj: dict) -> str | None:
    authors = obj.get("authors") or ([obj["author"]] if isinstance(obj.get("author"), dict) else [])
    names = [_clean(a.get("name")) for a in authors if isinstance(a, dict)]
    return ", ".join(n for n in names if n) or None


# ------------------------------------------------------------------------------------ sitemaps

_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
       "news": "http://www.google.com/schemas/sitemap-news/0.9"}


def _sitemap(content: bytes, url: str) -> ParsedFeed:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False,
                             load_dtd=False)
    try:
        root = etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (0, 0)
        raise FeedParseError(f"{url}: malformed XML at line {line}, column {column} ({exc.msg})") from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise FeedParseError(f"{url}: the sitemap declares a DTD (entities), which is not read")
    name = etree.QName(root).localname
    if name == "sitemapindex":
        parsed = ParsedFeed(kind="sitemap-index")
        for loc in root.iterfind(".//{*}sitemap/{*}loc"):
            child = _web_url(loc.text, url)
            if child:
                parsed.sitemaps.append(child)
        return parsed
    parsed = ParsedFeed(kind="sitemap")
    for n, node in enumerate(root.iterfind("{*}url")):
        link = _web_url(node.findtext("{*}loc"), url)
        if link is None:
            parsed.errors.append(f"{url}#{n}: <url> {n} has no http(s) <loc>")
            continue
        news = node.find("news:news", _NS)
        lastmod = normalize_date((node.findtext("{*}lastmod") or "").strip() or None)
        if news is None:
            parsed.entries.append(Entry(url=link, updated_at=lastmod))
            continue
        parsed.kind = "news-sitemap"
        outlet = _clean(news.findtext("news:publication/news:name", namespaces=_NS))
        parsed.title = parsed.title or outlet
        parsed.entries.append(Entry(
            url=link, title=_clean(news.findtext("news:title", namespaces=_NS)),
            published_at=normalize_date((news.findtext("news:publication_date", namespaces=_NS) or "").strip() or None),
            updated_at=lastmod, outlet=outlet))
    return parsed
