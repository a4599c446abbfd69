"""Health, allergy and diet said in everyday words: "shrimp makes my throat swell up", "I can't have
dairy", "no sesame for me, I'm allergic", "went vegan in January", "I'm on blood thinners".

The plain phrasings ("I'm allergic to", "I'm vegan", "I have asthma") are in allergies.py,
diet.py and health.py; these rules read the ways people actually say the same things.
"""

from __future__ import annotations

import re

from assistant.learning.candidate import Candidate
from assistant.learning.rules.allergies import ALLERGIC, allergens
from assistant.learning.rules.diet import DIETS, diet_name
from assistant.learning.rules.health import CONDITIONS, names_a_condition
from assistant.learning.rules.reactions import allergens_named
from assistant.learning.rules.rule import RuleContext, rule
from assistant.learning.rules.values import DETERMINER_START, cut, split_items, strip_article
from assistant.learning.rules.words import I_AM
from assistant.memory.language import singular, slug
from assistant.memory.types import Kind

# Foods and things whose refusal ("I can't have dairy") is a diet or allergy fact.
FOODS = (
    r"gluten|wheat|lactose|dairy|milk|cheese|eggs?|peanuts?|nuts?|tree nuts?|shellfish|shrimps?|prawns?|fish|soy|"
    r"soya|sesame|mustard|celery|sulphites?|sulfites?|pork|beef|red meat|meat|chicken|alcohol|caffeine|sugar|"
    r"garlic|onions?|tomatoes|spicy food|seafood|mushrooms?|corn|strawberries|kiwis?|mangoes|mango"
)
# What a reaction sounds like: an allergy.
_REACTION = (
    r"(?:makes?|made|gives?|gave)\s+(?:me\s+)?(?:(?:my\s+)?(?:throat|lips|face|tongue|mouth|eyes|skin)\s+"
    r"(?:swell|close|itch|burn)|(?:me\s+)?break\s+out|(?:me\s+)?come\s+out\s+in|(?:me\s+)?(?:an?\s+)?"
    r"(?:(?:really|very|severe|bad|awful|terrible|serious|allergic)\s+)*(?:reactions?|hives|rash(?:es)?|"
    r"anaphyla\w*))"
)
# What intolerance sounds like: the food is avoided.
_UNWELL = r"(?:makes?|made)\s+me\s+(?:really\s+|very\s+|so\s+)?(?:ill|sick|unwell|bloated|throw up|vomit)"
_MEDICATIONS = (
    r"blood thinners|insulin|metformin|statins|antidepressants|beta[- ]blockers|warfarin|the pill|"
    r"thyroid medication|blood pressure (?:meds|medication|pills)|chemo(?:therapy)?|dialysis|hrt|"
    r"inhalers?|an inhaler|[a-z]+(?:pril|statin|olol|azole|cillin|pam|prazole|sartan|mab|ine)"
)


def _allergy(item: str, key: str, ctx: RuleContext) -> Candidate:
    return ctx.make(Kind.SEMANTIC, f"User is allergic to {item}", f"user.allergy.{key}", item.lower(), importance=0.95)


def _avoids(item: str, ctx: RuleContext) -> Candidate:
    item = strip_article(item).lower()
    return ctx.make(Kind.SEMANTIC, f"User doesn't eat {item}", f"user.diet.avoids.{slug(item)}", item, importance=0.8)


