"""Plain-text rendering of an ``Answer`` for the terminal (the chat and the API render the same
objects their own way)."""

from __future__ import annotations

from rag.types import Answer


def _when(published_at: str | None) -> str:
    return (published_at or "")[:10] or "undated"


def answer_as_text(answer: Answer) -> str:
    lines = [answer.answer, ""]
    if answer.status == "refused":
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
            lines.append(f"  [{c.n}] {c.title} — {c.source or 'unknown outlet'}, {_when(c.published_at)}")
            lines.append(f"      “{c.quote}”")
            for other in c.also:
                lines.append(f"      also in: {other.title} — {other.source or 'unknown outlet'}")
        flagged = [s for s in answer.sentences if not s.supported]
        if flagged:
            lines.append("")
            lines.append("Not supported by the cited passages:")
            lines.extend(f"  - {s.text} ({s.reason})" for s in flagged)
    lines.append("")
    lines.append(f"mode: {answer.mode} · {answer.timings_ms.get('total', 0):.0f} ms")
    return "\n".join(lines).rstrip()
