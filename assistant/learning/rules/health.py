"""The user's health conditions: "I have asthma", "I'm diabetic", "I no longer have migraines".

Allergies are in allergies.py, diets in diet.py.
"""

from __future__ import annotations

import re

from assistant.learning.candidate import Candidate
from assistant.learning.rules.rule import RuleContext, rule
from assistant.learning.rules.values import DETERMINER_START
from assistant.learning.rules.words import I_AM, I_HAVE
from assistant.memory.language import slug
from assistant.memory.types import Kind

CONDITIONS = (
    r"type [12] diabetes|diabetes|asthma|epilepsy|adhd|autism|dyslexia|depression|anxiety|bipolar(?: disorder)?|"
    r"c[o]?eliac(?: disease)?|crohn'?s(?: disease)?|ibs|irritable bowel syndrome|high blood pressure|"
    r"low blood pressure|hypertension|migraines?|arthritis|cancer|long covid|covid|a heart condition|"
    r"heart disease|kidney disease|hypothyroidism|hyperthyroidism|sleep apnea|sleep apnoea|insomnia|ptsd|ocd|"
    r"gout|psoriasis|eczema|lupus|multiple sclerosis|parkinson'?s(?: disease)?|alzheimer'?s(?: disease)?|"
    r"tinnitus|glaucoma|hiv|hepatitis(?: [abc])?|osteoporosis|scoliosis|fibromyalgia|chronic fatigue syndrome|"
    r"chronic pain|back pain|endometriosis|pcos|anemia|anaemia|high cholesterol|a pacemaker|hearing loss|"
    r"(?:[a-z'-]+ ){0,2}(?:disease|disorder|syndrome)|[a-z]+(?:itis|osis|emia|aemia)"
)
# "I'm diabetic" -> the condition it names.
_CONDITION_ADJECTIVES = dict(
    pair.split("=")
    for pair in (
        "diabetic=diabetes|asthmatic=asthma|epileptic=epilepsy|autistic=autism|dyslexic=dyslexia|"
        "celiac=celiac disease|coeliac=celiac disease|anemic=anemia|pregnant=pregnancy|deaf=deafness|"
        "blind=blindness|colorblind=colour blindness|colourblind=colour blindness|"
        "color blind=colour blindness|colour blind=colour blindness|hard of hearing=hearing loss|"
        "lactose intolerant=lactose intolerance|gluten intolerant=gluten intolerance|"
        "hypertensive=hypertension|bipolar=bipolar disorder"
    ).split("|")
)


def names_a_condition(condition: str) -> bool:
    """'asthma', 'Crohn's disease'; not the bare 'a disease' or 'that disorder'."""
    return condition.lower() not in ("a disease", "a disorder", "a syndrome") and not DETERMINER_START.match(condition)


def _health(condition: str, ctx: RuleContext, *, verb: str = "has", retracts: bool = False) -> Candidate:
    condition = condition.lower().strip()
    key = f"user.health.{slug(condition)}"
    if retracts:
        return ctx.make(Kind.SEMANTIC, f"User no longer has {condition}", key, condition, importance=0.9, retracts=True)
    return ctx.make(Kind.SEMANTIC, f"User {verb} {condition}", key, condition, importance=0.9)


@rule(
    r"(?:" + I_HAVE + r"|i\s+suffer\s+from|i\s+(?:was|have been|got|just got)\s+diagnosed\s+with|i\s+live\s+with|"
    r"i\s+struggle\s+with|i\s+am\s+living\s+with|i'm\s+living\s+with|i\s+deal\s+with)\s+"
    r"(?:(?:mild|severe|chronic|bad|serious|early[- ]stage|stage \w+)\s+)?(?P<cond>" + CONDITIONS + r")\b"
)
def condition(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    condition = match.group("cond")
    return [_health(condition, ctx)] if names_a_condition(condition) else []


@rule(
    I_AM
    + r"\s+(?:also\s+|severely\s+|very\s+)?(?P<adj>"
    + "|".join(sorted((re.escape(word) for word in _CONDITION_ADJECTIVES), key=len, reverse=True))
    + r")\b"
)
def condition_adjective(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    adjective = match.group("adj").lower()
    condition = _CONDITION_ADJECTIVES[adjective]
    key = f"user.health.{slug(condition)}"
    return [ctx.make(Kind.SEMANTIC, f"User is {adjective}", key, condition, importance=0.9)]


@rule(
    r"(?:i\s+(?:no longer|don't|do not)\s+have|i\s+(?:have\s+)?(?:recovered|been cured)\s+from|"
    r"i'm\s+(?:cured of|over)|i\s+beat)\s+(?P<cond>" + CONDITIONS + r")\b"
)
def condition_retracted(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    return [_health(match.group("cond"), ctx, retracts=True)]
