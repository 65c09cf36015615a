"""The timeline of an answer: its cited sentences ordered by the publication date of their
articles, placed on a vertical time axis (the space between two entries grows with the time
between them), undated ones listed after it.

It sits under every answer with citations, collapsed; it opens by itself when the question is
about time ("when …", "what date …", "timeline", "chronology"), when the answer's direct line is a
date, or when the question was limited to a date range.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from index.articles import date_timestamp
from ui.markup import cite_link, esc, excerpt, outlets

_TIME_QUESTION = re.compile(
    r"\b(when|what\s+(date|day|month|year|time)|which\s+(date|day|month|year)|how\s+long\s+ago|timeline|"
    r"chronolog\w*|over\s+time|in\s+what\s+order|earliest|latest|most\s+recent)\b", re.IGNORECASE)
MAX_GAP_REM = 6.0  # the largest space between two entries; the whole span maps onto it
MIN_GAP_REM = 0.35


def asks_about_time(question: str, answer: Mapping) -> bool:
    filters = answer.get("filters") or {}
    return (bool(_TIME_QUESTION.search(question or "")) or (answer.get("direct") or {}).get("kind") == "date"
            or bool(filters.get("since") or filters.get("until")))


def _timestamp(citation: Mapping) -> int | None:
    try:
        return date_timestamp(citation.get("published_at"))
    except (TypeError, ValueError):
        return None


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


def ordered(answer: Mapping) -> tuple[list[tuple[int, Mapping]], list[Mapping]]:
    """Dated citations oldest first (ties by citation number), and the undated ones."""
    dated, undated = [], []
    for c in answer.get("citations") or ():
        ts = _timestamp(c)
        (undated.append(c) if ts is None else dated.append((ts, c)))
    dated.sort(key=lambda pair: (pair[0], int(pair[1]["n"])))
    return dated, undated


def _entry(c: Mapping, label: str, gap: float | None = None) -> str:
    style = f' style="margin-top:{gap:.2f}rem"' if gap is not None else ""
    return (f'<li{style}><time>{esc(label)}</time><div class="nr-tl-body">{esc(excerpt(c["quote"], 220))}'
            f'{cite_link(c["n"], c)} <span class="nr-meta">— {esc(outlets(c))}</span></div></li>')


def timeline_html(answer: Mapping, *, open_: bool = False) -> str:
    if not answer.get("citations"):
        return ""
    dated, undated = ordered(answer)
    if dated:
        first, last = dated[0][0], dated[-1][0]
        span = max(last - first, 1)
        entries, previous = [], None
        for ts, c in dated:
            gap = None if previous is None else max(MIN_GAP_REM, MAX_GAP_REM * (ts - previous) / span)
            entries.append(_entry(c, _day(ts), gap))
            previous = ts
        days = round((last - first) / 86400)
        scope = (f"{_day(first)} → {_day(last)}, {days} day{'s' if days != 1 else ''}" if days
                 else _day(first))
        summary = f"Timeline: {len(dated)} dated source{'s' if len(dated) != 1 else ''}, {scope}"
        axis = f'<ol class="nr-tl-axis">{"".join(entries)}</ol>'
    else:
        summary, axis = "Timeline: no cited article is dated", ""
    rest = ('<div class="nr-tl-undated"><div class="nr-tl-head">Undated</div><ol>'
            + "".join(_entry(c, "undated") for c in sorted(undated, key=lambda c: int(c["n"])))
            + "</ol></div>") if undated else ""
    return (f'<details class="nr-timeline"{" open" if open_ else ""}><summary>{summary}</summary>'
            f"{axis}{rest}</details>")
