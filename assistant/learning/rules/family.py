"""The user's family: relatives' names, how many children or siblings they have, who they married.

What the user says about a relative ("my partner Rui is vegetarian") is in family_facts.py.
"""

from __future__ import annotations

import re

from assistant.learning.candidate import Candidate
from assistant.learning.rules.pets import PET_PATTERN, PETS, pet_candidate
from assistant.learning.rules.rule import RuleContext, rule
from assistant.learning.rules.values import name_words
from assistant.learning.rules.words import I_HAVE
from assistant.memory.dates import NUMBER_WORDS
from assistant.memory.language import singular, slug
from assistant.memory.types import Kind

# The word the user says -> the relation it names (the key's part).
RELATIONS = dict(
    pair.split("=")
    for pair in (
        "wife=wife|husband=husband|hubby=husband|partner=partner|spouse=spouse|boyfriend=boyfriend|"
        "bf=boyfriend|girlfriend=girlfriend|gf=girlfriend|fiance=fiance|fiancé=fiance|fiancee=fiance|"
        "fiancée=fiance|mom=mother|mum=mother|mother=mother|mommy=mother|mama=mother|dad=father|father=father|"
        "daddy=father|papa=father|sister=sister|brother=brother|son=son|daughter=daughter|kid=child|"
        "child=child|baby=baby|grandma=grandmother|granny=grandmother|grandmother=grandmother|"
        "grandpa=grandfather|granddad=grandfather|grandfather=grandfather|aunt=aunt|uncle=uncle|cousin=cousin|"
        "niece=niece|nephew=nephew|best friend=best_friend|stepmother=stepmother|stepfather=stepfather|"
        "stepson=stepson|stepdaughter=stepdaughter|grandson=grandson|granddaughter=granddaughter|"
        "mother-in-law=mother_in_law|father-in-law=father_in_law|sister-in-law=sister_in_law|"
        "brother-in-law=brother_in_law|twin=twin|twin sister=twin_sister|twin brother=twin_brother"
    ).split("|")
)
# Relations a person has one of at a time: a new name supersedes the old one.
UNIQUE_RELATIONS = frozenset(
    "wife|husband|partner|spouse|boyfriend|girlfriend|fiance|mother|father|best_friend|stepmother|"
    "stepfather|mother_in_law|father_in_law".split("|")
)
RELATION_PATTERN = "|".join(sorted((re.escape(word) for word in RELATIONS), key=len, reverse=True))

# Counts the family rule reads: the shared number words plus "no"/"zero" and twins.
_NUMBERS = {**NUMBER_WORDS, "no": 0, "zero": 0, "twin": 2, "twins": 2}
_NUMBER_WORDS = {
    0: "no",
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
}


def relation_candidate(relation_word: str, name: str, ctx: RuleContext) -> Candidate:
    relation = RELATIONS[relation_word.lower()]
    key = f"user.family.{relation}.name" if relation in UNIQUE_RELATIONS else f"user.family.{relation}.{slug(name)}"
    readable = relation.replace("_", " ")
    return ctx.make(Kind.SEMANTIC, f"User's {readable} is named {name}", key, name, importance=0.75)


@rule(
    r"my\s+(?:(?:little|older|younger|big|baby|eldest|oldest|youngest|elder|new|late)\s+)?(?P<who>"
    + RELATION_PATTERN
    + "|"
    + PET_PATTERN
    + r")(?:'s name is|'s name's|s name is|'s (?:called|named)|\s+is\s+(?:called|named)|\s+goes by|\s+is)"
    r"\s+(?P<rest>.+)"
)
def relation_named(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    who = match.group("who").lower()
    explicit_name = not match.group(0).lower().split(who, 1)[1].strip().startswith("is ") or re.search(
        r"(?i)\bis\s+(?:called|named)\b", match.group(0)
    )
    name = name_words(match.group("rest"), lenient=bool(explicit_name))
    if not name or (not explicit_name and len(match.group("rest").split()) > len(name.split()) + 3):
        return []
    if who in PETS:
        return [pet_candidate(who, name, ctx)]
    return [relation_candidate(who, name, ctx)]


_FAMILY_GROUPS = {
    "kid": "children",
    "kids": "children",
    "child": "children",
    "children": "children",
    "grandkid": "grandchildren",
    "grandkids": "grandchildren",
}


@rule(
    I_HAVE + r"\s+(?P<count>no|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twins|\d{1,2})\s+"
    r"(?:(?:little|young|grown|adult|small|beautiful|wonderful|lovely|amazing)\s+)?"
    r"(?P<what>kids?|children|child|sons?|daughters?|brothers?|sisters?|siblings?|grandchildren|grandkids?)\b"
    r"(?P<rest>.*)"
)
def family_count(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    count_text = match.group("count").lower()
    count = int(count_text) if count_text.isdigit() else _NUMBERS[count_text]
    what = match.group("what").lower()
    group = _FAMILY_GROUPS.get(what, what if what.endswith("s") else what + "s")
    noun = group if count != 1 else ("child" if group == "children" else singular(group))
    text = f"User has {_NUMBER_WORDS.get(count, str(count))} {noun}"
    return [ctx.make(Kind.SEMANTIC, text, f"user.family.{group}.count", str(count), importance=0.7)]


@rule(r"(?:i\s+(?:don't|do not)\s+have\s+any|i\s+have\s+no)\s+(?P<what>kids|children|siblings|pets)\b")
def family_none(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    what = match.group("what").lower()
    if what == "pets":
        return [ctx.make(Kind.SEMANTIC, "User has no pets", "user.pet.count", "0", importance=0.5)]
    group = "children" if what in ("kids", "children") else what
    return [ctx.make(Kind.SEMANTIC, f"User has no {group}", f"user.family.{group}.count", "0", importance=0.7)]


@rule(r"(?:i(?:'m| am)\s+(?:married|engaged)\s+to|i\s+married)\s+(?P<rest>.+)")
def married_to(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    name = name_words(match.group("rest"), lenient=False)
    if not name:
        return []
    relation = "fiance" if "engaged" in match.group(0).lower() else "spouse"
    readable = "fiancé" if relation == "fiance" else "spouse"
    return [
        ctx.make(
            Kind.SEMANTIC, f"User's {readable} is named {name}", f"user.family.{relation}.name", name, importance=0.75
        )
    ]


@rule(r"no\s+(?P<what>brothers|sisters|siblings|kids|children)\b")
def no_more_of(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    """'I've got three sisters and no brothers': the count read from the clause before."""
    if not re.search(r"(?i)\b(?:i have|i've got|i've|ive got|i got)\b", ctx.sentence.split(match.group(0))[0]):
        return []
    what = match.group("what").lower()
    group = "children" if what in ("kids", "children") else what
    return [ctx.make(Kind.SEMANTIC, f"User has no {group}", f"user.family.{group}.count", "0", importance=0.7)]


@rule(
    r"(?:we|i)\s+(?:just\s+|recently\s+|finally\s+)?(?:had|welcomed)\s+(?:a|our)\s+(?:(?:new|baby|little)\s+)*"
    r"(?P<who>girl|boy|son|daughter)\s*,?\s*(?:(?:called|named)\s+)?(?P<name>(?-i:[A-Z][\w'-]+))"
)
def new_baby(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    relation = {"girl": "daughter", "boy": "son"}.get(match.group("who").lower(), match.group("who").lower())
    name = name_words(match.group("name"), lenient=False)
    return [relation_candidate(relation, name, ctx)] if name else []
