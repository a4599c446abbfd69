"""The user's goals: "I want to run a marathon", "my goal is to learn Spanish", "I'm trying to quit smoking".

A goal is what the user is working towards; a request to the assistant ("I want you to …", "I
want to know …") is none.
"""

from __future__ import annotations

import re

from assistant.learning.candidate import Candidate
from assistant.learning.rules.rule import RuleContext, rule
from assistant.learning.rules.values import DETERMINER_START, cut
from assistant.learning.rules.words import I_AM
from assistant.memory.language import slug
from assistant.memory.types import Kind

_GOAL_END = re.compile(
    r"(?i)\s*(?:[,.;!?()]|\s(?:this|next|by|before|one day|someday|some day|eventually|soon|in (?:the )?"
    r"(?:next|coming|spring|summer|autumn|fall|winter|\d)|so|because|but|and i|which|if|when|asap|lol|haha)\b)"
)
# "I want to know how", "I need to ask you": things to do now, in the chat, not goals.
_NOT_GOALS = re.compile(
    r"(?i)^(?:know|ask|check|see|say|tell|understand|find out|talk|chat|make sure|confirm|clarify|learn more about|"
    r"hear|read about|try this|do this|go|sleep|eat|cry|scream|die|be sure|get this|vent|share|mention|add|"
    r"remind|change|cancel|stop|quit this|start over)\b"
)


def _goal(text: str, phrase: str, ctx: RuleContext) -> list[Candidate]:
    goal = cut(text, max_words=7, stop=_GOAL_END)
    if not goal or DETERMINER_START.match(goal) or _NOT_GOALS.match(goal) or len(goal) < 4:
        return []
    key = slug(re.sub(r"(?i)^(?:my|a|an|the)\s+", "", goal), max_words=4)
    if not key:
        return []
    return [ctx.make(Kind.SEMANTIC, f"User {phrase} {goal}", f"user.goal.{key}", goal.lower(), importance=0.65)]


@rule(
    r"i\s+(?:really\s+|would\s+really\s+|'d\s+really\s+|also\s+|badly\s+|eventually\s+)*"
    r"(?P<verb>want|would like|'d like|would love|'d love|hope|plan|intend|aim|am hoping|am planning|"
    r"am aiming)\s+to\s+(?P<rest>.+)"
)
def want_to(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    return _goal(match.group("rest"), "wants to", ctx)


@rule(r"i'd\s+(?:really\s+|also\s+)*(?:like|love)\s+to\s+(?P<rest>.+)")
def would_like_to(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    if re.match(r"(?i)(?:visit|see|go|travel|try)\b", match.group("rest")):
        return []  # "I'd love to visit Japan someday" is a wish, said of places to go
    return _goal(match.group("rest"), "wants to", ctx)


@rule(
    r"my\s+(?:main\s+|big\s+|biggest\s+|new\s+|one\s+|ultimate\s+)?(?:goal|aim|dream|ambition|resolution|target)"
    r"(?:\s+for\s+(?:this|the|next)\s+year)?\s+(?:is|'s|was always)\s+to\s+(?P<rest>.+)"
)
def my_goal(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    return _goal(match.group("rest"), "wants to", ctx)


@rule(
    I_AM + r"\s+(?:currently\s+|still\s+|really\s+|now\s+)?(?P<verb>trying to|learning(?: to| how to)?|"
    r"hoping to|planning to|aiming to|saving(?: up)? for|working towards?|training for|studying for)\s+(?P<rest>.+)"
)
def working_on(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    verb = match.group("verb").lower()
    phrase = {"learning": "is learning", "learning to": "is learning to", "learning how to": "is learning to"}.get(
        verb, f"is {verb}"
    )
    return _goal(match.group("rest"), phrase, ctx)