@rule(r"(?P<thing>[\w' -]{2,30}?)\s+(?P<how>" + _REACTION + "|" + _UNWELL + r")")
def food_reaction(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    """'shellfish makes me break out in hives', 'gluten makes me really ill'."""
    thing = match.group("thing")
    if DETERMINER_START.match(thing) or re.match(r"(?i)(?:my|his|her|their|our|your|he|she|they|we)\b", thing):
        return []
    named = allergens_named(thing)  # "eating peanuts", "even a trace of peanut": the lexicon's allergen
    found = [(n.said.lower(), n.key) for n in named] if named else allergens(thing)
    if not found or len(found) > 3:
        return []
    if re.match(_UNWELL, match.group("how"), re.IGNORECASE) and not re.search(r"(?i)allerg", ctx.sentence):
        return [_avoids(item, ctx) for item, _ in found]
    return [_allergy(item, key, ctx) for item, key in found]


@rule(r"no\s+(?:more\s+)?(?P<thing>[\w' -]{2,25}?)\s+for\s+me\b")
def none_for_me(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    """'no sesame for me, I'm allergic'; 'no red meat for me'."""
    found = allergens(match.group("thing"))
    if not found:
        return []
    if re.search(r"(?i)\b" + ALLERGIC + r"\b|allerg", ctx.sentence):
        return [_allergy(item, key, ctx) for item, key in found]
    return [_avoids(item, ctx) for item, _ in found]


@rule(
    r"i\s+(?:carry|have|need|keep)\s+(?:an?\s+|my\s+)?(?:epi-?pen|inhaler)\b.*?\b(?:an?|my)\s+"
    r"(?P<thing>[\w -]{2,25}?)\s+allergy"
)
def epipen_for(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    return [_allergy(item, key, ctx) for item, key in allergens(match.group("thing"))]


@rule(
    r"i\s+(?:really\s+|just\s+|simply\s+)?(?:can't|cannot|can not|shouldn't|mustn't|must not|don't|do not)\s+"
    r"(?:have|eat|digest|tolerate|handle)\s+(?P<rest>.+)"
)
def cannot_have(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    """'I can't have dairy': only named foods, so 'I can't have kids' or 'I don't have a car' is no diet."""
    items = split_items(cut(match.group("rest"), max_words=6))
    foods = [item for item in items if re.fullmatch(r"(?i)(?:any\s+)?(?:" + FOODS + r")", item)]
    return [_avoids(re.sub(r"(?i)^any\s+", "", item), ctx) for item in foods]


@rule(r"i\s+(?:only\s+)?eat\s+(?:only\s+)?(?P<diet>" + DIETS + r")\b")
def eats_only(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    diet = diet_name(match.group("diet"))
    return [ctx.make(Kind.SEMANTIC, f"User is {diet}", "user.diet", diet, importance=0.85)]


@rule(
    r"(?:i\s+|i've\s+|i have\s+)?(?:just\s+|recently\s+|finally\s+)?(?:went|gone|turned|became|become|switched to)"
    r"\s+(?:fully\s+)?(?P<diet>" + DIETS + r")\b"
)
def went_diet(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    return eats_only(match, ctx)


@rule(I_AM + r"\s+(?:now\s+|currently\s+)?on\s+(?:a\s+|the\s+)?(?P<diet>" + DIETS + r")\s+diet\b")
def on_a_diet(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    return eats_only(match, ctx)


def _medication(name: str, ctx: RuleContext) -> list[Candidate]:
    name = strip_article(name.lower().strip())
    return [ctx.make(Kind.SEMANTIC, f"User takes {name}", f"user.health.{slug(name)}", name, importance=0.9)]


@rule(I_AM + r"\s+(?:now\s+|currently\s+|still\s+)?on\s+(?P<med>" + _MEDICATIONS + r")\b")
def on_medication(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    return _medication(match.group("med"), ctx)


@rule(
    r"i\s+(?:have to\s+|need to\s+)?take\s+(?P<med>[\w -]{3,30}?)\s+(?:every|each|daily|twice|once|for my|at night|"
    r"in the morning)\b"
)
def takes_medication(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    med = match.group("med")
    if not re.fullmatch(r"(?i)(?:my\s+)?(?:" + _MEDICATIONS + r"|[a-z]+ (?:pills|tablets|meds|medication))", med):
        return []
    return _medication(med, ctx)


@rule(r"my\s+(?P<cond>" + CONDITIONS + r")\s+(?:has|have|is|are|keeps?|'s|flares?|flared|acts?|acting|got)\b")
def my_condition(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    """'my migraines have been brutal': the user has migraines."""
    condition = match.group("cond").lower()
    if not names_a_condition(condition):
        return []
    condition = " ".join(singular(word) for word in condition.split()) if condition.endswith("s") else condition
    return [
        ctx.make(Kind.SEMANTIC, f"User has {condition}", f"user.health.{slug(condition)}", condition, importance=0.9)
    ]


@rule(
    r"(?:i've\s+|i have\s+)?been\s+(?:dealing|living|struggling|diagnosed)\s+with\s+(?:(?:mild|severe|chronic|bad)\s+)?"
    r"(?P<cond>" + CONDITIONS + r")\b"
)
def been_dealing_with(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    condition = match.group("cond").lower()
    if not names_a_condition(condition):
        return []
    return [
        ctx.make(Kind.SEMANTIC, f"User has {condition}", f"user.health.{slug(condition)}", condition, importance=0.9)
    ]
