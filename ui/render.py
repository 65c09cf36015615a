r"""Text renderings of an ``Answer``: plain text for the terminal, Markdown for chat clients that
show only text (``/v1/chat/completions``, MCP). The chat and the JSON API render the same objects
their own way.

Markdown for other clients is safe to render, whatever an article (or a model led by one) says:
every piece of text goes through ``MarkdownText``, so it shows as written and makes no link, image
or HTML — ``<``/``>``/entity ``&`` as HTML entities, ``[ ] ` $ \`` backslash-escaped (a citation
marker ``[n]`` stays, unless a ``(`` or ``:`` after it would make it a link), and a token that a
renderer could turn into a link by itself (``http://…``, ``www.…``, ``name@host.org``,
``example.com``) as code. The only links are ours: to the cited sentence on this server.
"""

from __future__ import annotations

import re

from rag.types import Answer

_MARKER = re.compile(r"\[\d{1,3}\]")
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_SPECIAL = re.compile(r"[\\`$\[\]<>]")
_ESCAPES = {"<": "&lt;", ">": "&gt;"}
_LINKISH = re.compile(r"(?i)[a-z][a-z0-9+.-]*://|www\.|[^\s@]+@[^\s@]+\.[a-z]{2,}"
                      r"|^[(\"'“‘]*[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}(/\S*)?$")
_TRAILING = re.compile(r"(?:[.,;:!?)\"'”’]|\[\d{1,3}\])+$")  # closing punctuation, citation markers
_SPACE = re.compile(r"(\s+)")


def _escape_chars(text: str) -> str:
    out, i = [], 0
    text = _ENTITY.sub("&amp;", text)
    while i < len(text):
        marker = _MARKER.match(text, i)
        if marker and text[marker.end():marker.end() + 1] not in ("(", ":"):
            out.append(marker.group())
            i = marker.end()
            continue
        ch = text[i]
        out.append(_ESCAPES.get(ch) or ("\\" + ch if _SPECIAL.match(ch) else ch))
        i += 1
    return "".join(out)


def _escape_token(token: str) -> str:
    """One whitespace-free token: as code when a renderer might make a link of it, else escaped."""
    trail = _TRAILING.search(token)
    cut = trail.start() if trail is not None else len(token)
    if cut == 0 or not _LINKISH.search(token[:cut]):
        return _escape_chars(token)
    return f"`{token[:cut].replace('`', '%60')}`" + _escape_chars(token[cut:])


class MarkdownText:
    """Escapes text streamed in pieces: ``feed`` returns what is final (whole tokens), ``flush``
    the rest; the pieces joined are ``escape_markdown`` of the whole, however it was cut."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, text: str) -> str:
        parts = _SPACE.split(self._pending + text)
        self._pending = parts.pop()  # the last token may go on in the next piece
        return "".join(p if i % 2 else _escape_token(p) for i, p in enumerate(parts) if p)

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return _escape_token(rest) if rest else ""


def escape_markdown(text: str) -> str:
    stream = MarkdownText()
    return stream.feed(text) + stream.flush()


def _when(published_at: str | None) -> str:
    return (published_at or "")[:10] or "undated"


def answer_as_text(answer: Answer) -> str:
    lines = [answer.answer, ""]
    if answer.status == "refused":
        if answer.refusal is not None:
            lines.append(f"Why: {answer.refusal.reason}.")
            if answer.refusal.reply:
                lines.append(f"The model replied: {' '.join(answer.refusal.reply.split())[:300]}")
            lines.append("")
        if answer.closest:
            lines.append("Closest passages (not citations):")
            for p in answer.closest:
                loc = p.location
                excerpt = " ".join(p.body.split())[:220]
                lines.append(f"  - {loc.title} ({loc.source or 'unknown outlet'}, {_when(loc.published_at)})")
                lines.append(f"    {excerpt}…")
    else:
        lines.append("Sources:")
        for c in answer.citations:
            loc = c.location
            lines.append(f"  [{c.n}] {loc.title} — {loc.source or 'unknown outlet'}, {_when(loc.published_at)}")
            lines.append(f"      “{c.quote}”")
            for other in c.also:
                lines.append(f"      also in: {other.title} — {other.source or 'unknown outlet'}")
            if c.story:  # syndicated copies of the story it quotes
                carried = "; ".join(f"{o.source or 'unknown outlet'}, {_when(o.published_at)}" for o in c.story)
                lines.append(f"      the same story also in: {carried}")
        flagged = [s for s in answer.sentences if not s.supported]
        if flagged:
            lines.append("")
            lines.append("Not supported by the cited passages:")
            lines.extend(f"  - {s.text} ({s.reason})" for s in flagged)
    lines.append("")
    lines.append(f"mode: {answer.mode} · {answer.timings_ms.get('total', 0):.0f} ms")
    return "\n".join(lines).rstrip()


def _md(text: str) -> str:
    """One line of text, safe to render: brackets softened so quoted text never looks like a
    citation marker, then escaped."""
    return escape_markdown(" ".join(text.replace("[", "(").replace("]", ")").split()))


def _cut(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0]


def answer_markdown(answer: Answer, base_url: str | None = None) -> str:
    """The whole Markdown of an answer for text-only clients: its text, escaped, then the sources."""
    return escape_markdown(answer.answer) + sources_markdown(answer, base_url)


def sources_markdown(answer: Answer, base_url: str | None = None) -> str:
    """What follows the answer text for text-only clients: a "Sources" block (with links to the
    highlighted sentence on this server when ``base_url`` is known), or why the answer was refused
    and the closest passages. Starts with a blank line; every text in it escaped (``_md``)."""
    lines: list[str] = []
    if answer.status == "refused":
        if answer.refusal is not None:
            lines.append(f"_Why: {_md(answer.refusal.reason)}._")
        if answer.closest:
            lines += ["", "**Closest passages** (not citations)"]
            for p in answer.closest:
                loc = p.location
                lines.append(f"- {_md(loc.title)} — {_md(loc.source or 'unknown outlet')}, {_when(loc.published_at)}: "
                             f"“{_md(_cut(p.body, 200))}…”")
    else:
        lines.append("**Sources**")
        for c in answer.citations:
            loc = c.location
            link = f" <{base_url}articles/{loc.article_id}?start={loc.start}&end={loc.end}>" if base_url else ""
            also = "".join(f"; also {_md(o.source or o.title)}" for o in c.also)
            lines.append(f"[{c.n}] {_md(loc.source or 'unknown outlet')}, {_when(loc.published_at)} — "
                         f"“{_md(c.quote)}” ({_md(loc.title)}{also}){link}")
        flagged = [s for s in answer.sentences if not s.supported]
        if flagged:
            lines += ["", "**Not supported by the articles**"]
            lines += [f"- {_md(s.text)} ({_md(s.reason or 'no passage states it')})" for s in flagged]
    return "\n\n" + "\n".join(lines) if lines else ""
