"""A conversation as Markdown, with its citations: for each question, the answer as the chat shows
it (conflicts, direct line, sentences with ``[n]``), then every source with its title, outlet,
date, URL, a link to the sentence on this server, and the quoted sentence.

Used by the chat's "Export Markdown" button and ``POST /api/conversations/export``; both read the
stored exchanges (``{"question", "answer": Answer.to_dict()}``), so an answer exports exactly as it
was given, without asking the index again.

A conversation lives in its browser: nothing is written for it on the server. An export the chat's
button asks for waits in memory (``Exports``) for its one download by the session that asked,
for a few minutes at most, and is forgotten once served.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlparse

from index.errors import ConfigError
from ui.markup import article_href, outlets, source_line, when

_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def md(text: object) -> str:
    """Text as Markdown that shows it verbatim (no emphasis, links or HTML from article text)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text or "").split()))


def _cites(numbers: Sequence[int] | None) -> str:
    return "".join(f"[{int(n)}]" for n in numbers or ())


def _answer_lines(answer: Mapping) -> list[str]:
    cites = {int(c["n"]): c for c in answer.get("citations") or ()}
    lines: list[str] = []
    for conflict in answer.get("conflicts") or ():
        head = {"differ": "Reports differ", "updated": "Figure updated"}.get(conflict.get("kind"), "Sources disagree")
        values = "; ".join(f"{md(c['text'])} — {md(source_line(cites.get(int(c['n']))))} [{int(c['n'])}]"
                           for c in conflict["claims"])
        lines += [f"> **⚠ {head}:** {values}", ""]
    direct = answer.get("direct")
    if direct:
        values = " / ".join(f"**{md(v['text'])}** {_cites(v.get('citations'))}".rstrip()
                            for v in direct.get("values") or ()) or f"**{md(direct.get('text'))}**"
        detail = f" — {md(direct['detail'])}" if direct.get("detail") else ""
        lines += [f"{values}{detail}", ""]
    sentences = answer.get("sentences") or ()
    if sentences:
        parts = []
        for s in sentences:
            if s.get("supported", True) and s.get("kind") != "unsupported":
                parts.append(f"{md(s['text'])} {_cites(s.get('citations'))}".rstrip())
            else:
                parts.append(f"⚠ _{md(s['text'])}_ (not supported: {md(s.get('reason') or 'no source backs it')})")
        lines += [" ".join(parts), ""]
    else:  # stored before answers had sentences: the text, whose [n] are the citations
        lines += [md(answer.get("answer")).replace("\\[", "[").replace("\\]", "]"), ""]
    return lines


def _source_lines(items: Sequence[Mapping], base_url: str | None, *, numbered: bool) -> list[str]:
    lines = []
    for i, c in enumerate(items, start=1):
        label = f"[{int(c['n'])}]" if numbered else f"{i}."
        meta = f"{md(outlets(c))}, {when(c.get('published_at'))}"
        lines.append(f"- {label} **{md(c['title'])}** — {meta}")
        if _plain_url(c.get("url")):
            lines.append(f"  - URL: <{c['url']}>")
        if base_url:
            href = article_href(c["article_id"], c["start"], c["end"])
            lines.append(f"  - In newsrag: <{base_url.rstrip('/')}/{href}>")
        text = c.get("quote") if numbered else " ".join(str(c.get("text") or "").split())[:400]
        lines.append(f"  > {md(text)}")
        for other in c.get("also") or ():
            lines.append(f"  - Same sentence also in: {md(other.get('title'))} — "
                         f"{md(other.get('source') or 'outlet unknown')}")
    return lines


def _plain_url(url: object) -> bool:
    if not isinstance(url, str) or any(ch.isspace() or ch in "<>" for ch in url):
        return False
    parsed = urlparse(url)
    return parsed.scheme in {"http", "https"} and bool(parsed.netloc)


def exchange_markdown(n: int, exchange: Mapping, *, base_url: str | None = None) -> str:
    answer = exchange["answer"]
    lines = [f"## {n}. {md(exchange['question'])}", ""]
    if answer.get("status") == "refused":
        lines += [f"**Not in the articles.** {md(answer.get('answer'))}", ""]
        reason = (answer.get("refusal") or {}).get("reason")
        if reason:
            lines += [f"Why: {md(reason)}", ""]
        if answer.get("closest"):
            lines += ["Closest passages (not citations):", ""]
            lines += _source_lines(answer["closest"], base_url, numbered=False) + [""]
    else:
        lines += _answer_lines(answer)
        if answer.get("citations"):
            lines += ["Sources:", ""] + _source_lines(answer["citations"], base_url, numbered=True) + [""]
    total = (answer.get("timings_ms") or {}).get("total")
    timing = f" · {total:.0f} ms" if isinstance(total, (int, float)) else ""
    lines.append(f"_mode: {md(answer.get('mode') or '?')}{timing}_")
    return "\n".join(lines)


def conversation_markdown(conversation: Mapping, *, base_url: str | None = None,
                          now: datetime | None = None) -> str:
    """``conversation``: ``{"title"?, "exchanges": [{"question", "answer"}]}``."""
    exchanges = conversation.get("exchanges") or []
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    count = f"{len(exchanges)} question{'s' if len(exchanges) != 1 else ''}"
    head = [f"# {md(conversation.get('title') or 'newsrag conversation')}", "",
            f"_Exported from newsrag on {stamp} · {count}_", ""]
    body = []
    for i, exchange in enumerate(exchanges, start=1):
        try:
            body.append(exchange_markdown(i, exchange, base_url=base_url))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"exchanges[{i - 1}] is not a question with an answer object from /api/ask "
                              f"({type(exc).__name__}: {exc}).") from None
    return "\n".join(head) + "\n" + "\n\n".join(body) + "\n"


def file_name(title: str | None) -> str:
    slug = re.sub(r"[^\w]+", "-", (title or "").lower(), flags=re.ASCII).strip("-")[:50]
    return f"newsrag-{slug or 'conversation'}.md"


@dataclass(frozen=True)
class Export:
    text: str
    name: str
    owner: str | None  # the logged-in user who asked for it (None without a login)
    created: float


class Exports:
    """Exports waiting for their one download: in memory only, each served once to the session
    that asked for it and then forgotten; unclaimed ones expire after ``ttl`` seconds, and at most
    ``max_items`` (``max_chars`` in all) wait at once, the oldest dropped first."""

    def __init__(self, *, ttl: float = 300.0, max_items: int = 64, max_chars: int = 50_000_000,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl, self.max_items, self.max_chars, self.clock = ttl, max_items, max_chars, clock
        self._waiting: OrderedDict[str, Export] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, text: str, name: str, *, owner: str | None) -> str:
        """Keep ``text`` for one download; returns the unguessable key of its address."""
        key = secrets.token_urlsafe(24)
        with self._lock:
            self._expire()
            self._waiting[key] = Export(text, name, owner, self.clock())
            while len(self._waiting) > self.max_items or (
                    len(self._waiting) > 1 and sum(len(e.text) for e in self._waiting.values()) > self.max_chars):
                self._waiting.popitem(last=False)
        return key

    def take(self, key: str, *, owner: str | None) -> Export | None:
        """The export under ``key`` if ``owner`` asked for it and it has not expired; it is gone after."""
        with self._lock:
            self._expire()
            found = self._waiting.get(key)
            if found is None or found.owner != owner:
                return None
            del self._waiting[key]
            return found

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._waiting)

    def _expire(self) -> None:
        now = self.clock()
        for key in [k for k, e in self._waiting.items() if e.created <= now - self.ttl]:
            del self._waiting[key]
