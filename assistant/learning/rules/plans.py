"""The user's plans and appointments with a date: "I'm flying to Rome next Friday", "I have an exam on May 3".

A plan is kept only when it names a date; the date is resolved against `now` in the memory's text.
"""

from __future__ import annotations

import re
from datetime import datetime

from assistant.learning.candidate import Candidate
from assistant.learning.rules.rule import RuleContext, rule
from assistant.learning.rules.values import DETERMINER_START, cut, strip_article
from assistant.learning.rules.words import I_HAVE
from assistant.memory.dates import find_dates, resolve_dates
from assistant.memory.language import slug, to_third_person
from assistant.memory.types import Kind

_PLAN_START = re.compile(
    r"(?i)^(?:(?:i'm|i am|im|i will|i'll|we're|we are|we'll|we will)\s+"
    r"(?:(?:also|finally|probably|actually|just)\s+)?"
    # Travel said without a subject ("Heading to Paris in two weeks") is the user's own.
    r"|(?=(?:heading|flying|off|travell?ing|driving)\s+(?:out\s+|over\s+|back\s+|down\s+|up\s+)?to\b))"
    r"(?P<verb>going to be|flying|going|travell?ing|heading|driving|leaving|off|taking a trip|moving|visiting|"
    r"getting married|starting|having|seeing|meeting|attending|running|graduating|taking|sitting|doing|hosting|"
    r"throwing|celebrating|be)\b(?P<rest>.*)"
)
# "we're going camping this weekend": an outing, not a destination.
_OUTING = re.compile(r"(?i)^\s+(?P<outing>[a-z]+ing)\b")
_HAVE_EVENT = re.compile(
    r"(?i)^(?:"
    + I_HAVE
    + r"|there's|i've got|got)\s+(?:(?:a|an|my)\s+)?(?P<event>(?:[\w'-]+\s+){0,3}?(?:appointment|meeting|"
    r"interview|exam|test|surgery|operation|flight|date|wedding|party|conference|deadline|trip|vacation|holiday|"
    r"concert|match|game|presentation|check-?up|class|lesson|session|reservation|booking|race|marathon))\b"
    r"(?P<rest>.*)"
)


def _plan_destination(rest: str, now: datetime) -> str:
    match = re.search(r"(?i)\b(?:to|for|in|at)\s+(?P<place>.+)", rest)
    if not match:
        return ""
    place = match.group("place")
    dates = find_dates(place, now)
    if dates:
        place = place[: dates[0].start]
    place = cut(place, max_words=3)
    if (
        not place
        or place.lower() in ("bed", "sleep", "the", "work", "me", "you", "a", "an", "the gym")
        or (DETERMINER_START.match(place))
    ):
        return ""
    return place


def _plan_candidate(clause: str, slug_text: str, ctx: RuleContext) -> list[Candidate]:
    dates = [resolved for resolved in find_dates(clause, ctx.now) if resolved.value]
    if not dates:
        return []
    clause = re.sub(r"(?i)^im\b", "I'm", clause)
    text = to_third_person(resolve_dates(clause, ctx.now)).rstrip(".!")
    if not text.startswith("User"):
        text = f"User's plan: {text}"  # "Dentist tomorrow at 3", "We're going camping": the user's, said in passing
    key_slug = slug(slug_text, max_words=4)
    if not key_slug:
        return []
    candidate = ctx.make(Kind.SEMANTIC, text, f"user.plan.{key_slug}", dates[0].value, importance=0.6)
    return [candidate]


