"""How the user wants things: "I prefer X over Y", and how to answer them.

Answer length ("keep it short"), reply language, units, emoji, tone, and the standing rules
they give the assistant ("always cite sources").
"""

from __future__ import annotations

import re

from assistant.learning.candidate import Candidate
from assistant.learning.rules.rule import RuleContext, rule
from assistant.learning.rules.values import like_object, strip_article
from assistant.memory.language import slug, smart_title, upper_first
from assistant.memory.types import Kind

_RULE_VERBS = (
    r"ask|answer|reply|respond|use|include|give|write|explain|tell|check|remind|confirm|show|keep|add|format|"
    r"speak|call|double-check|cite|mention|say|start|end|put|suggest|assume|recommend|offer|warn|be|provide|"
    r"list|talk|address|refer|sign|greet|summarize|summarise|translate|avoid|make|try|let|send|share|"
    r"correct|respect|consider|prefer|mention|read|write|show|round|convert|put|do|don't|stop|skip"
)
_ANSWER_WORDS = r"answers?|responses?|replies|reply|explanations?|messages?"
_LENGTHS = dict(
    pair.split("=")
    for pair in (
        "short=short|shorter=short|brief=short|briefer=short|concise=short|succinct=short|terse=short|"
        "to the point=short|long=detailed|longer=detailed|detailed=detailed|in-depth=detailed|"
        "in depth=detailed|thorough=detailed|comprehensive=detailed|more detailed=detailed|simple=simple|"
        "simpler=simple"
    ).split("|")
)
_LANGUAGES = frozenset(
    "english|spanish|french|german|italian|portuguese|dutch|swedish|norwegian|danish|finnish|polish|czech|"
    "greek|turkish|russian|ukrainian|chinese|mandarin|cantonese|japanese|korean|vietnamese|thai|hindi|"
    "arabic|hebrew|persian|farsi|indonesian|malay|tagalog|romanian|hungarian|catalan|basque|galician|"
    "swahili|bengali|urdu|punjabi|tamil|irish|welsh|esperanto|latin|brazilian portuguese".split("|")
)


def answer_style(value: str) -> tuple[str, str] | None:
    """("short", "User prefers short answers") when `value` speaks of an answer length."""
    match = re.search(
        r"(?i)\b(?P<len>"
        + "|".join(sorted(map(re.escape, _LENGTHS), key=len, reverse=True))
        + r")\s+(?:"
        + _ANSWER_WORDS
        + r")\b",
        value,
    )
    if match:
        length = _LENGTHS[match.group("len").lower()]
        return length, f"User prefers {length} answers"
    return None


def _preference_topic(preferred: str, other: str | None) -> tuple[str, str] | None:
    lowered = preferred.lower()
    if style := answer_style(lowered + (" answers" if not re.search(_ANSWER_WORDS, lowered) else "")):
        return "answer_length", style[0]
    if re.search(r"\b(?:metric|imperial|celsius|fahrenheit|kilometers|kilometres|miles)\b", lowered):
        return "units", lowered
    if re.search(r"\b(?:formal|informal|casual|friendly|professional)\b", lowered):
        return "tone", lowered
    if re.search(r"\b(?:bullet points?|lists?|tables?|prose|paragraphs?|markdown|code examples?)\b", lowered):
        return "format", lowered
    if other:
        pair = sorted([slug(strip_article(lowered), max_words=3), slug(strip_article(other.lower()), max_words=3)])
        return "_vs_".join(pair), lowered
    topic = slug(strip_article(lowered), max_words=3)
    return (topic, lowered) if topic else None


