"""Cutting the value out of the rest of a clause: a place, a name, a list of items, a liked thing.

"I live in Lisbon with my wife" -> "Lisbon": a value ends at punctuation or at a word that starts
something else ("with", "because", "since", ...), and a value longer than a few words is not one.
"""

from __future__ import annotations

import re

from assistant.learning.rules.sentences import ends_with_abbreviation
from assistant.learning.rules.words import NATIONALITIES
from assistant.memory.language import smart_title

_VALUE_END = re.compile(
    r"(?i)\s*(?:[,.;!?()\"]|\s-\s|\s(?:and|but|because|since|so|which|who|where|when|while|though|although|"
    r"until|unless|if|whereas|or|as well|anymore|any more|these days|nowadays|at the moment|right now|"
    r"currently|lately|for now|too|now|after all|in the end|at last|eventually|haha|lol|btw|by the way|though|"
    r"thanks|thank you|please|"
    r"with|for|since|ever since|in case|last|next|ago|yesterday|recently|around|about|a few|a couple|"
    r"in (?:19|20)\d\d|in (?:early |mid |late )?(?:january|february|march|april|may|june|july|august|september|"
    r"october|november|december)|(?:one|two|three|four|five|six|\d+) (?:years?|months?|weeks?|days?))\b)"
)
# A place ends where the reason for being there starts: "Porto hoping for work", "Leeds to be near mum".
PLACE_END = re.compile(
    _VALUE_END.pattern[:-1] + r"|\s(?:to|hoping|looking|trying|planning|working|studying|waiting|searching)\b)"
)
# A value starting with one of these points at something else ("I live in it"): no value.
DETERMINER_START = re.compile(
    r"(?i)^(?:it|that|this|these|those|them|you|your|yours|him|her|what|how|when|which|"
    r"who|whom|everything|nothing|anything|something|everyone|someone|one|some|any)\b"
)


def cut(text: str, *, max_words: int = 6, stop: re.Pattern[str] = _VALUE_END) -> str:
    """The value at the start of `text`, up to `stop`; empty when it is longer than `max_words`."""
    end = next((match.start() for match in stop.finditer(text) if not _inside_a_name(text, match)), len(text))
    value = text[:end]
    value = value.strip(" '\"-:")
    parts = value.split()
    if not parts or len(parts) > max_words:
        return ""
    return " ".join(parts)


def _inside_a_name(text: str, stop: re.Match[str]) -> bool:
    """A full stop that belongs to the value: "St. Mary's hospital", "Amazon.com"."""
    if stop.group(0).strip() != ".":
        return False
    after = text[stop.end() :]
    if after[:1].isalnum():
        return True
    return ends_with_abbreviation(text[: stop.start()]) and bool(after.strip())


def strip_article(text: str) -> str:
    return re.sub(r"(?i)^(?:a|an|the|some)\s+", "", text)


def split_items(text: str) -> list[str]:
    """'peanuts, shellfish and eggs' -> three items."""
    parts = re.split(r"(?i)\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+|\s*/\s*", text)
    return [part.strip() for part in parts if part.strip()]


# Words that follow "I'm" or "my name is" but are not names ("I'm tired", "I'm married").
_NOT_NAMES = frozenset(
    "good|fine|great|ok|okay|tired|sure|sorry|happy|sad|back|here|ready|done|busy|new|not|so|very|just|"
    "also|still|going|trying|looking|a|an|the|from|in|at|on|home|well|alright|excited|bored|hungry|"
    "thirsty|sick|ill|late|early|confused|lost|curious|afraid|scared|glad|thrilled|retired|married|single|"
    "divorced|pregnant|vegetarian|vegan|allergic|interested|learning|working|living|moving|leaving|coming|"
    "thinking|wondering|stuck|free|available|awake|asleep|online|offline|there|out|up|down|right|wrong|"
    "certain|positive|bad|better|worse|fantastic|amazing|awesome|cool|grateful|thankful|honest|serious|"
    "kidding|joking|human|real|ai|assistant|christian|muslim|jewish|catholic|buddhist|hindu|atheist|"
    "agnostic|gay|straight|bi|trans|old|young|tall|short|left|handed|stressed|anxious|worried|nervous|"
    "exhausted|sleepy|hungover|fed|finished|about|off|your|his|her|their|our|my|this|that|it|all|too|"
    "really|totally|almost|nearly|now|currently|always|never|unemployed|self|engaged|crazy|mad|paranoid|weird|"
    "silly|stupid|lazy|picky|naive|cynical|sceptical|skeptical|biased|nuts|old-fashioned|whatever|anytime".split("|")
)


def name_words(text: str, *, lenient: bool) -> str:
    """Up to four name words at the start of `text` (lenient: lowercase allowed)."""
    match = re.match(r"((?:[^\W\d_][\w'.-]*)(?:\s+[^\W\d_][\w'.-]*){0,3})", text)
    if not match:
        return ""
    parts: list[str] = []
    for word in match.group(1).split():
        bare = word.strip(".'")
        if bare.lower() in {
            "and",
            "but",
            "or",
            "from",
            "by",
            "btw",
            "though",
            "please",
            "thanks",
            "now",
            "here",
            "nice",
            "i",
            "i'm",
            "im",
            "not",
            "anymore",
            "too",
            "so",
            "as",
            "in",
            "at",
        }:
            break
        if not lenient and not bare[:1].isupper():
            break
        if parts and parts[0][:1].isupper() and not bare[:1].isupper():
            break  # "Jon without the h": a capitalised name ends at the first lowercase word
        parts.append(bare)
    if not parts or any(part.lower() in _NOT_NAMES or part.lower() in NATIONALITIES for part in parts):
        return ""
    if any(re.search(r"\d|_", part) for part in parts):
        return ""
    return smart_title(" ".join(parts))


_LIKE_STOP = re.compile(
    r"(?i)\s*(?:[,.;!?()\"]|\s-\s|\s(?:but|because|since|so|which|who|when|while|though|although|if|whereas|"
    r"a lot|so much|very much|too|as well|anymore|any more|more than anything|haha|lol|btw|by the way|these days|"
    r"nowadays|now|lately|please|thanks|and i|and my|but i|on (?:the )?weekends?|at (?:the )?weekends?|"
    r"at the moment|right now|in (?:my )?(?:spare|free) time|every (?:day|week|weekend|morning|evening|night))\b)"
)


def like_object(text: str) -> str:
    """What is liked, preferred or a favourite: "tea" in "I love tea so much"."""
    value = cut(text, max_words=6, stop=_LIKE_STOP)
    if (
        not value
        or DETERMINER_START.match(value)
        or re.match(r"(?i)^(?:my|our|his|her|their|the way|when|to (?:think|believe|know|say|see|hear|ask))\b", value)
    ):
        return ""
    return value
