"""What the user says about a family member: their allergies, diet and what they can't eat, health, home and work."""

from __future__ import annotations

import re

from assistant.learning.candidate import Candidate
from assistant.learning.rules.allergies import ALLERGIC, allergens
from assistant.learning.rules.diet import DIETS
from assistant.learning.rules.family import RELATION_PATTERN, RELATIONS, UNIQUE_RELATIONS, relation_candidate
from assistant.learning.rules.health import CONDITIONS, names_a_condition
from assistant.learning.rules.rule import RuleContext, rule
from assistant.learning.rules.values import DETERMINER_START, cut, name_words
from assistant.learning.rules.work import cut_employer
from assistant.memory.language import slug
from assistant.memory.types import Kind

# A name after the relation ("my partner Rui", "my husband, João,"): capitalised, so "my partner
# really is" is not read as a name.
_GIVEN_NAME = r"(?-i:[A-ZÀ-ÖØ-Þ][\w'-]*)(?:\s+(?-i:[A-ZÀ-ÖØ-Þ][\w'-]*))?"


_ADJECTIVES = {
    "diabetic": "diabetes",
    "asthmatic": "asthma",
    "epileptic": "epilepsy",
    "autistic": "autism",
    "coeliac": "coeliac disease",
    "celiac": "coeliac disease",
    "lactose intolerant": "lactose intolerance",
}


@rule(
    r"(?:about\s+)?(?:my|our)\s+(?:(?:little|older|younger|big|baby|eldest|oldest|youngest|elder|new)\s+)?(?P<who>"
    + RELATION_PATTERN
    + r")(?:\s*,?\s+(?P<name>"
    + _GIVEN_NAME
    + r")\s*,?)?\s+(?:who\s+)?(?:(?:is|'s)\s+(?:also\s+|severely\s+|very\s+|deathly\s+|highly\s+|really\s+)*"
    + ALLERGIC
    + r"\s+to\s+(?P<allergy>.+)|(?:has|'s got|has got)\s+(?:an?\s+)?(?:severe\s+|mild\s+|bad\s+)?"
    r"(?P<allergy2>[\w -]{2,25}?)\s+allergy|"
    r"(?:is|'s)\s+(?P<adj>diabetic|asthmatic|epileptic|autistic|coeliac|celiac|lactose intolerant)\b|"
    r"(?:is|'s)\s+(?:(?:now|also|strictly|fully|mostly|a)\s+)*(?P<diet>"
    + DIETS
    + r")\b(?!\s+(?:food|restaurant))|(?:has|suffers from)\s+(?:(?:mild|severe|chronic|bad|serious)\s+)?(?P<cond>"
    + CONDITIONS
    + r")\b|(?:can't|cannot|can not|doesn't|does not|mustn't)\s+(?:have|eat|tolerate|digest)\s+(?P<avoids>.+)|"
    r"lives\s+in\s+(?P<home>.+)|works\s+(?:at|for)\s+(?P<employer>.+))"
)
def family_member_fact(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    """ "my partner Rui is vegetarian": the relation's name, and the fact, under the person's key."""
    relation = RELATIONS[match.group("who").lower()]
    name = match.group("name") or ""
    if name and not name_words(name, lenient=False):
        return []
    person = f"User's {relation.replace('_', ' ')}" + (f" {name}" if name else "")
    if relation in UNIQUE_RELATIONS:
        person_key: str | None = f"user.family.{relation}"
    else:  # one of several sisters or sons: only a name tells which
        person_key = f"user.family.{relation}.{slug(name)}" if name else None
    found = [relation_candidate(match.group("who"), name, ctx)] if name else []

    def fact(text: str, aspect: str, value: str, importance: float) -> Candidate:
        key = f"{person_key}.{aspect}" if person_key else None
        if key is None and aspect.startswith(("allergy.", "health.")):
            # Which sister? Unknown, but an allergy keyed by its allergen supersedes nothing else.
            key = f"user.family.{relation}.{aspect}"
        return ctx.make(Kind.SEMANTIC, f"{person} {text}", key, value, importance=importance)

    if match.group("allergy") or match.group("allergy2"):
        for item, key in allergens(match.group("allergy") or match.group("allergy2")):
            found.append(fact(f"is allergic to {item}", f"allergy.{key}", item.lower(), 0.95))
    elif match.group("adj"):
        condition = _ADJECTIVES.get(match.group("adj").lower(), match.group("adj").lower())
        found.append(fact(f"has {condition}", f"health.{slug(condition)}", condition, 0.85))
    elif match.group("diet"):
        diet = match.group("diet").lower().replace(" ", "-")
        found.append(fact(f"is {diet}", "diet", diet, 0.85))
    elif match.group("cond"):
        condition = match.group("cond").lower()
        if names_a_condition(condition):
            found.append(fact(f"has {condition}", f"health.{slug(condition)}", condition, 0.85))
    elif match.group("avoids"):
        for item, key in allergens(match.group("avoids")):  # foods the lexicon knows; the net keeps the rest
            found.append(fact(f"can't have {item.lower()}", f"diet.avoids.{key}", item.lower(), 0.9))
    elif match.group("home"):
        place = cut(match.group("home"), max_words=5)
        if place and not DETERMINER_START.match(place):
            found.append(fact(f"lives in {place}", "home", place, 0.7))
    elif match.group("employer") and (employer := cut_employer(match.group("employer"))):
        found.append(fact(f"works at {employer}", "employer", employer, 0.6))
    return found if len(found) > (1 if name else 0) else []
