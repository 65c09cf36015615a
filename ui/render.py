"""Text renderings of an ``Answer``: plain text for the terminal, Markdown for chat clients that
show only text (``/v1/chat/completions``, MCP). The chat and the JSON API render the same objects
their own way."""

from __future__ import annotations

from rag.types import Answer


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
    """One line, brackets softened so quoted text never looks like a citation marker."""
    return " ".join(text.replace("[", "(").replace("]", ")").split())


def sources_markdown(answer: Answer, base_url: str | None = None) -> str:
    """What follows the answer text for text-only clients: a "Sources" block (with links to the
    highlighted sentence on this server when ``base_url`` is known), or why the answer was refused
    and the closest passages. Starts with a blank line."""
    lines: list[str] = []
    if answer.status == "refused":
        if answer.refusal is not None:
            lines.append(f"_Why: {_md(answer.refusal.reason)}._")
        if answer.closest:
            lines += ["", "**Closest passages** (not citations)"]
            for p in answer.closest:
                loc = p.location
                lines.append(f"- {_md(loc.title)} — {_md(loc.source or 'unknown outlet')}, {_when(loc.published_at)}: "
                             f"“{_md(p.body)[:200]}…”")
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
