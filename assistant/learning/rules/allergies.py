"""The user's allergies: "I'm allergic to peanuts and shellfish", "I have a nut allergy", and their retraction."""

from __future__ import annotations

import re

from assistant.learning.candidate import Candidate
from assistant.learning.rules.reactions import allergens_named
from assistant.learning.rules.rule import RuleContext, rule
from assistant.learning.rules.values import DETERMINER_START, cut, split_items
from assistant.learning.rules.words import I_AM, I_HAVE
from assistant.memory.language import singular, slug
from assistant.memory.types import Kind

# "allergic", and how it is typed in a hurry.
ALLERGIC = r"(?:all?ergi?c|allegric|alergick)"

_ALLERGY_LIST_END = re.compile(
    r"(?i)\s*(?:[.;!?()]|\s(?:but|because|since|so|which|who|when|though|too|anymore|any more|now|in|on|after all|"
    r"as well|btw|please|these days|right now|at the moment)\b)"
)


def allergens(things: str) -> list[tuple[str, str]]:
    """'peanuts, eggs and milk' -> (item, key suffix) pairs: ('peanuts', 'peanut'), ..."""
    found = []
    for item in split_items(cut(things, max_words=8, stop=_ALLERGY_LIST_END)):
        item = re.sub(r"(?i)^(?:a|an|the|all|most|some|any|certain|severely|very)\s+", "", item).strip()
        if item and not DETERMINER_START.match(item) and len(item.split()) <= 3:
            named = allergens_named(item)  # the lexicon's key: "amêndoas" and "almonds" are one allergy
            key = named[0].key if len(named) == 1 and len(named[0].said.split()) == len(item.split()) else None
            found.append((item, key or slug(" ".join(singular(word) for word in item.split()))))
    return found


def _allergy_candidates(things: str, ctx: RuleContext, *, retracts: bool = False) -> list[Candidate]:
    found: list[Candidate] = []
    for item, key in allergens(things):
        text = f"User is no longer allergic to {item}" if retracts else f"User is allergic to {item}"
        found.append(
            ctx.make(Kind.SEMANTIC, text, f"user.allergy.{key}", item.lower(), importance=0.95, retracts=retracts)
        )
    return found


@rule(
    I_AM + r"\s+(?:also\s+|severely\s+|very\s+|deathly\s+|highly\s+|extremely\s+|really\s+|quite\s+|mildly\s+|"
    r"slightly\s+)*" + ALLERGIC + r"\s+to\s+(?P<rest>.+)"
)
def allergic(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    return _allergy_candidates(match.group("rest"), ctx)


@rule(
    I_HAVE + r"\s+(?:a\s+|an\s+)?(?:severe\s+|mild\s+|serious\s+|bad\s+)?(?:(?P<thing>[\w -]{2,30}?)\s+allergy|"
    r"allerg(?:y|ies)\s+to\s+(?P<rest>.+))"
)
def have_allergy(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    return _allergy_candidates(match.group("thing") or match.group("rest") or "", ctx)


@rule(r"(?:" + I_AM + r"\s+(?:not|no longer)\s+" + ALLERGIC + r"\s+to|i'm not allergic to)\s+(?P<rest>.+)")
def allergy_retracted(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    return _allergy_candidates(match.group("rest"), ctx, retracts=True)
