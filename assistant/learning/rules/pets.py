"""The user's pets: "I have a dog called Rex", "I have two cats named Tom and Luna".

"My dog is called Rex" is read by family.py's `relation_named`, which reads relatives and pets alike.
"""

from __future__ import annotations

import re

from assistant.learning.candidate import Candidate
from assistant.learning.rules.rule import RuleContext, rule
from assistant.learning.rules.values import cut, name_words, split_items
from assistant.learning.rules.words import I_HAVE
from assistant.memory.language import article, slug
from assistant.memory.types import Kind

# The word the user says -> the pet it is (the key's last part).
PETS = dict(
    pair.split("=")
    for pair in (
        "dog=dog|puppy=dog|pup=dog|cat=cat|kitten=cat|kitty=cat|hamster=hamster|rabbit=rabbit|bunny=rabbit|"
        "parrot=parrot|bird=bird|budgie=bird|fish=fish|goldfish=fish|horse=horse|pony=horse|"
        "guinea pig=guinea_pig|turtle=turtle|tortoise=tortoise|lizard=lizard|gecko=lizard|snake=snake|"
        "ferret=ferret|rat=rat|mouse=mouse|chicken=chicken|goat=goat|iguana=lizard|canary=bird|greyhound=dog|"
        "labrador=dog|lab=dog|poodle=dog|spaniel=dog|terrier=dog|beagle=dog|collie=dog|dachshund=dog|pug=dog|"
        "husky=dog|retriever=dog|corgi=dog|whippet=dog|chihuahua=dog|bulldog=dog|sheepdog=dog|siamese=cat"
    ).split("|")
)
PET_PATTERN = "|".join(sorted((re.escape(word) for word in PETS), key=len, reverse=True))


def pet_candidate(pet_word: str, name: str | None, ctx: RuleContext) -> Candidate:
    pet = PETS[pet_word.lower()]
    noun = pet.replace("_", " ")
    text = f"User has {article(noun)} {noun} named {name}" if name else f"User has {article(noun)} {noun}"
    return ctx.make(Kind.SEMANTIC, text, f"user.pet.{pet}", name or noun, importance=0.6)


_NAME_LIST_END = re.compile(r"(?i)\s*(?:[.;!?()]|\s(?:but|because|who|which|since|so)\b)")


@rule(
    r"(?:"
    + I_HAVE
    + r"|i own|(?:i|we)\s+(?:just\s+|recently\s+)?(?:adopted|rescued|got))\s+(?P<count>a|an|one|two|three|four|\d)\s+"
    r"(?:(?:little|old|young|big|small|new|rescue|rescued|pet|black|white|"
    r"ginger|tabby|golden|lovely)\s+)*(?P<pet>" + PET_PATTERN + r")s?\b(?:\s*,?\s*(?:(?:called|named)|"
    r"(?:her|his|its|their)\s+names?\s+(?:is|are))\s+(?P<name>.+))?"
)
def have_pet(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    count = match.group("count").lower()
    if count in ("a", "an", "one") or not match.group("name"):
        name = name_words(match.group("name"), lenient=True) if match.group("name") else None
        if count not in ("a", "an", "one"):
            pet = PETS[match.group("pet").lower()].replace("_", " ")
            return [
                ctx.make(
                    Kind.SEMANTIC, f"User has {count} {pet}s", f"user.pet.{slug(pet)}.count", count, importance=0.6
                )
            ]
        return [pet_candidate(match.group("pet"), name or None, ctx)]
    names = [
        name_words(part, lenient=False)
        for part in split_items(cut(match.group("name"), max_words=8, stop=_NAME_LIST_END))
    ]
    names = [name for name in names if name]
    if not names:
        return []
    pet = PETS[match.group("pet").lower()]
    noun = pet.replace("_", " ") + "s"
    joined = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    return [
        ctx.make(Kind.SEMANTIC, f"User has {count} {noun} named {joined}", f"user.pet.{pet}", joined, importance=0.6)
    ]


@rule(
    r"(?:my|our)\s+(?:(?:little|old|new|rescue)\s+)?(?P<pet>" + PET_PATTERN + r")\s*,?\s+(?P<name>(?-i:[A-Z][\w'-]+))\b"
)
def pet_named_in_passing(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    """'my parrot Kiwi never shuts up', 'our puppy Max chewed my shoes'."""
    name = name_words(match.group("name"), lenient=False)
    return [pet_candidate(match.group("pet"), name, ctx)] if name else []
