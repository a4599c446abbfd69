"""Birthdays (the user's and a relative's), the user's age and birth year."""

from __future__ import annotations

import re
from datetime import datetime

from assistant.learning.candidate import Candidate
from assistant.learning.rules.family import RELATION_PATTERN, RELATIONS
from assistant.learning.rules.rule import RuleContext, rule
from assistant.learning.rules.words import I_AM
from assistant.learning.rules.work import job_role, role_text
from assistant.memory.dates import CALENDAR_DATE, MONTH_NAMES, MONTHS, find_dates
from assistant.memory.types import Kind


def _date_value(text: str, now: datetime) -> tuple[str, str] | None:
    """(ISO value, readable) for a birthday-like date at the start of `text`, year optional."""
    # "the 2nd of October" reads as "2 October".
    text = re.sub(r"(?i)^(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+of\s+", r"\1 ", text.strip())
    match = CALENDAR_DATE.match(text)
    if match:
        month_name = match.group("month") or match.group("month2")
        day_text = match.group("day") or match.group("day2")
        year_text = match.group("year") or match.group("year2")
        iso = match.group("iso")
        if iso:
            year, month, day = (int(part) for part in iso.split("-"))
            year_text = str(year)
        else:
            month, day = MONTHS[month_name.lower().rstrip(".")], int(day_text)
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        readable = f"{MONTH_NAMES[month]} {day}" + (f", {year_text}" if year_text else "")
        value = (f"{year_text}-" if year_text else "--") + f"{month:02d}-{day:02d}"
        return value, readable
    resolved = find_dates(text, now)
    if resolved and resolved[0].start == 0 and resolved[0].day is not None:
        day_date = resolved[0].day
        return f"--{day_date.month:02d}-{day_date.day:02d}", f"{MONTH_NAMES[day_date.month]} {day_date.day}"
    return None


@rule(
    r"(?:my\s+(?:birthday|bday|b-day|date of birth|dob)\s+(?:is|'s|falls)\s+(?:on\s+)?|"
    r"my\s+birthday's\s+(?:on\s+)?(?:the\s+)?|i\s+was\s+born\s+on\s+(?:the\s+)?)(?P<rest>.+)"
)
def birthday(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    parsed = _date_value(match.group("rest"), ctx.now)
    if parsed is None:
        return []
    value, readable = parsed
    return [ctx.make(Kind.SEMANTIC, f"User's birthday is {readable}", "user.birthday", value, importance=0.75)]


@rule(r"my\s+(?P<who>" + RELATION_PATTERN + r")'s\s+birthday\s+is\s+(?:on\s+)?(?:the\s+)?(?P<rest>.+)")
def relation_birthday(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    parsed = _date_value(match.group("rest"), ctx.now)
    if parsed is None:
        return []
    value, readable = parsed
    relation = RELATIONS[match.group("who").lower()]
    readable_relation = relation.replace("_", " ")
    return [
        ctx.make(
            Kind.SEMANTIC,
            f"User's {readable_relation}'s birthday is {readable}",
            f"user.family.{relation}.birthday",
            value,
            importance=0.7,
        )
    ]


@rule(
    r"(?:" + I_AM + r"\s+(?:now\s+|turning\s+|just\s+turned\s+)?(?P<age>[1-9][0-9]?)(?:\s+years?\s+old|\s+y/?o\b|"
    r"\s*(?:[.!,]|$|\s+and\b))|(?:i\s+)?(?:just\s+)?(?:turned|am turning|'m turning|turning)\s+(?P<age2>[1-9][0-9]?)\b)"
)
def age(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    age = match.group("age") or match.group("age2")
    as_of = f"{MONTH_NAMES[ctx.now.month]} {ctx.now.year}"
    found = [ctx.make(Kind.SEMANTIC, f"User is {age} years old (as of {as_of})", "user.age", age, importance=0.6)]
    rest = ctx.clause[match.end() :]
    also = re.match(r"(?i)\s*(?:years?\s+old\s+)?and\s+(?:an?\s+)?(?P<role>.+)", rest)
    if also and (role := job_role(also.group("role"))):
        found.append(ctx.make(Kind.SEMANTIC, role_text(role), "user.work.role", role, importance=0.7))
    return found


@rule(r"i\s+was\s+born\s+in\s+(?P<year>(?:19|20)\d{2})\b")
def birth_year(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    year = match.group("year")
    return [ctx.make(Kind.SEMANTIC, f"User was born in {year}", "user.birth_year", year, importance=0.6)]
