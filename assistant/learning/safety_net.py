"""The safety net: what the user says about their health is never dropped silently.

The rules understand the common phrasings of an allergy, a condition or a diet; people say
these things in endless other ways ("shrimp makes my throat swell up, so no shrimp please",
"dairy and I don't get along"). When a sentence of the user's own speaks of their body or
their food in words that signal a health fact, and no rule (nor the model) turned it into a
fact, the sentence itself is kept as a health note in the user's words (it may be about a
child or a partner: quoting it, rather than rewriting it, keeps whose health it is). Health notes are keyed
under `user.health.note.`, so they sit in the always-in-context profile: a weak model or an
unknown phrasing costs a verbatim quote, never a missed allergy.

The same net holds for the other families the schema knows (`family_notes`): a first-person
sentence that signals one ("my dog …", "I moved …", "my goal …") and gave no fact of it is kept
as a note under `user.note.<family>.`, with the same "Saved to memory" notice and Undo.
A sentence that ends a fact ("I'm not allergic to penicillin after all") gets no note: the
retraction ends the fact, or the note that quoted it (consolidate.py).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime

from assistant.learning.candidate import Candidate
from assistant.learning.rules.sentences import is_question, split_sentences
from assistant.learning.schema import FACT_TYPES, SAFETY_FAMILIES, family_of
from assistant.memory.types import Kind, Origin

HEALTH_NOTE_PREFIX = "user.health.note."
NOTE_PREFIX = "user.note."
# Facts the rules (or the model) already gave for health: the net is not needed for these.
HEALTH_KEY_PREFIXES = tuple(
    row.prefix
    for row in FACT_TYPES
    if row.family in SAFETY_FAMILIES and row.prefix.startswith("user.") and not row.prefix.startswith("user.family.")
)
# Words that signal a fact about the user's body: chosen for recall, since a false note is one
# quoted sentence of the user's own, and a missed allergy can hurt them.
_BODY = re.compile(
    r"(?i)\b(?:allerg\w*|intoleran\w*|anaphyla\w*|epi-?pens?|hives|rash(?:es)?|swell\w*|numb|tingl\w*|wheez\w*|"
    r"(?:can'?t|cannot|shouldn'?t|must not|mustn'?t) (?:eat|have|drink|digest|tolerate|touch)|"
    r"(?:makes?|made) me (?:sick|ill|throw up|vomit|break out|itch\w*)|breaks? me out|"
    r"coeliac|celiac|diabet\w*|asthma\w*|epilep\w*|medication|pregnan\w*|blood pressure|inhaler|insulin|"
    r"(?:and i|and me) (?:really )?(?:don'?t|do not) (?:get on|get along|mix|agree)|"
    # The rules read English only; a note is a quote, so the net also hears the commonest other
    # languages' words for it (Portuguese, Spanish, French, German, Italian).
    r"al[ée]rgic[oa]s?|alergias?|allergique|allergisch|allergia|intoler[aâá]nte|celíac[oa]|diab[ée]tic[oa]|"
    r"gr[áa]vida|embarazada|enceinte|schwanger|incinta)\b"
)
# A food that often hides an allergy counts only with a refusal: "no sesame for me", not "I love dairy farms".
_FOOD = re.compile(
    r"(?i)\b(?:gluten|wheat|lactose|dairy|milk|eggs?|peanuts?|nuts?|tree nuts?|shellfish|shrimps?|prawns?|"
    r"fish|soy|sesame|mustard|celery|sulphites?|sulfites?)\b"
)
_REFUSAL = re.compile(r"(?i)\b(?:no|not|never|without|avoid\w*|don'?t|doesn'?t|keep \w+ away|stay away)\b")


def speaks_of_the_body(sentence: str) -> bool:
    """Whether a sentence has a word of allergy, health or diet ("allergic", "can't eat", "no dairy")."""
    return bool(_BODY.search(sentence) or (_FOOD.search(sentence) and _REFUSAL.search(sentence)))


_FIRST_PERSON = re.compile(
    r"(?i)\b(?:i|i'm|i've|i'd|me|my|myself|eu|sou|estou|tenho|meu|minha|yo|soy|estoy|tengo|mi|je|suis|j'ai|"
    r"moi|ich|bin|mich|mir|sono|ho)\b"
)
# Sentences that only ask, wish or talk about others are not facts about the user.
_NOT_ABOUT_ME = re.compile(
    r"(?i)^\s*(?:if|what if|whether|imagine|suppose)\b|"
    r"\b(?:my|our) (?:friend|colleague|co-?worker|guest|client|neighbou?r|flatmate|roommate|housemate|boss)s?\b|"
    r"\b(?:you|the assistant|assistant) (?:said|told|say|says|think|thought|"
    r"mentioned)\b|\b(?:she|he|they)(?:'s| is| are|'re) (?:allergic|intolerant)\b"
)
_MAX_NOTE_CHARS = 240
_NOW = datetime(2000, 1, 1)  # the rules need a date; notes do not use the dates they resolve


def health_notes(text: str, *, found: Sequence[Candidate], source_id: str) -> list[Candidate]:
    """One health note for the user's own sentences that signal a health fact no rule turned into one.

    `found` (what the rules gave for the whole message) is not trusted to cover a sentence: a
    daughter's allergy found in it says nothing of the user's own. Each clause of a sentence is also read on its
    own, so a daughter's allergy in one clause does not hide the user's own in the next; a
    sentence whose every health clause gave a fact (or ended one) needs no note. Only a fact a
    rule read from the whole sentence (`said_in`: "my throat swells up when I eat peanuts")
    covers that sentence. The sentences left are quoted together, in one note: one message that
    says one thing in two sentences is one thing to remember (and to take back).
    """
    read_whole = {c.said_in for c in found if c.said_in and family_of(c.key) in SAFETY_FAMILIES}
    unread: list[str] = []
    for sentence in split_sentences(text):
        sentence = " ".join(sentence.split())
        if not sentence or is_question(sentence) or len(sentence) > _MAX_NOTE_CHARS:
            continue
        signals = speaks_of_the_body(sentence)
        if not (signals and _FIRST_PERSON.search(sentence)) or _NOT_ABOUT_ME.search(sentence):
            continue
        if sentence in read_whole or _ENDS_A_FACT.search(sentence) or _health_read(sentence, source_id):
            continue
        unread.append(sentence)
    quote = " ".join(unread)
    if not unread or len(quote) > 2 * _MAX_NOTE_CHARS:
        return [_note(sentence, HEALTH_NOTE_PREFIX, 0.9, source_id) for sentence in unread]
    return [_note(quote, HEALTH_NOTE_PREFIX, 0.9, source_id)]


# A sentence that takes a health fact back is no fact to keep: the retraction ends the fact (or
# the note that quoted it), and a retraction nothing matched has nothing to protect.
_ENDS_A_FACT = re.compile(
    r"(?i)\b(?:(?:i'm|i am|im|i was)\s+(?:actually\s+|really\s+)?(?:not|no longer|never)\s+"
    r"(?:actually\s+|really\s+|even\s+)?"
    r"(?:allergic|intolerant|diabetic|asthmatic|pregnant|coeliac|celiac)|never mind\b|false alarm|"
    r"i\s+(?:don't|do not|dont|no longer)\s+(?:actually\s+)?have\s+(?:an?\s+|any\s+)?(?:[\w-]+\s+)?"
    r"(?:allerg|intoleran)\w*|(?:don'?t|doesn'?t|do not|does not)\s+[\w ]{0,30}\b(?:anymore|any more)\b)"
)


def _health_read(sentence: str, source_id: str) -> bool:
    """The rules gave a health fact for every clause of `sentence` that signals one: a daughter's
    allergy in the first half does not hide the user's own in the second."""
    from assistant.learning.explicit import extract_explicit
    from assistant.learning.rules.sentences import split_clauses

    def safety(text: str) -> bool:
        found = extract_explicit(text, now=_NOW, source_id=source_id)
        return any(family_of(candidate.key) in SAFETY_FAMILIES for candidate in found)

    whole = safety(sentence)
    for clause in split_clauses(sentence):
        text = clause.text
        if not speaks_of_the_body(text):
            continue
        if not safety(text) and not (whole and len(text.split()) <= 3):  # "…, I'm allergic" leans on its sentence
            return False
    return whole


