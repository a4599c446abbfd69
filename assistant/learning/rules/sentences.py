"""Cutting a message into sentences and the sentences into clauses the rules read one at a time.

Questions are dropped here ("Do I live in Paris?" states nothing), and so are the
interjections a clause starts with ("Actually, well, I live in Lisbon" -> "I live in Lisbon").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.memory.language import normalize_text

_ABBREVIATIONS = ("mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "vs", "etc", "e.g", "i.e", "mt", "ft")
_QUESTION_START = re.compile(
    r"(?i)^(?:do|does|did|am|is|are|was|were|can|could|would|will|should|shall|have|has|had|what|where|who|whom|"
    r"whose|when|why|how|which)\b"
)
_INTERJECTIONS = re.compile(
    r"(?i)^(?:(?:actually|well|oh|ok|okay|so|and|but|also|btw|by the way|fyi|just so you know|for the record|"
    r"for your information|hey|hi|hello|yes|yeah|yep|yup|no(?=\s*[,.!;:-])|nope|now|anyway|anyways|as you know|"
    r"as i said|"
    r"as i mentioned|just fyi|note that|to be clear|for context|in fact|fun fact|update|good morning|"
    r"good evening|greetings|right|alright|um|uh|hmm|sure|also worth noting|quick update|heads up|honestly|"
    r"let me tell you(?: something)?|i should tell you|i should mention|i must say|scratch that|correction|"
    r"good news|bad news|quick one|quick thing|oh and|one more thing|just so you know|for the record|lol|haha|"
    r"remember(?: that)?|please remember(?: that)?|don't forget(?: that)?|just|oh and|and also|the thing is|"
    r"thing is|basically|to be honest|tbh|long story short|truth is|the truth is)\b[\s,:;!.\-]*)+"
)


def ends_with_abbreviation(text: str) -> bool:
    """The word before this full stop is an abbreviation ("Dr."), so the full stop ends nothing."""
    return text.rsplit(" ", 1)[-1].lower() in _ABBREVIATIONS


_TRAILING_QUESTION = re.compile(
    r"(?i)(?:,\s+(?:so\s+)?|\s+so\s+)(?=(?:any|what|what's|whats|how|can you|could you|should i|thoughts|ideas)\b"
    r"[^,.!?]*\?)"
)


def split_sentences(text: str) -> list[str]:
    pieces: list[str] = []
    # "My flat in Glasgow is freezing, any tips?", "I can't have dairy so what's a good snack?":
    # the statement, then the question.
    text = _TRAILING_QUESTION.sub(". ", normalize_text(text))
    for line in text.split("\n"):
        start = 0
        for match in re.finditer(r"[.!?;]+(?=\s|$)|\s+-\s+", line):
            if match.group(0) == "." and ends_with_abbreviation(line[start : match.start()]):
                continue
            pieces.append(line[start : match.end()].strip())
            start = match.end()
        pieces.append(line[start:].strip())
    return [piece for piece in pieces if piece and any(char.isalnum() for char in piece)]


_CLAUSE_BREAK = re.compile(
    r"(?i)(?:\s*,\s*(?:and|but|so|plus|also|and also)?\s*|\s+(?:and|but|so|plus|and also|also)\s+)"
    r"(?=(?:i|i'm|im|i've|i'd|i'll|my|our|call me|please|just moved|recently moved|moved|no|everyone calls|"
    r"people call|friends call|being|we|we're|we've|ended up|eventually|finally settled)\b)"
)


def is_question(sentence: str) -> bool:
    return sentence.rstrip().endswith("?") or bool(_QUESTION_START.match(_strip_interjections(sentence)))


def _strip_interjections(clause: str) -> str:
    return _INTERJECTIONS.sub("", clause).strip()


@dataclass
class Clause:
    text: str  # interjections stripped, trailing punctuation kept
    before: str  # the sentence text before this clause
    sentence: str = ""


# "... allergic to sesame and shellfish makes me break out": a new statement starts after "and".
_NEW_SUBJECT = re.compile(
    r"(?i),?\s+(?:and|but|also|plus)\s+(?=[\w' -]{2,30}?\s+(?:makes?|made|gives?|gave)\s+(?:me|my)\b)"
)


# "I'm Rita, after years abroad we settled in Braga": a name written as one (capitalised), then a
# comma, is a clause of its own, so the home read in the rest does not hide the name.
_INTRODUCTION = re.compile(r"(?-i:\b(?:I'm|I am|Im)\s+[A-Z][a-z'-]+)(?P<comma>\s*,\s*)(?=\S)")


def split_clauses(text: str) -> list[Clause]:
    """The clauses of every sentence that is not a question, in order."""
    clauses: list[Clause] = []
    for sentence in split_sentences(text):
        if is_question(sentence):
            continue
        start = 0
        spans: list[tuple[int, int]] = []
        breaks = sorted(
            [
                *((m.start(), m.end()) for m in (*_CLAUSE_BREAK.finditer(sentence), *_NEW_SUBJECT.finditer(sentence))),
                *((m.start("comma"), m.end("comma")) for m in _INTRODUCTION.finditer(sentence)),
            ]
        )
        for break_start, break_end in breaks:
            if break_start < start:
                continue
            spans.append((start, break_start))
            start = break_end
        spans.append((start, len(sentence)))
        for begin, end in spans:
            body = _strip_interjections(sentence[begin:end].strip())
            if body:
                clauses.append(Clause(body, sentence[:begin], sentence))
    return clauses
