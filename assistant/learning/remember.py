"""What "remember that ..." stores: keyed facts when the rules read them, else the user's words themselves."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from assistant.learning.candidate import Candidate
from assistant.learning.explicit import extract_explicit
from assistant.learning.safety_net import health_notes
from assistant.memory.dates import resolve_dates
from assistant.memory.language import normalize_text, to_third_person
from assistant.memory.redact import redact
from assistant.memory.types import Kind, Origin


def remember_candidates(text: str, *, now: datetime, source_id: str) -> list[Candidate]:
    """What "remember that ..." stores: keyed facts when the rules see them, else the text itself."""
    redacted = redact(text).text
    keyed = extract_explicit(redacted, now=now, source_id=source_id, origin=Origin.EXPLICIT)
    if keyed:
        return [replace(candidate, confidence=1.0, importance=max(candidate.importance, 0.8)) for candidate in keyed]
    notes = health_notes(redacted, found=[], source_id=source_id)
    if notes:  # a health fact in words the rules don't know still belongs in every prompt
        return [replace(note, origin=Origin.EXPLICIT, confidence=1.0) for note in notes]
    statement = to_third_person(resolve_dates(normalize_text(redacted), now)).rstrip(" .")
    if not statement or not any(char.isalnum() for char in statement) or "[redacted " in statement:
        return []  # a secret is never a memory, not even a placeholder for one
    return [
        Candidate(
            kind=Kind.SEMANTIC,
            text=statement,
            key=None,
            importance=0.8,
            confidence=1.0,
            origin=Origin.EXPLICIT,
            source_ids=[source_id] if source_id else [],
            value=None,
        )
    ]
