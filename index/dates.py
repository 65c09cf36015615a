"""The days a date phrase of a question names ("October 4, 2023", "in September", "last week"
counted back from the newest article), as an inclusive range."""

from __future__ import annotations

import re
from datetime import date

_MONTHS = {m: i + 1 for i, m in enumerate("january february march april may june july august september "
                                          "october november december".split())}


_MONTHS |= {m[:3]: i for m, i in list(_MONTHS.items())} | {"sept": 9}


_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()


_RELATIVE_DAYS = {"today": (0, 0), "yesterday": (1, 1), "last week": (7, 0), "past week": (7, 0),
                  "this week": (7, 0), "last month": (31, 0), "past month": (31, 0), "this month": (31, 0),
                  "last year": (366, 0), "past year": (366, 0), "recently": (14, 0), "last few days": (4, 0),
                  "past few days": (4, 0), "this year": (366, 0)}


def date_range(phrase: str, reference: date | None, *, nearest: bool = False) -> tuple[date, date] | None:
    """The days a date phrase of a question names, inclusive: "October 4, 2023", "4 October 2023",
    "2023-10-04", "September 2023", "in September" (the year of ``reference``), "2023", and
    relative ones ("yesterday", "last week", "Saturday": the last one on or before ``reference``;
    "next May") counted from ``reference`` (the newest article's date for a question, a report's
    own date for its sentences: "last week" means the week before the news, not before today). A
    month or day without its year is the latest one begun by ``reference`` (a question asks about
    the news), or with ``nearest`` the one nearest it (a report speaks of the past and the coming
    months: "to be sentenced in February" in a November report)."""
    import calendar
    from datetime import date as day
    from datetime import timedelta

    text = " ".join(phrase.lower().replace(",", " ").split())
    text = re.sub(r"^(on|in|during|since|from|of|the)\s+", "", text)
    for words, (back, forward) in _RELATIVE_DAYS.items():
        if words in text and reference is not None:
            return reference - timedelta(days=back), reference - timedelta(days=forward)
    weekday = next((i for i, name in enumerate(_WEEKDAYS) if re.fullmatch(rf"(last |this |next )?{name}", text)), None)
    if weekday is not None and reference is not None:
        # a weekday in news is the last one on or before the report ("announced Saturday"), or the
        # first after it when the text says "next"
        if text.startswith("next "):
            ahead = (weekday - reference.weekday()) % 7 or 7
            d = reference + timedelta(days=ahead)
        else:
            d = reference - timedelta(days=(reference.weekday() - weekday) % 7)
        return d, d
    upcoming = re.fullmatch(r"next (\w+)", text)
    if upcoming and upcoming.group(1) in _MONTHS and reference is not None:  # "next May": the coming one
        month = _MONTHS[upcoming.group(1)]
        year = reference.year + (1 if month <= reference.month else 0)
        return day(year, month, 1), day(year, month, calendar.monthrange(year, month)[1])
    iso = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", text)
    if iso:
        try:
            d = day(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        except ValueError:
            return None
        return d, d
    month = next((n for name, n in _MONTHS.items() if re.search(rf"\b{name}\b", text)), None)
    year_match = re.search(r"\b(19\d\d|20\d\d)\b", text)
    year = int(year_match.group(1)) if year_match else (reference.year if reference else None)
    if month is None:
        if year_match:
            return day(year, 1, 1), day(year, 12, 31)
        return None
    if year is None:
        return None
    rest = re.sub(rf"\b{year}\b", " ", text) if year_match else text
    day_match = re.search(rf"\b{_ORDINAL}\b", rest)

    def span(y: int) -> tuple[date, date]:
        if day_match and 1 <= int(day_match.group(1)) <= 31:
            d = day(y, month, int(day_match.group(1)))
            return d, d
        return day(y, month, 1), day(y, month, calendar.monthrange(y, month)[1])

    try:
        if year_match or reference is None:
            return span(year)
        if nearest:  # a report's sentence: "in February" in a November report is the coming one
            return min((span(y) for y in (year - 1, year, year + 1)),
                       key=lambda r: min(abs((r[0] - reference).days), abs((r[1] - reference).days)))
        # a question about the news: the latest occurrence begun by the newest report
        return next((r for r in (span(y) for y in (year, year - 1)) if r[0] <= reference), span(year))
    except ValueError:
        return None
