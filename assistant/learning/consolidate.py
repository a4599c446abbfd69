"""Consolidation: turn extracted candidates into changes to the memory space.

A restated fact reinforces the memory that already says it; a new value for a known key
supersedes the old memory (kept, marked superseded, with its validity end and a link to
its successor); a retraction ends the fact it names; anything else is added. Every change
goes through the engine, which writes the audit log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from assistant.learning.candidate import Candidate
from assistant.learning.rules.family import RELATION_PATTERN
from assistant.learning.rules.reactions import allergens_named
from assistant.learning.safety_net import HEALTH_NOTE_PREFIX
from assistant.learning.schema import SAFETY_FAMILIES, family_of, second_person, supersedes
from assistant.memory.engine import MemoryEngine
from assistant.memory.language import normalize_text, singular, words
from assistant.memory.recall import RecallFilter
from assistant.memory.types import Kind, Memory, Status

# Cosine similarity above which an unkeyed candidate restates an existing memory.
RESTATEMENT_SIMILARITY = 0.92
# "my daughter", "a minha filha", "mi hermano": a note in which the user speaks of someone else's
# health. The user's own "I'm not allergic after all" must never end it.
_SOMEONE_ELSE = re.compile(
    r"\b(?:my|our|minha|meu|nossa|nosso|mi|mis|nuestra|nuestro|ma|mon|mes|notre|mein|meine|meinem|meiner|"
    r"unser|unsere|mia|mio|nostra|nostro)\s+(?:"
    + RELATION_PATTERN
    + r"|friend|filha|filho|m[aã]e|pai|marido|esposa|esposo|irm[aã]o?|amig[ao]|hija|hijo|madre|padre|"
    r"hermana|hermano|fille|fils|m[eè]re|p[eè]re|mari|femme|s[oœ]eur|fr[eè]re|ami|amie|tochter|sohn|"
    r"mutter|vater|mann|frau|schwester|bruder|freund|freundin|figlia|figlio|marito|moglie|sorella|"
    r"fratello|amica|amico)s?\b",
    re.IGNORECASE,
)


@dataclass
class Applied:
    action: str  # add, reinforce, retract, skip
    memory: Memory | None = None
    replaced: list[Memory] = field(default_factory=list)
    notice: str = ""


def _mentions(text: str, value: str) -> bool:
    """`value` is said in `text`, whatever the case or plural: "peanut" in "User is allergic to Peanuts"."""
    wanted = " ".join(singular(word) for word in words(value))
    said = " ".join(singular(word) for word in words(text))
    return bool(wanted) and f" {wanted} " in f" {said} "


def _same_statement(a: str, b: str) -> bool:
    return normalize_text(a).rstrip(".!") == normalize_text(b).rstrip(".!")


class Consolidator:
    """Applies candidates to one memory space.

    With `said_at` (learning from an imported history) a fact is valid from when it was said,
    and a value said before the one memory holds for its key does not replace it: a history
    learned again after a kill, or an older export imported later, never undoes a newer value.
    """

    def __init__(self, engine: MemoryEngine, *, said_at: datetime | None = None) -> None:
        self.engine = engine
        self.said_at = said_at

    def _newer_than_said(self, memory: Memory) -> bool:
        return self.said_at is not None and memory.valid_from is not None and memory.valid_from > self.said_at

    def apply_all(self, candidates: Iterable[Candidate], *, via: str = "") -> list[Applied]:
        return [self.apply(candidate, via=via) for candidate in candidates]

    def apply(self, candidate: Candidate, *, via: str = "") -> Applied:
        """Add, reinforce, supersede or retract; `via` names the door it came by, for the audit log."""
        text = candidate.text.strip()
        if not text:
            return Applied("skip")
        if candidate.key:
            current = self.engine.active_with_key(candidate.key)
            if candidate.retracts:
                return self._retract(candidate, current, via)
            if current and not supersedes(candidate.key):
                # A key that holds its value ("user.allergy.peanut") is the same fact, however worded
                # ("allergic to amendoim" after "allergic to peanuts"): said again, not replaced.
                return self._reinforce(current[0], candidate, via)
            for memory in current:
                if _same_statement(memory.text, text) or (candidate.value and _mentions(memory.text, candidate.value)):
                    return self._reinforce(memory, candidate, via)
            newer = [memory for memory in current if self._newer_than_said(memory)]
            if newer:
                return Applied("skip", newer[0])  # the user said something newer since
            return self._add(candidate, replaced=current, via=via)
        if candidate.retracts:
            return Applied("skip")
        existing = self._restatement_of(candidate)
        if existing is not None:
            return self._reinforce(existing, candidate, via)
        return self._add(candidate, replaced=[], via=via)

    def _restatement_of(self, candidate: Candidate) -> Memory | None:
        hits = self.engine.search(candidate.text, k=3, filters=RecallFilter(kinds=(candidate.kind,)), reinforce=False)
        if not hits:
            return None
        top = hits[0].memory
        if _same_statement(top.text, candidate.text):
            return top
        vectors = self.engine.embedder.embed([candidate.text, top.text])
        similarity = sum(a * b for a, b in zip(vectors[0], vectors[1], strict=True))
        return top if similarity >= RESTATEMENT_SIMILARITY else None

    def _reinforce(self, memory: Memory, candidate: Candidate, via: str = "") -> Applied:
        if candidate.source_ids and set(candidate.source_ids) <= set(memory.sources):
            # The message this was learned from, read again (learning retried after the model
            # was taken back, or resumed after a crash): not a restatement.
            return Applied("skip", memory)
        updated = self.engine.reinforce(
            memory.id,
            sources=candidate.source_ids,
            importance=candidate.importance,
            reason="the user said it again" + via,
        )
        return Applied("reinforce", updated)

    def _add(self, candidate: Candidate, *, replaced: list[Memory], via: str = "") -> Applied:
        reason = "the user said so" if not replaced else "the user gave a newer value"
        memory = self.engine.add(
            candidate.text,
            kind=candidate.kind,
            key=candidate.key,
            importance=candidate.importance,
            origin=candidate.origin,
            sources=candidate.source_ids,
            reason=reason + via,
            valid_from=self.said_at,
        )
        # The notice talks to the user: "You live in Braga", where the model reads "User lives in Braga".
        notice = f"Saved to memory: {second_person(memory.text)}"
        if replaced:
            notice += " (replaces: " + "; ".join(second_person(old.text) for old in replaced) + ")"
        return Applied("add", memory, replaced=list(replaced), notice=notice)

    def _retract(self, candidate: Candidate, current: list[Memory], via: str = "") -> Applied:
        # A key that holds its value ("user.allergy.peanut") names the fact by itself; a key with one
        # current value ("user.home") is ended only when the value matches ("not in Paris" keeps Lisbon).
        by_key_alone = not supersedes(candidate.key)
        ended = [
            memory
            for memory in current
            if (by_key_alone or not candidate.value or _mentions(memory.text, candidate.value))
            and not self._newer_than_said(memory)
        ]
        if family_of(candidate.key) in SAFETY_FAMILIES:
            # The same allergy may also sit in a note that quoted the user's words: it ends too.
            ended += [note for note in self._notes_quoting(candidate) if note not in ended]
        for memory in ended:
            self.engine.archive(memory.id, reason="the user said it is no longer true" + via)
        if not ended:
            return Applied("skip")
        return Applied(
            "retract",
            ended[0],
            replaced=ended,
            notice="No longer true: " + "; ".join(second_person(m.text) for m in ended),
        )

    def _notes_quoting(self, candidate: Candidate) -> list[Memory]:
        """The active health notes whose quoted sentence names the retracted thing ("penicillin"),
        in the user's words or in another language the allergen lexicon knows ("amendoim")."""
        thing = (candidate.key or "").rsplit(".", 1)[-1]
        notes = self.engine.standing((HEALTH_NOTE_PREFIX,))
        return [
            memory
            for memory in notes
            if (memory.key or "").startswith(HEALTH_NOTE_PREFIX)
            and not _SOMEONE_ELSE.search(memory.text)
            and (
                (candidate.value and _mentions(memory.text, candidate.value))
                or any(named.key == thing for named in allergens_named(memory.text))
            )
        ]

    def undo(self, memory_ids: Iterable[str]) -> None:
        """Take back what a turn saved: forget new memories, restore what they superseded."""
        for memory_id in memory_ids:
            memory = self.engine.get(memory_id)
            if memory is None:
                continue
            for older in self.engine.list(statuses=[Status.SUPERSEDED]):
                if older.superseded_by == memory_id:
                    self.engine.restore(older.id, reason="undo: the newer value was taken back")
            if memory.kind == Kind.EPISODIC:
                continue  # messages are the log; undo never removes them
            self.engine.forget([memory_id], reason="undo: the user took it back", with_sources=False)