@rule(
    r"(?=(?:i'm|i am|im|i will|i'll|i'm going to be|we're|we are|we'll|we will|heading|flying|off|travell?ing|"
    r"driving)\s)"
)
def plan(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    plan = _PLAN_START.match(ctx.clause)
    if not plan:
        return []
    verb = plan.group("verb").lower()
    rest = plan.group("rest")
    if verb in (
        "going",
        "heading",
        "flying",
        "driving",
        "travelling",
        "traveling",
        "leaving",
        "off",
        "moving",
        "visiting",
        "taking a trip",
        "be",
        "going to be",
    ):
        if re.match(r"(?i)\s+to\s+(?:be|have|do|make|try|start|get|take|need|go|see)\b", rest) and verb == "going":
            return []
        destination = _plan_destination(rest if verb != "visiting" else " to" + rest, ctx.now)
        outing = _OUTING.match(rest) if verb == "going" else None
        if not destination and outing:
            return _plan_candidate(ctx.clause, f"go {outing.group('outing')}", ctx)
        if not destination:
            return []
        prefix = "move" if verb == "moving" else "trip"
        return _plan_candidate(ctx.clause, f"{prefix} {strip_article(destination)}", ctx)
    thing = cut(
        rest,
        max_words=4,
        stop=re.compile(
            r"(?i)\s*(?:[,.;!?]|\s(?:on|at|in|next|this|tomorrow|today|"
            r"tonight|with|and|but)\b)"
        ),
    )
    if not thing:
        return _plan_candidate(ctx.clause, verb, ctx) if verb in ("getting married", "graduating") else []
    return _plan_candidate(ctx.clause, f"{verb} {strip_article(thing)}", ctx)


@rule(r"(?=(?:i have|i've got|i have got|i've|there's|got)\s)")
def event(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    event = _HAVE_EVENT.match(ctx.clause)
    if not event:
        return []
    return _plan_candidate(ctx.clause, event.group("event"), ctx)


_EVENTS = (
    r"appointment|meeting|interview|exam|test|surgery|operation|flight|wedding|party|conference|deadline|trip|"
    r"vacation|holiday|concert|presentation|check-?up|class|lesson|session|reservation|race|marathon|dentist|"
    r"doctor|scan|procedure|hearing|viva|recital|gig|match"
)


@rule(
    r"my\s+(?P<event>(?:[\w'-]+\s+){0,2}?(?:"
    + _EVENTS
    + r"))\b(?:\s+(?:to|in|with|at)\s+[\w' -]{2,30}?)?\s+(?:is|'s)\s+"
)
def my_event_is(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    """'my flight to Boston is on Friday', 'my interview is tomorrow' (not 'my sister's flight')."""
    if "'" in match.group("event"):
        return []
    return _plan_candidate(ctx.clause, match.group("event"), ctx)


# A date said first ("Next Tuesday I have a job interview"): the rest is read as usual, the date kept.
_DATE_FIRST = re.compile(
    r"(?i)^(?:next|this|on|tomorrow|tonight|today|in)\b[\w ]{0,20}?,?\s+(?=(?:i|i'm|im|i've|we|we're)\s)"
)


@rule(r"(?:next|this|on|tomorrow|tonight|today|in)\b")
def date_first(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    lead = _DATE_FIRST.match(ctx.clause)
    if lead is None or not find_dates(lead.group(0), ctx.now):
        return []
    rest = ctx.clause[lead.end() :]
    moved = RuleContext(ctx.now, ctx.source_id, ctx.origin, f"{rest.rstrip('.!')} {lead.group(0).strip(' ,')}")
    for reader, pattern in ((plan, r"(?i)^(?=(?:i'm|i am|im|i will|i'll|we're|we are)\s)"), (event, None)):
        if pattern is None or re.match(pattern, moved.clause):
            produced = reader.handler(match, moved)
            if produced:
                return produced
    return []


@rule(r"(?P<event>(?:[\w'-]+\s+){0,2}?(?:" + _EVENTS + r"))\s+(?=tomorrow|today|tonight|on\s|next\s|this\s)")
def bare_event(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    """'Dentist tomorrow at 3, ugh', 'job interview on Friday': a note to self, the user's own plan."""
    if re.match(r"(?i)^(?:the|a|an|his|her|their|your|our)\b", match.group("event")):
        return []
    return _plan_candidate(ctx.clause, match.group("event"), ctx)
