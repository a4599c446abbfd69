"""What the user likes, loves, dislikes, and their favourites ("my favourite colour is green").

Liking something ends disliking it and the other way round: each like also retracts its opposite.
"""

from __future__ import annotations

import re

from assistant.learning.candidate import Candidate
from assistant.learning.rules.preferences import answer_style
from assistant.learning.rules.rule import RuleContext, rule
from assistant.learning.rules.values import DETERMINER_START, like_object, strip_article
from assistant.learning.rules.words import I_AM
from assistant.memory.language import singular, slug
from assistant.memory.types import Kind

_ADVERBS = (
    r"(?:(?:really|absolutely|totally|truly|just|also|still|do|kinda|kind of|quite|genuinely|honestly|"
    r"seriously|especially|simply|actually|definitely|so|very much|sort of|particularly|always|"
    r"certainly|deeply|madly|completely|now)\s+)*"
)


def _like_candidates(thing: str, ctx: RuleContext, *, positive: bool, confidence: float = 0.85) -> list[Candidate]:
    if style := answer_style(thing):
        length, text = style
        return [ctx.make(Kind.PREFERENCE, text, "user.preference.answer_length", length, importance=0.7)]
    lowered = thing.lower()
    key_slug = slug(strip_article(lowered))
    if not key_slug:
        return []
    display = re.sub(r"(?i)^(?:to\s+)", "to ", thing)
    verb = "likes" if positive else "dislikes"
    found = [
        ctx.make(
            Kind.PREFERENCE,
            f"User {verb} {display}",
            f"user.{verb}.{key_slug}",
            lowered,
            importance=0.5,
            confidence=confidence,
        )
    ]
    # Loving something ends disliking it, and the other way round.
    other = "dislikes" if positive else "likes"
    found.append(
        ctx.make(
            Kind.PREFERENCE,
            f"User no longer {other.removesuffix('s')}s {display}",
            f"user.{other}.{key_slug}",
            lowered,
            importance=0.5,
            retracts=True,
        )
    )
    return found


@rule(r"i\s+" + _ADVERBS + r"(?:love|like|enjoy|adore|am into|'m into|dig)\s+(?P<rest>.+)")
def likes(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    if re.match(r"(?i)i\s+would|i'd", match.group(0)):
        return []
    thing = like_object(match.group("rest"))
    return _like_candidates(thing, ctx, positive=True) if thing else []


@rule(
    I_AM + r"\s+" + _ADVERBS + r"(?:(?:a\s+)?(?:big|huge|massive|great|real|true)?\s*fan\s+of|into|"
    r"passionate\s+about|obsessed\s+with|crazy\s+about|keen\s+on|fond\s+of)\s+(?P<rest>.+)"
)
def fan_of(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    thing = like_object(match.group("rest"))
    return _like_candidates(thing, ctx, positive=True) if thing else []


@rule(
    r"(?:i\s+" + _ADVERBS + r"(?:hate|dislike|detest|despise|loathe|can't stand|cannot stand|can't bear|"
    r"don't like|do not like|don't enjoy|do not enjoy|don't really like|no longer like|don't love)|"
    + I_AM
    + r"\s+(?:really\s+)?not\s+(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of|i\s+really\s+don't\s+like)"
    r"\s+(?P<rest>.+)"
)
def dislikes(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    thing = like_object(match.group("rest"))
    if not thing:
        return []
    if style := answer_style(thing):
        opposite = "detailed" if style[0] == "short" else "short"
        return [
            ctx.make(
                Kind.PREFERENCE,
                f"User prefers {opposite} answers",
                "user.preference.answer_length",
                opposite,
                importance=0.7,
            )
        ]
    return _like_candidates(thing, ctx, positive=False)


def _favourite_category(text: str) -> str:
    category = slug(text.lower().replace("color", "colour"), max_words=3)
    return "_".join(singular(part) for part in category.split("_"))


@rule(
    r"my\s+(?:all[- ]time\s+|absolute\s+|very\s+|new\s+|current\s+)*(?:favou?rite|fave|fav)\s+(?P<cat>[\w' -]{2,30}?)"
    r"\s+(?:is|are|was|would be|has to be|has always been|'s|=|:)\s*(?:now\s+|still\s+|definitely\s+|probably\s+|"
    r"actually\s+|currently\s+)?(?P<rest>.+)"
)
def favourite(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    if " was" in match.group(0).lower().split(match.group("cat").lower(), 1)[1][:5]:
        return []  # "my favourite colour was blue" is history, not the current value
    category = _favourite_category(match.group("cat"))
    value = like_object(match.group("rest"))
    if not category or not value:
        return []
    readable = category.replace("_", " ")
    return [
        ctx.make(
            Kind.PREFERENCE,
            f"User's favourite {readable} is {value}",
            f"user.favourite.{category}",
            value.lower(),
            importance=0.55,
        )
    ]


@rule(
    r"(?P<rest>[\w' -]{1,40}?)\s+is\s+(?:now\s+|still\s+|definitely\s+)?my\s+(?:new\s+|all[- ]time\s+)?"
    r"(?:favou?rite|fave|fav)\s+(?P<cat>[\w -]{2,30}?)\s*(?:[.!,]|$)"
)
def favourite_reversed(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    value = match.group("rest").strip()
    if DETERMINER_START.match(value) or value.lower().startswith(("i ", "my ")):
        return []
    category = _favourite_category(match.group("cat"))
    readable = category.replace("_", " ")
    return [
        ctx.make(
            Kind.PREFERENCE,
            f"User's favourite {readable} is {value}",
            f"user.favourite.{category}",
            value.lower(),
            importance=0.55,
        )
    ]
