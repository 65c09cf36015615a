"""Articles and how files become articles.

Formats: ``.txt`` (plain, with an optional news header), ``.md`` (optional YAML front matter),
``.html``/``.htm`` (main text and metadata by trafilatura), ``.json`` (one article object, a list,
or ``{"articles": [...]}``; the MultiHop-RAG ``corpus.json`` loads as it is) and ``.jsonl``.

Loading never raises for bad input: ``load_paths`` yields an ``Article`` for every good record and
an ``InputError`` (one line: ``<path>: <reason>``) for every bad file, record or line.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from index.chunking import split_sentences
from index.errors import InputError, TooLargeError

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl")

# Field names accepted in JSON records and Markdown front matter, by our field.
_ALIASES = {
    "body": ("body", "text", "content", "article", "article_text"),
    "title": ("title", "headline"),
    "source": ("source", "outlet", "publisher", "site_name", "sitename", "site"),
    "published_at": ("published_at", "published", "date", "pubdate", "datetime", "publication_date"),
    "author": ("author", "authors", "byline", "by"),
    "url": ("url", "link", "canonical_url"),
    "category": ("category", "section"),
}


@dataclass(frozen=True, kw_only=True)
class Article:
    """One news article as loaded from a file, before chunking.

    ``origin`` names where it came from (a path, ``path#3`` for the fourth item of a JSON list,
    ``path:7`` for line 7 of a JSONL file); ``key`` identifies "the same article" across runs: its
    URL when it has one, else its origin. ``id`` is a hash of the body, so an identical text under
    another name is recognised as the same article.
    """

    title: str | None  # None when the file names none: never invented from its file name
    body: str
    origin: str
    path: str
    source: str | None = None
    published_at: str | None = None
    author: str | None = None
    url: str | None = None
    category: str | None = None
    # the keys of its lines as loaded, removed boilerplate marked (``index.boilerplate``); set when cleaned
    lines: str | None = None

    @property
    def key(self) -> str:
        return self.url or self.origin

    @cached_property
    def id(self) -> str:  # a hash of the whole body: read once (a chunk of a 9 MB text asked it 9,000 times)
        return article_id(self.body)

    @property
    def published_ts(self) -> int | None:
        return date_timestamp(self.published_at)

    @property
    def lead(self) -> str:
        return lead_of(self.body)

    @property
    def display_title(self) -> str:
        return display_title(self.title, self.lead)

    def metadata(self) -> dict[str, str]:
        """The descriptive fields that are set (used in headers, versions and records)."""
        fields = {"title": self.title, "source": self.source, "published_at": self.published_at,
                  "author": self.author, "url": self.url, "category": self.category}
        return {k: v for k, v in fields.items() if v}


LEAD_CHARS = 48  # an untitled article is shown by this much of its first sentence


def lead_of(body: str, limit: int = LEAD_CHARS) -> str:
    """The opening of the body's first sentence, cut at a word and marked "…" when longer."""
    spans = split_sentences(body[:4 * limit + 200])
    first = " ".join(body[spans[0][0]:spans[0][1]].split()) if spans else ""
    if len(first) <= limit:
        return first
    cut = first[:limit + 1].rsplit(" ", 1)[0] if " " in first[:limit + 1] else first[:limit]
    return cut.rstrip(",;:—-– ") + " …"


def display_title(title: str | None, lead: str | None) -> str:
    """How an article is named to people: its title, else ``Untitled — "its lead …"``."""
    if title:
        return title
    return f'Untitled — "{lead}"' if lead else "Untitled"


def article_id(body: str) -> str:
    return "a" + hashlib.sha256(body.encode("utf-8")).hexdigest()[:15]


