"""The time a question names ("in March", "on June 26, 2023", "during May 2023"), as a window.

Recall matches inside the window first (recall.py searches it, fusion.in_time lifts it). A
named day is a window of that day; a month, of the month. A month without a year is the latest
one not after today ("in March", asked in June, is this March). A day without a year is the
latest such day. Only a date said with a preposition or a year counts: "May" alone is as often
a verb or a name.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from assistant.memory.dates import MONTHS

_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_LEAD = r"(?:(?:in|during|on|last|since|from|early|late)\s+|mid-?\s*)"
# Most specific first: a day with its month (either order) and maybe a year, a month and its
# year, then a month after a preposition ("May" alone is as often a verb or a name).
_PATTERNS = [
    re.compile(rf"\b{_MONTH}\s+{_DAY}\b(?:,?\s+{_YEAR}\b)?", re.I),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR}\b)?", re.I),
    re.compile(rf"\b{_MONTH},?\s+{_YEAR}\b", re.I),
    re.compile(rf"\b{_LEAD}{_MONTH}\b", re.I),
]
# A time a question counts up to ("as of December 2023", "before June 3") bounds the answer but
# does not hold it: no window.
_BOUND_BEFORE = re.compile(r"\b(?:as\s+of|by|before|until|till|after)\s+(?:the\s+)?$", re.I)


def named_window(query: str, now: datetime) -> tuple[tuple[datetime, datetime], str] | None:
    """The [start, end] the query names and the words that name it, or None."""
    for pattern in _PATTERNS:
        for match in pattern.finditer(query):
            if _BOUND_BEFORE.search(query[: match.start()]):
                return None  # and no window inside it either ("before 4th October, 2023": not October)
            window = _window(match, now)
            return (window, match.group(0)) if window is not None else None  # "on February 30": none
    return None


def without_time(query: str, named: str) -> str:
    """The query without the words that name its time: every message of a month has the
    month's name in its search text, and would win on length alone."""
    return re.sub(rf"\b{_LEAD}?{re.escape(named)}", " ", query, count=1, flags=re.I)


def _window(match: re.Match[str], now: datetime) -> tuple[datetime, datetime] | None:
    month = MONTHS[match.group("month").lower().rstrip(".")]
    groups = match.groupdict()
    year_text, day_text = groups.get("year"), groups.get("day")
    day = int(day_text) if day_text else None
    if year_text:
        year = int(year_text)
    else:  # the latest such month (or day) not after today
        year = now.year if (month, day or 1) <= (now.month, now.day if day else 1) else now.year - 1
    try:
        if day is not None:
            start = datetime(year, month, day, tzinfo=UTC)
            return start, start + timedelta(days=1) - timedelta(microseconds=1)
        start = datetime(year, month, 1, tzinfo=UTC)
    except ValueError:  # "February 30"
        return None
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end - timedelta(microseconds=1)
