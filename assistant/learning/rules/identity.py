"""Who the user is: their name, surname, what to call them, and their nationality."""

from __future__ import annotations

import re

from assistant.learning.candidate import Candidate
from assistant.learning.rules.rule import RuleContext, rule
from assistant.learning.rules.values import name_words
from assistant.learning.rules.words import I_AM, NATIONALITIES, NEGATED_TAIL
from assistant.memory.language import smart_title
from assistant.memory.types import Kind


@rule(
    r"(?:my (?:full |first |given )?name is|my name's|my names|name's|i am called|i'm called|i'm named|"
    r"i am named|people call me|everyone calls me|they call me)\s+(?!not\b)(?P<rest>.+)"
)
def name_is(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    lowered = match.group(0).lower()
    name = name_words(match.group("rest"), lenient=True)
    if not name:
        return []
    if lowered.startswith(("people call me", "everyone calls me", "they call me")):
        return [
            ctx.make(Kind.PREFERENCE, f"User prefers to be called {name}", "user.preferred_name", name, importance=0.85)
        ]
    return [ctx.make(Kind.SEMANTIC, f"User's name is {name}", "user.name", name, importance=0.9)]


@rule(r"my (?:last name|surname|family name) is\s+(?P<rest>.+)")
def surname(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    name = name_words(match.group("rest"), lenient=True)
    return [ctx.make(Kind.SEMANTIC, f"User's surname is {name}", "user.surname", name, importance=0.7)] if name else []


@rule(r"(?:you can |please |you may |just |feel free to )*(?:call me|address me as|refer to me as)\s+(?P<rest>.+)")
def call_me(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    name = name_words(match.group("rest"), lenient=True)
    if not name or NEGATED_TAIL.search(match.group(0)):
        return []
    return [
        ctx.make(Kind.PREFERENCE, f"User prefers to be called {name}", "user.preferred_name", name, importance=0.85)
    ]


@rule(
    r"(?:i go by|i prefer to be called|i'd like to be called|i would like to be called|i like to be called)"
    r"\s+(?P<rest>.+)"
)
def go_by(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    return call_me(match, ctx)


@rule(
    I_AM
    + r"\s+(?:a\s+|an\s+)?(?P<nat>"
    + "|".join(sorted(NATIONALITIES, key=len, reverse=True))
    + r")(?:\s+(?:citizen|national))?\s*(?:[,.!]|$|\s+(?:and|but|by)\b)"
)
def nationality(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    nationality = smart_title(match.group("nat").lower())
    return [ctx.make(Kind.SEMANTIC, f"User is {nationality}", "user.nationality", nationality, importance=0.6)]


# Tried after every other rule (see explicit.py): "I'm Tom" is a name only when nothing else reads it.
@rule(I_AM + r"\s+(?P<rest>[^\W\d_][\w'-]*(?:\s+[^\W\d_][\w'-]*){0,2})\s*(?:[,.!]\s*(?P<after>.*))?$")
def name_in_passing(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    rest = match.group("rest")
    after = (match.group("after") or "").lower()
    if after and not re.match(r"(?:nice|pleased|good|glad|great|how|hi|hello|hey|and|from|i|i'm|i am|btw|$)", after):
        return []
    greeted = re.match(r"(?i)\s*(?:hi|hey|hello|hiya|yo|heya)\b", ctx.sentence)
    name = name_words(rest, lenient=bool(greeted) and len(rest.split()) == 1)
    if not name or len(name.split()) != len(rest.split()):
        return []
    if name.lower().endswith("ing") and len(name) > 5:
        return []
    return [ctx.make(Kind.SEMANTIC, f"User's name is {name}", "user.name", name, importance=0.9, confidence=0.75)]


@rule(r"(?:this is|it's|its)\s+(?P<name>(?-i:[A-Z][\w'-]+))\s+(?:speaking|here)\b")
def this_is(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    """'This is Marta speaking'."""
    name = name_words(match.group("name"), lenient=False)
    return [ctx.make(Kind.SEMANTIC, f"User's name is {name}", "user.name", name, importance=0.9)] if name else []


@rule(r"(?P<name>(?-i:[A-Z][\w'-]+))\s+here\s*(?:[,.!]|$)")
def name_here(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    """'Mike here, I'm a teacher': a name signing the message, at its start."""
    if ctx.sentence.strip().split()[0].strip(",.!") not in (match.group("name"), "Hi", "Hello", "Hey", "Hiya"):
        return []
    return this_is(match, ctx)