@rule(
    r"(?:i\s+(?:much\s+|really\s+|generally\s+|usually\s+|definitely\s+|always\s+|would\s+|strongly\s+)*prefer|"
    r"i'd\s+(?:much\s+)?prefer|i'd\s+(?:much\s+)?rather(?:\s+have)?)\s+(?P<rest>.+)"
)
def prefer(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    rest = match.group("rest")
    if re.match(r"(?i)(?:to be called|not to|it|that|this|you|not)\b", rest):
        return []
    pair = re.match(r"(?i)(?P<a>.+?)\s+(?:over|to|rather than|instead of|than|vs\.?|versus)\s+(?P<b>.+)", rest)
    preferred = like_object(pair.group("a")) if pair else like_object(rest)
    other = like_object(pair.group("b")) if pair else None
    if not preferred:
        return []
    topic = _preference_topic(preferred, other)
    if topic is None:
        return []
    key_topic, value = topic
    if key_topic == "answer_length":
        text = f"User prefers {value} answers"
    else:
        text = f"User prefers {preferred}" + (f" over {other}" if other else "")
    return [ctx.make(Kind.PREFERENCE, text, f"user.preference.{key_topic}", value, importance=0.7)]


@rule(
    r"(?:please\s+|can you\s+|could you\s+|i'd like you to\s+|i want you to\s+|from now on,?\s+|always\s+)*"
    r"(?:keep|make)\s+(?:your\s+|the\s+|all\s+)?(?:(?:" + _ANSWER_WORDS + r")|it|things)\s+"
    r"(?:(?:very|really|nice and|more|a bit|a little|super)\s+)*(?P<len>short|shorter|brief|briefer|concise|"
    r"succinct|to the point|long|longer|detailed|simple|simpler)\b"
)
def keep_answers(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    length = _LENGTHS[match.group("len").lower()]
    return [
        ctx.make(
            Kind.PREFERENCE, f"User prefers {length} answers", "user.preference.answer_length", length, importance=0.7
        )
    ]


@rule(
    r"(?:please\s+|can you\s+|could you\s+|from now on,?\s+|always\s+)*(?:be|stay)\s+(?:(?:more|very|really)\s+)?"
    r"(?P<len>brief|concise|succinct|short|terse|detailed|thorough)\b"
)
def be_brief(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    return keep_answers(match, ctx)


@rule(
    r"(?:please\s+|can you\s+|could you\s+|from now on,?\s+|always\s+)*give\s+me\s+(?:(?:more|very|really)\s+)?"
    r"(?P<len>short|shorter|brief|concise|long|longer|detailed|in-depth|simple|simpler)\s+(?:" + _ANSWER_WORDS + ")"
)
def give_me_answers(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    return keep_answers(match, ctx)


@rule(
    r"(?:please\s+|can you\s+|could you\s+|from now on,?\s+|always\s+)*(?:answer|reply|respond|talk|speak|write)"
    r"(?:\s+to\s+me)?\s+(?:only\s+)?in\s+(?P<lang>[A-Za-z]+(?:\s+portuguese)?)\b"
)
def language(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    language = match.group("lang").lower()
    if language not in _LANGUAGES:
        return []
    readable = smart_title(language)
    return [
        ctx.make(
            Kind.PREFERENCE,
            f"User prefers replies in {readable}",
            "user.preference.language",
            readable,
            importance=0.75,
        )
    ]


@rule(
    r"(?:please\s+|from now on,?\s+|always\s+)*(?:use|give me|show)\s+(?P<units>metric|imperial|celsius|fahrenheit)"
    r"(?:\s+units)?\b"
)
def units(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    units = match.group("units").lower()
    system = {"celsius": "metric", "fahrenheit": "imperial"}.get(units, units)
    return [ctx.make(Kind.PREFERENCE, f"User prefers {system} units", "user.preference.units", system, importance=0.7)]


@rule(r"(?:please\s+)?(?:(?:don't|do not|never)\s+use\s+(?:any\s+)?emojis?|no\s+(?:more\s+)?emojis?)\b")
def no_emoji(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    return [ctx.make(Kind.PREFERENCE, "User prefers no emojis", "user.preference.emoji", "none", importance=0.6)]


@rule(r"(?:please\s+|from now on,?\s+)*be\s+(?:more\s+)?(?P<tone>formal|casual|informal|friendly|professional)\b")
def tone(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    tone = match.group("tone").lower().replace("informal", "casual")
    return [ctx.make(Kind.PREFERENCE, f"User prefers a {tone} tone", "user.preference.tone", tone, importance=0.65)]


@rule(r"(?:from now on,?\s+)?(?:please\s+)?(?P<rule>(?:always|never)\s+(?:" + _RULE_VERBS + r")\b.+)")
def standing_rule(match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
    text = match.group("rule").strip().rstrip(".!")
    if len(text.split()) < 3 or re.match(r"(?i)never\s+mind\b", text):
        return []
    text = upper_first(text)
    return [ctx.make(Kind.PROCEDURAL, text, f"rule.{slug(text, max_words=8)}", text, importance=0.8)]