def _note(sentence: str, prefix: str, importance: float, source_id: str) -> Candidate:
    digest = hashlib.sha256(sentence.casefold().encode("utf-8")).hexdigest()[:12]
    return Candidate(
        kind=Kind.SEMANTIC,
        text=f"User said: “{sentence}”",
        key=prefix + digest,
        importance=importance,
        confidence=0.6,
        origin=Origin.EXTRACTED,
        source_ids=[source_id] if source_id else [],
        value=None,
    )


# First-person words that signal a statement of a schema family ("my dog", "I moved"): a
# sentence with one that no rule read is kept as a note of that family, never dropped. What the
# user says of a relative is read by the rules (and the health net) only: "my brother loves
# football" is no fact about the user.
FAMILY_SIGNALS = {
    "name": r"\bmy (?:first |last |real |full )?name\b|\bcall me\b",
    "home": r"\bi(?:'ve| have)? (?:just |recently |now )?(?:moved|relocated)\b|\bi (?:live|reside) in (?-i:[A-Z])",
    "work": r"\bmy (?:job|employer|career|company)\b|\bi (?:work|started working)\b",
    "pet": r"\bmy (?:dog|cat|puppy|kitten|pet|parrot|rabbit|hamster)\b",
    "birthday": r"\bmy (?:birthday|bday)\b|\bi was born\b",
    "goal": r"\bmy (?:goal|aim|ambition|resolution)\b",
}
_SIGNALS = {family: re.compile("(?i)" + pattern) for family, pattern in FAMILY_SIGNALS.items()}
_WORDS_OF_OTHERS = re.compile(
    r"(?i)\b(?:said|says|told|tells|thinks?|claims?|asked|according to|if|suppose|imagine|wish|would|could)\b"
)


