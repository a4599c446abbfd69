"""Where the user lives, moved to, no longer lives, comes from and grew up."""

from __future__ import annotations

import re

from assistant.learning.candidate import Candidate
from assistant.learning.rules.rule import RuleContext, rule
from assistant.learning.rules.values import DETERMINER_START, PLACE_END, cut, strip_article
from assistant.learning.rules.words import I_AM
from assistant.memory.dates import find_dates
from assistant.memory.language import smart_title
from assistant.memory.types import Kind

WE_OR_I_AM = r"(?:" + I_AM + r"|we're|we are|were)"

# "I live in fear", "I live in the moment": not places.
_NOT_PLACES = frozenset(
    "fear|hope|denial|peace|harmony|poverty|luxury|comfort|moment|present|past|future|dream|bubble|head|"
    "reality|sin|misery|constant|hiding|style|terror|anxiety|pain|debt|shame|silence|hell|the moment|"
    "the present|the past|the future|a dream|a bubble|my head|the now|limbo|bliss|dread|squalor|fact".split("|")
)
# "I live in a small flat": a kind of home, not where it is.
_HOUSING = frozenset(
    "house|apartment|flat|dorm|studio|condo|van|tent|caravan|trailer|houseboat|cabin|mansion|bungalow|"
    "room|basement|loft|rv|camper|shared".split("|")
)


def _place(text: str) -> str:
    value = cut(text, max_words=6, stop=PLACE_END)
    if not value:
        return ""
    bare = strip_article(value).lower()
    first = value.split()[0].lower()
    if value.lower() in _NOT_PLACES or bare in _NOT_PLACES or any(word in _NOT_PLACES for word in bare.split()):
        return ""
    if first in ("a", "an", "my", "our", "your", "his", "her", "their", "this", "that", "some"):
        if any(word in _HOUSING for word in bare.split()):
            return ""
    if DETERMINER_START.match(value) or re.search(r"\d{3,}", value):
        return ""
    return smart_title(value) if first not in ("a", "an", "the") else value


@rule(
    r"(?:(?:i|we)\s+(?:currently\s+|now\s+|still\s+|actually\s+)?(?:live|reside|stay)|"
    r"(?:i'm|we're|i am|we are) (?:currently |now )?living|"
    + WE_OR_I_AM
    + r" (?:currently |now )?(?:based|located|settled))"
    r"\s+(?:in|at|out of)\s+(?P<rest>.+)"
)
def lives_in(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    place = _place(match.group("rest"))
    if not place:
        return []
    return [ctx.make(Kind.SEMANTIC, f"User lives in {place}", "user.home", place, importance=0.8)]


@rule(
    r"(?:i\s+|we\s+|i've\s+|we've\s+|i have\s+|we have\s+)?(?:just\s+|recently\s+|finally\s+|now\s+)?"
    r"(?:moved|relocated)(?:\s+back)?\s+(?:to|into)\s+(?P<rest>.+)"
)
def moved(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    rest = match.group("rest")
    if find_dates(rest, ctx.now) and re.search(r"(?i)\b(?:next|tomorrow|in \w+ (?:weeks?|months?))\b", rest):
        return []  # a move still to come is a plan (plans.py), not a new home
    return lives_in(match, ctx)


@rule(
    r"(?:i\s+(?:don't|do not|no longer)\s+(?:live|reside)|i'm not (?:living|based)|i am not (?:living|based)|"
    r"i\s+moved\s+away|i've\s+moved\s+away|i\s+moved\s+out)\s+(?:in|from|of|at)\s+(?P<rest>.+)"
)
def no_longer_lives_in(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    place = _place(match.group("rest"))
    if not place:
        return []
    return [
        ctx.make(Kind.SEMANTIC, f"User no longer lives in {place}", "user.home", place, importance=0.8, retracts=True)
    ]


@rule(
    r"(?:" + I_AM + r"\s+(?:originally\s+)?from|i\s+(?:originally\s+)?come\s+from|my home ?town is|"
    r"i\s+was\s+born\s+and\s+raised\s+in)\s+(?P<rest>.+)"
)
def comes_from(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    place = _place(match.group("rest"))
    if not place or place.split()[0].lower() in ("a", "an"):
        return []
    return [ctx.make(Kind.SEMANTIC, f"User is from {place}", "user.origin", place, importance=0.7)]


@rule(r"i\s+grew\s+up\s+in\s+(?P<rest>.+)")
def grew_up_in(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    place = _place(match.group("rest"))
    return (
        [ctx.make(Kind.SEMANTIC, f"User grew up in {place}", "user.grew_up_in", place, importance=0.6)] if place else []
    )


@rule(
    r"(?:(?:i'm\s+|i am\s+)?living\s+in|my\s+(?:flat|apartment|house|place|home)\s+in|home\s+(?:for\s+me\s+)?is"
    r"(?:\s+now)?)\s+(?P<rest>(?-i:[A-Z]).+)"
)
def living_in(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    """'living in Toronto in winter is no joke', 'my flat in Glasgow is freezing', 'home is Melbourne now'."""
    return lives_in(match, ctx)


@rule(
    # The subject may come mid-clause ("after bouncing between cities we ended up settling in Braga");
    # without one, only at the start ("ended up settling in Braga").
    r"(?:(?:.*?\s)?(?:i|we)(?:'ve| have)?\s+)?(?:finally\s+|eventually\s+|now\s+)?(?:ended\s+up\s+|have\s+)?"
    r"(?:settl(?:ed|ing)(?:\s+down)?|making\s+(?:a|our|my)\s+(?:home|life)|made\s+(?:a|our|my)\s+(?:home|life))"
    r"\s+in\s+(?P<rest>(?-i:[A-Z]).+)"
)
def settled_in(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    """'ended up settling in Braga', 'we finally settled in Porto': where they live now."""
    return lives_in(match, ctx)


_NOW_TAIL = re.compile(r"(?i)^[\w .'-]{2,40}?\s+(?:now|these days|nowadays|for good|full[- ]time|permanently)\b")


@rule(WE_OR_I_AM + r"\s+(?:now\s+)?(?:in|living in)\s+(?P<rest>(?-i:[A-Z]).+)")
def in_place_now(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    """'we're in Coimbra now': with 'now' (or 'these days'), where they live, not a trip."""
    rest = match.group("rest")
    if not (_NOW_TAIL.match(rest) or re.match(r"(?i)^(?:we're|we are|i'm|i am)\s+now\b", match.group(0))):
        return []
    return lives_in(match, ctx)
