"""The user's diet: "I'm vegan", "I'm no longer vegetarian", "I don't eat pork"."""

from __future__ import annotations

import re

from assistant.learning.candidate import Candidate
from assistant.learning.rules.rule import RuleContext, rule
from assistant.learning.rules.values import DETERMINER_START, cut, split_items, strip_article
from assistant.learning.rules.words import I_AM, NEGATED_TAIL
from assistant.memory.language import slug
from assistant.memory.types import Kind

DIETS = (
    r"vegetarian|vegitarian|vegeterian|veggie|vegan|pescatarian|pescetarian|keto|kosher|halal|gluten[- ]free|"
    r"dairy[- ]free|plant[- ]based|paleo"
)
# How a diet is typed -> how it is kept.
_SPELLINGS = {
    "vegitarian": "vegetarian",
    "vegeterian": "vegetarian",
    "veggie": "vegetarian",
    "pescetarian": "pescatarian",
}


def diet_name(said: str) -> str:
    diet = said.lower().replace(" ", "-")
    return _SPELLINGS.get(diet, diet)


@rule(I_AM + r"\s+(?:(?:now|also|strictly|fully|mostly|a)\s+)*(?P<diet>" + DIETS + r")\b(?!\s+(?:food|restaurant))")
def follows_diet(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    diet = diet_name(match.group("diet"))
    return [ctx.make(Kind.SEMANTIC, f"User is {diet}", "user.diet", diet, importance=0.85)]


@rule(
    r"(?:" + I_AM + r"\s+(?:not|no longer)\s+(?:a\s+)?(?P<diet>" + DIETS + r")|i\s+(?:stopped|quit)\s+being\s+"
    r"(?:a\s+)?(?P<diet2>" + DIETS + r"))\b"
)
def diet_retracted(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    diet = diet_name(match.group("diet") or match.group("diet2"))
    return [ctx.make(Kind.SEMANTIC, f"User is no longer {diet}", "user.diet", diet, importance=0.85, retracts=True)]


@rule(r"i\s+(?:don't|do not|never|can't|cannot)\s+eat\s+(?P<rest>.+)")
def does_not_eat(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    value = cut(match.group("rest"), max_words=6)
    found: list[Candidate] = []
    for item in split_items(value):
        item = strip_article(item)
        if not item or DETERMINER_START.match(item) or NEGATED_TAIL.search(item):
            continue
        found.append(
            ctx.make(
                Kind.SEMANTIC,
                f"User doesn't eat {item}",
                f"user.diet.avoids.{slug(item)}",
                item.lower(),
                importance=0.8,
            )
        )
    return found
