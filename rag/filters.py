"""Building ``Filters`` from user input (CLI flags, API fields, chat settings), with clear errors."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from index.errors import ConfigError
from rag.types import Filters


def parse_day(value: str | date | None, name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        # the whole value must be a date or an ISO date-time: "2023-10-01garbage" is neither
        return date.fromisoformat(text) if len(text) <= 10 else datetime.fromisoformat(text).date()
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a date: use YYYY-MM-DD, e.g. 2023-10-01.") from None


def make_filters(*, sources: Iterable[str] | str | None = None, since: str | date | None = None,
                 until: str | date | None = None) -> Filters:
    """Outlets (a list, or names separated by '|') and an inclusive date range."""
    if isinstance(sources, str):
        sources = [sources]
    names: list[str] = []
    for value in sources or ():
        names.extend(p.strip() for p in str(value).split("|") if p.strip())
    first, last = parse_day(since, "since"), parse_day(until, "until")
    if first and last and first > last:
        raise ConfigError(f"since={first} is after until={last}: swap them.")
    return Filters(sources=tuple(dict.fromkeys(names)), since=first, until=last)
