"""The days a date phrase of a question names ("October 4, 2023", "in September", "last week"
counted back from the newest article), as an inclusive range."""

from __future__ import annotations

import re
from datetime import date

_MONTHS = {m: i + 1 for i, m in enumerate("january february march april may june july august september "
                                          "october november december".split())}


_MONTHS |= {m[:3]: i for m, i in list(_MONTHS.items())} | {"sept": 9}


_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"


_RELATIVE_DAYS = {"today": (0, 0), "yesterday": (1, 1), "last week": (7, 0), "past week": (7, 0),
                  "this week": (7, 0), "last month": (31, 0), "past month": (31, 0), "this month": (31, 0),
                  "last year": (366, 0), "past year": (366, 0), "recently": (14, 0), "last few days": (4, 0),
                  "past few days": (4, 0), "this year": (366, 0)}


def date_range(phrase: str, reference: date | None) -> tuple[date, date] | None:
    """The days a date phrase of a question names, inclusive: "October 4, 2023", "4 October 2023",
    "2023-10-04", "September 2023", "in September" (the year of ``reference``), "2023", and
    relative ones ("yesterday", "last week") counted back from ``reference`` (the newest article's
    date: "last week" means the week before the newest news, not before today)."""
    import calendar
    from datetime import date as day
    from datetime import timedelta

    text = " ".join(phrase.lower().replace(",", " ").split())
    text = re.sub(r"^(on|in|during|since|from|of|the)\s+", "", text)
    for words, (back, forward) in _RELATIVE_DAYS.items():
        if words in text and reference is not None:
            return reference - timedelta(days=back), reference - timedelta(days=forward)
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
    try:
        if day_match and 1 <= int(day_match.group(1)) <= 31:
            d = day(year, month, int(day_match.group(1)))
            return d, d
        return day(year, month, 1), day(year, month, calendar.monthrange(year, month)[1])
    except ValueError:
        return None