def normalize_text(text: str) -> str:
    """Unify line endings and trim the ends; offsets into the result are what citations use."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    return text.strip()


# ---------------------------------------------------------------------------------------- dates

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d %B %Y", "%B %d, %Y", "%b %d, %Y", "%d %b %Y",
                 "%B %d %Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


def normalize_date(raw: object) -> str | None:
    """An ISO 8601 string for a date we can read, else ``None``; a date is never invented."""
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw.isoformat()
    text = str(raw).strip()
    if not text:
        return None
    iso = text[:-1] + "+00:00" if text.endswith("Z") else text
    try:
        parsed = datetime.fromisoformat(iso)
        return parsed.date().isoformat() if len(text) == 10 else parsed.isoformat()
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.date().isoformat() if "%H" not in fmt else parsed.isoformat()
    try:
        return email.utils.parsedate_to_datetime(text).isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def date_timestamp(iso: str | None) -> int | None:
    """Seconds since the epoch (UTC; a date without a time is its midnight UTC)."""
    if not iso:
        return None
    parsed = datetime.fromisoformat(iso)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


# ------------------------------------------------------------------------------ plain-text header

_KV_LINE = re.compile(r"^(?P<key>[A-Za-z_ ]{2,20}):\s*(?P<value>\S.*)$")
_TERMINAL = re.compile(r"[.!?…:;,\"”’)\]]$")


def split_text_header(text: str) -> tuple[dict[str, str], str]:
    """Metadata honestly present at the top of a plain-text article, and the body after it.

    Two shapes are recognised: ``Key: value`` lines (title, source, date, author, url, ...) up to
    a blank line, and a news header of up to four short lines without closing punctuation, such as
    ``Miami News, KMIA`` / ``World News`` / headline: outlet first, headline last, a section in
    between; a line that reads as a date is the date, one starting ``By`` the author.
    """
    lines = text.split("\n")
    meta: dict[str, str] = {}
    consumed = 0
    for i, line in enumerate(lines):
        if not line.strip():
            consumed = i + 1
            break
        match = _KV_LINE.match(line.strip())
        field = _field_for(match["key"]) if match else None
        if field is None:
            meta = {}
            break
        meta[field] = match["value"].strip()
    if meta and "body" not in meta:
        return meta, "\n".join(lines[consumed:])

    header: list[str] = []
    position = 0
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if len(stripped) > 200 or _TERMINAL.search(stripped) or len(header) == 4:
            position = i
            break
        header.append(stripped)
    else:
        return {}, text  # nothing but short lines: keep it all as the body
    if not header:
        return {}, text
    meta = {}
    rest = []
    for line in header:
        if "published_at" not in meta and normalize_date(line):
            meta["published_at"] = line
        elif "author" not in meta and re.match(r"^by\s+\S", line, re.IGNORECASE):
            meta["author"] = line[3:].strip()
        else:
            rest.append(line)
    if rest:
        meta["title"] = rest[-1]
    if len(rest) >= 2:
        meta["source"] = rest[0]
    if len(rest) >= 3:
        meta["category"] = " / ".join(rest[1:-1])
    return meta, "\n".join(lines[position:])


def _field_for(name: str) -> str | None:
    key = name.strip().lower().replace(" ", "_")
    for field, aliases in _ALIASES.items():
        if key in aliases:
            return field
    return None


# ------------------------------------------------------------------------------------ records


def _record_fields(record: dict) -> dict[str, object]:
    """Our fields from a JSON object or front matter, by their accepted names (case-insensitive)."""
    lowered = {str(k).lower(): v for k, v in record.items()}
    fields: dict[str, object] = {}
    for field, aliases in _ALIASES.items():
        for alias in aliases:
            value = lowered.get(alias)
            if value not in (None, "", []):
                fields[field] = value
                break
    return fields


def _text_field(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v).strip() for v in value if str(v).strip()) or None
    if isinstance(value, dict):
        value = value.get("name") or value.get("title")
        return str(value).strip() if value else None
    return str(value).strip() or None


def make_article(fields: dict[str, object], *, origin: str, path: Path) -> Article:
    """An ``Article`` from loose fields; raises ``InputError`` when there is no usable body."""
    body = fields.get("body")
    if body is None:
        raise InputError(f"{origin}: no article text (expected a 'body', 'text' or 'content' field)")
    if not isinstance(body, str):
        raise InputError(f"{origin}: the article text is a {type(body).__name__}, not a string")
    body = normalize_text(body)
    if not body:
        raise InputError(f"{origin}: empty article body")
    raw_date = fields.get("published_at")
    return Article(
        title=_text_field(fields.get("title")),
        body=body,
        origin=origin,
        path=str(path),
        source=_text_field(fields.get("source")),
        published_at=normalize_date(raw_date) if raw_date is not None else None,
        author=_text_field(fields.get("author")),
        url=_text_field(fields.get("url")),
        category=_text_field(fields.get("category")),
    )


# ------------------------------------------------------------------------------------- formats


def _load_txt(text: str, path: Path, origin: str) -> Iterator[Article]:
    meta, body = split_text_header(normalize_text(text))
    yield make_article({**meta, "body": body}, origin=origin, path=path)


def _load_md(text: str, path: Path, origin: str) -> Iterator[Article]:
    import yaml

    text = normalize_text(text)
    meta: dict[str, object] = {}
    match = re.match(r"^---\n(.*?)\n---\n?", text, re.DOTALL)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 2})" if mark is not None else ""
            raise InputError(f"{origin}: front matter is not valid YAML{where}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise InputError(f"{origin}: front matter must be a mapping of fields, not a "
                             f"{type(loaded).__name__}")
        meta = _record_fields(loaded or {})
        text = text[match.end():]
    heading = re.match(r"^\s*#\s+(.+)\n", text)
    if heading and "title" not in meta:
        meta["title"] = heading.group(1).strip()
        text = text[heading.end():]
    yield make_article({**meta, "body": text}, origin=origin, path=path)


def html_fields(text: str, *, origin: str) -> dict[str, object]:
    """An HTML page's main text and metadata (trafilatura), as loose article fields."""
    import trafilatura

    doc = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False,
                                      include_tables=False)
    if doc is None:
        raise InputError(f"{origin}: no article text found in the HTML")
    data = doc.as_dict()
    body = data.get("text") or ""
    title = (data.get("title") or "").strip()
    first, _, rest = body.partition("\n")
    if title and first.strip() == title:
        body = rest
    return {"body": body, "title": title, "source": data.get("sitename"),
            "published_at": data.get("date"), "author": data.get("author"),
            "url": data.get("url"), "category": data.get("categories") or None}