def family_notes(text: str, *, found: Sequence[Candidate], source_id: str) -> list[Candidate]:
    """Notes for the user's own sentences that signal a schema family no rule gave a fact of."""
    from assistant.learning.explicit import extract_explicit

    notes = []
    for sentence in split_sentences(text):
        sentence = " ".join(sentence.split())
        if not sentence or is_question(sentence) or len(sentence) > _MAX_NOTE_CHARS:
            continue
        if not _FIRST_PERSON.search(sentence) or _NOT_ABOUT_ME.search(sentence) or _WORDS_OF_OTHERS.search(sentence):
            continue
        signalled = [family for family, signal in _SIGNALS.items() if signal.search(sentence)]
        if not signalled:
            continue
        own = {family_of(candidate.key) for candidate in extract_explicit(sentence, now=_NOW, source_id=source_id)}
        own |= {note_family(candidate.key) for candidate in found if sentence in candidate.text}
        missing = [family for family in signalled if family not in own]
        if missing and not own - {None}:
            notes.append(_note(sentence, f"{NOTE_PREFIX}{missing[0]}.", 0.6, source_id))
    return notes


def net_notes(text: str, *, found: Sequence[Candidate], source_id: str) -> list[Candidate]:
    """Everything the net keeps from one message: health notes first, then other families' notes."""
    notes = health_notes(text, found=found, source_id=source_id)
    quoted = {note.text for note in notes}
    others = family_notes(text, found=[*found, *notes], source_id=source_id)
    return [*notes, *(note for note in others if note.text not in quoted)]


def note_family(key: str | None) -> str | None:
    """The family a safety-net note stands for ("health" for a health note), or None for a keyed fact."""
    if not key:
        return None
    if key.startswith(HEALTH_NOTE_PREFIX):
        return "health"
    if key.startswith(NOTE_PREFIX):
        return key.removeprefix(NOTE_PREFIX).split(".", 1)[0]
    return None
