"""Dates users say in passing ("next Friday", "on March 3rd") resolved against a clock.

Memories must not say "tomorrow": by the time they are recalled it is wrong. Everything
relative is turned into an absolute date when the message is processed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
MONTH_NAMES = [
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a couple of": 2,
    "a few": 3,
}

_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?[0-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>(?:19|20)[0-9]{2}))?"
# "sat", "sun" and "wed" are ordinary words far more often than weekdays.
_WEEKDAY = r"(?P<weekday>" + "|".join(sorted(set(WEEKDAYS) - {"sat", "sun", "wed"}, key=len, reverse=True)) + r")"
_COUNT = r"(?P<count>[0-9]{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"

# An absolute calendar date: "March 3", "3rd of March 1990", "1990-03-03".
CALENDAR_DATE = re.compile(
    r"(?i)\b(?:(?:on\s+)?(?:the\s+)?(?:"
    + _MONTH
    + r"\s+"
    + _DAY
    + _YEAR
    + r"|"
    + _DAY.replace("day>", "day2>")
    + r"\s+(?:of\s+)?"
    + _MONTH.replace("month>", "month2>")
    + _YEAR.replace("year>", "year2>")
    + r"|(?P<iso>(?:19|20)[0-9]{2}-[01][0-9]-[0-3][0-9])))(?![0-9])"
)

RELATIVE_DATE = re.compile(
    r"(?i)\b(?:"
    r"(?P<dayafter>the day after tomorrow)"
    r"|(?P<today>today|tonight|this (?:morning|afternoon|evening))"
    r"|(?P<tomorrow>tomorrow(?: (?:morning|afternoon|evening|night))?)"
    r"|(?:(?P<which>this|next|on|coming|this coming)\s+)?" + _WEEKDAY + r"(?:\s+(?:morning|afternoon|evening|night))?"
    r"|(?P<weekend>(?:this|next) weekend)"
    r"|(?P<nextunit>next (?P<unit>week|month|year))"
    r"|in " + _COUNT + r" (?P<span>days?|weeks?|months?|years?)"
    # A month without a day ("in September", "next May"): only after a word that makes it a time.
    r"|(?:(?:in|this|next|by|until)\s+(?:(?:early|mid|late|the end of)[- ]?\s*)?)"
    + _MONTH.replace("month>", "onlymonth>")
    # A day of the month without the month ("on the 21st"): the suffix makes it a date.
    + r"|(?:on|from|by|until|till) the (?P<ordinal>[0-3]?[0-9])(?:st|nd|rd|th)"
    r")\b"
)


@dataclass(frozen=True)
class ResolvedDate:
    start: int
    end: int
    day: date | None  # a single day, when the phrase names one
    phrase: str  # the absolute wording that replaces the original
    value: str  # ISO date, or ISO month / week start for coarser phrases


def describe_day(day: date) -> str:
    return f"{WEEKDAY_NAMES[day.weekday()]}, {day.day} {MONTH_NAMES[day.month]} {day.year}"


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, 1)


def _calendar(match: re.Match[str], today: date) -> ResolvedDate | None:
    if match.group("iso"):
        try:
            day = date.fromisoformat(match.group("iso"))
        except ValueError:
            return None
        return ResolvedDate(match.start(), match.end(), day, f"on {describe_day(day)}", day.isoformat())
    month_name = match.group("month") or match.group("month2")
    day_text = match.group("day") or match.group("day2")
    year_text = match.group("year") or match.group("year2")
    month = MONTHS[month_name.lower().rstrip(".")]
    try:
        if year_text:
            day = date(int(year_text), month, int(day_text))
        else:
            day = date(today.year, month, int(day_text))
            if day < today:
                day = date(today.year + 1, month, int(day_text))
    except ValueError:
        return None
    return ResolvedDate(match.start(), match.end(), day, f"on {describe_day(day)}", day.isoformat())


def _relative(match: re.Match[str], today: date) -> ResolvedDate:
    start, end = match.span()
    if match.group("dayafter"):
        day = today + timedelta(days=2)
    elif match.group("today"):
        day = today
    elif match.group("tomorrow"):
        day = today + timedelta(days=1)
    elif match.group("weekday"):
        target = WEEKDAYS[match.group("weekday").lower()]
        ahead = (target - today.weekday()) % 7
        which = (match.group("which") or "").lower()
        if ahead == 0 and which != "this":
            ahead = 7  # "Friday" said on a Friday means the next one
        day = today + timedelta(days=ahead)
    elif match.group("weekend"):
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        if match.group("weekend").lower().startswith("next") and saturday - today < timedelta(days=7):
            saturday += timedelta(days=7) if today.weekday() >= 5 else timedelta(days=0)
        return ResolvedDate(start, end, None, f"on the weekend of {describe_day(saturday)}", saturday.isoformat())
    elif match.group("onlymonth"):
        month = MONTHS[match.group("onlymonth").lower().rstrip(".")]
        first = date(today.year + (month < today.month), month, 1)
        return ResolvedDate(start, end, None, f"in {MONTH_NAMES[first.month]} {first.year}", first.isoformat()[:7])
    elif match.group("ordinal"):
        number = int(match.group("ordinal"))
        first = today.replace(day=1) if number >= today.day else _add_months(today, 1)
        try:
            day = first.replace(day=number)
        except ValueError:
            return ResolvedDate(start, end, None, match.group(0), "")
    elif match.group("nextunit"):
        unit = match.group("unit").lower()
        if unit == "week":
            monday = today + timedelta(days=7 - today.weekday())
            return ResolvedDate(start, end, None, f"during the week of {describe_day(monday)}", monday.isoformat())
        if unit == "month":
            first = _add_months(today, 1)
            return ResolvedDate(start, end, None, f"in {MONTH_NAMES[first.month]} {first.year}", first.isoformat()[:7])
        return ResolvedDate(start, end, None, f"in {today.year + 1}", str(today.year + 1))
    else:
        count_text = match.group("count").lower()
        count = int(count_text) if count_text.isdigit() else NUMBER_WORDS[count_text]
        span = match.group("span").lower()
        if span.startswith("day"):
            day = today + timedelta(days=count)
        elif span.startswith("week"):
            day = today + timedelta(weeks=count)
        elif span.startswith("month"):
            first = _add_months(today, count)
            return ResolvedDate(start, end, None, f"in {MONTH_NAMES[first.month]} {first.year}", first.isoformat()[:7])
        else:
            return ResolvedDate(start, end, None, f"in {today.year + count}", str(today.year + count))
    return ResolvedDate(start, end, day, f"on {describe_day(day)}", day.isoformat())


def find_dates(text: str, now: datetime) -> list[ResolvedDate]:
    """Every date phrase in `text`, resolved; calendar dates win over overlapping relative ones."""
    today = now.date()
    found: list[ResolvedDate] = []
    for match in CALENDAR_DATE.finditer(text):
        resolved = _calendar(match, today)
        if resolved is not None:
            found.append(resolved)
    for match in RELATIVE_DATE.finditer(text):
        if any(match.start() < other.end and other.start < match.end() for other in found):
            continue
        found.append(_relative(match, today))
    return sorted(found, key=lambda resolved: resolved.start)


def resolve_dates(text: str, now: datetime) -> str:
    """`text` with each relative or partial date replaced by an absolute one."""
    pieces: list[str] = []
    position = 0
    for resolved in find_dates(text, now):
        original = text[resolved.start : resolved.end]
        before = text[position : resolved.start]
        phrase = resolved.phrase
        if re.search(r"(?i)\b(?:on|in|by|for|until|from|since)\s*$", before) or original.lower().startswith("on "):
            phrase = re.sub(r"^(?:on|in) ", "", phrase)
            if original.lower().startswith("on "):
                phrase = "on " + phrase
        pieces.append(before + phrase)
        position = resolved.end
    pieces.append(text[position:])
    return "".join(pieces)