def _load_html(text: str, path: Path, origin: str) -> Iterator[Article]:
    yield make_article(html_fields(text, origin=origin), origin=origin, path=path)


def _load_json(text: str, path: Path, origin: str) -> Iterator[Article | InputError]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{origin}: malformed JSON at line {exc.lineno}, column {exc.colno} "
                         f"({exc.msg})") from exc
    except RecursionError:
        raise InputError(f"{origin}: the JSON is nested too deeply to be an article file") from None
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    if isinstance(data, dict):
        yield make_article(_record_fields(data), origin=origin, path=path)
        return
    if not isinstance(data, list):
        raise InputError(f"{origin}: expected an article object or a list of them, "
                         f"got a JSON {type(data).__name__}")
    for n, item in enumerate(data):
        item_origin = f"{origin}#{n}"
        if not isinstance(item, dict):
            yield InputError(f"{item_origin}: item {n} is a JSON {type(item).__name__}, not an object")
            continue
        try:
            yield make_article(_record_fields(item), origin=item_origin, path=path)
        except InputError as exc:
            yield exc


def _load_jsonl(text: str, path: Path, origin: str) -> Iterator[Article | InputError]:
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        line_origin = f"{origin}:{lineno}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield InputError(f"{line_origin}: malformed JSON line ({exc.msg} at column {exc.colno})")
            continue
        except RecursionError:
            yield InputError(f"{line_origin}: the JSON is nested too deeply to be an article")
            continue
        if not isinstance(item, dict):
            yield InputError(f"{line_origin}: a JSON {type(item).__name__}, not an article object")
            continue
        try:
            yield make_article(_record_fields(item), origin=line_origin, path=path)
        except InputError as exc:
            yield exc


_LOADERS = {".txt": _load_txt, ".md": _load_md, ".markdown": _load_md, ".html": _load_html,
            ".htm": _load_html, ".json": _load_json, ".jsonl": _load_jsonl}


# ----------------------------------------------------------------------------------- files


def read_text_file(path: Path, *, max_bytes: int, label: str | None = None) -> str:
    """The file's text, or an ``InputError`` saying in one line why it cannot be used."""
    label = label or str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{label}: cannot read ({exc.strerror or exc})") from exc
    if size > max_bytes:
        raise TooLargeError(f"{label}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:g} MB limit "
                            "(raise NEWSRAG_MAX_FILE_MB to allow it)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{label}: cannot read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise InputError(f"{label}: empty file")
    if b"\x00" in data[:8192]:
        raise InputError(f"{label}: binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{label}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset "
                         f"{exc.start}); re-save the file as UTF-8") from exc


def load_file(path: Path, *, max_bytes: int, label: str | None = None,
              max_articles: int | None = None) -> Iterator[Article | InputError]:
    """Every article of one file, and an ``InputError`` per bad file, record or line; a file
    holding more than ``max_articles`` records is refused whole."""
    label = label or str(path)
    if max_articles is not None:
        results = list(load_file(path, max_bytes=max_bytes, label=label))
        if len(results) > max_articles:
            yield InputError(f"{label}: {len(results)} articles in one file; at most {max_articles} are "
                             "accepted (split the file, or raise NEWSRAG_MAX_ARTICLES_PER_FILE)")
            return
        yield from results
        return
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        yield InputError(f"{label}: unsupported file type '{path.suffix or '(none)'}' "
                         f"(supported: {', '.join(SUPPORTED_SUFFIXES)})")
        return
    try:
        text = read_text_file(path, max_bytes=max_bytes, label=label)
        yield from loader(text, path.resolve(), label)
    except InputError as exc:
        yield exc


def expand_paths(paths: Iterable[str | Path]) -> Iterator[Path | InputError]:
    """Files named, and files under folders named (recursively, sorted, hidden ones skipped)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            try:
                children = sorted(path.rglob("*"))
            except OSError as exc:
                yield InputError(f"{path}: cannot read the folder ({exc.strerror or exc})")
                continue
            for child in children:
                relative = child.relative_to(path)
                if any(part.startswith(".") for part in relative.parts) or child.is_dir():
                    continue
                if child.is_file():
                    yield child
                else:
                    yield InputError(f"{child}: cannot read (a broken link or not a regular file)")
        elif path.is_file():
            yield path
        elif path.exists() or path.is_symlink():
            yield InputError(f"{path}: cannot read (a broken link or not a regular file)")
        else:
            yield InputError(f"{path}: no such file or folder")


def load_paths(paths: Iterable[str | Path], *, max_bytes: int) -> Iterator[Article | InputError]:
    """Every article under ``paths``, with an ``InputError`` in place of each bad input."""
    for item in expand_paths(paths):
        if isinstance(item, InputError):
            yield item
        else:
            yield from load_file(item, max_bytes=max_bytes)
