"""The safety net: what the user says about their health is never dropped silently.

The rules understand the common phrasings of an allergy, a condition or a diet; people say
these things in endless other ways ("shrimp makes my throat swell up, so no shrimp please",
"dairy and I don't get along"). When a sentence of the user's own speaks of their body or
their food in words that signal a health fact, and no rule (nor the model) turned it into a
fact, the sentence itself is kept as a health note in the user's words (it may be about a
child or a partner: quoting it, rather than rewriting it, keeps whose health it is). Health notes are keyed
under `user.health.note.`, so they sit in the always-in-context profile: a weak model or an
unknown phrasing costs a verbatim quote, never a missed allergy.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from assistant.learning.candidate import Candidate
from assistant.learning.rules.sentences import is_question, split_sentences
from assistant.memory.types import Kind, Origin

HEALTH_NOTE_PREFIX = "user.health.note."
# Facts the rules (or the model) already gave for health: the net is not needed for these.
HEALTH_KEY_PREFIXES = ("user.allergy", "user.health", "user.diet")
# Words that signal a fact about the user's body: chosen for recall, since a false note is one
# quoted sentence of the user's own, and a missed allergy can hurt them.
_BODY = re.compile(
    r"(?i)\b(?:allerg\w*|intoleran\w*|anaphyla\w*|epi-?pens?|hives|rash(?:es)?|swell\w*|"
    r"(?:can'?t|cannot|shouldn'?t|must not|mustn'?t) (?:eat|have|drink|digest|tolerate|touch)|"
    r"(?:makes?|made) me (?:sick|ill|throw up|vomit|break out|itch\w*)|breaks? me out|"
    r"coeliac|celiac|diabet\w*|asthma\w*|epilep\w*|medication|pregnan\w*|blood pressure|inhaler|insulin)\b"
)
# A food that often hides an allergy counts only with a refusal: "no sesame for me", not "I love dairy farms".
_FOOD = re.compile(
    r"(?i)\b(?:gluten|wheat|lactose|dairy|milk|eggs?|peanuts?|nuts?|tree nuts?|shellfish|shrimps?|prawns?|"
    r"fish|soy|sesame|mustard|celery|sulphites?|sulfites?)\b"
)
_REFUSAL = re.compile(r"(?i)\b(?:no|not|never|without|avoid\w*|don'?t|doesn'?t|keep \w+ away|stay away)\b")
_FIRST_PERSON = re.compile(r"(?i)\b(?:i|i'm|i've|i'd|me|my|myself)\b")
# Sentences that only ask, wish or talk about others are not facts about the user.
_NOT_ABOUT_ME = re.compile(r"(?i)^\s*(?:if|what if|whether)\b|\b(?:my|our) (?:friend|colleague|guest|client)s?\b")
_MAX_NOTE_CHARS = 240


def health_notes(text: str, *, found: Sequence[Candidate], source_id: str) -> list[Candidate]:
    """Health notes for the user's own sentences that signal a health fact no candidate in `found` holds."""
    if any((candidate.key or "").startswith(HEALTH_KEY_PREFIXES) for candidate in found if not candidate.retracts):
        return []
    notes = []
    for sentence in split_sentences(text):
        sentence = " ".join(sentence.split())
        if not sentence or is_question(sentence) or len(sentence) > _MAX_NOTE_CHARS:
            continue
        signals = _BODY.search(sentence) or (_FOOD.search(sentence) and _REFUSAL.search(sentence))
        if not (signals and _FIRST_PERSON.search(sentence)) or _NOT_ABOUT_ME.search(sentence):
            continue
        digest = hashlib.sha256(sentence.casefold().encode("utf-8")).hexdigest()[:12]
        notes.append(
            Candidate(
                kind=Kind.SEMANTIC,
                text=f"User said: “{sentence}”",
                key=HEALTH_NOTE_PREFIX + digest,
                importance=0.9,
                confidence=0.6,
                origin=Origin.EXTRACTED,
                source_ids=[source_id] if source_id else [],
                value=None,
            )
        )
    return notes
