"""`Candidate`: a memory the user's words suggest, before consolidation decides what it changes.

Both the rules and the model's extraction produce candidates. Every candidate speaks about the
user in the third person ("User lives in Lisbon") and carries a normalized `key` ("user.home"):
a restatement yields the same key and text, so the engine reinforces; a new value for a key
makes the engine supersede the old memory. A candidate with `retracts=True` says the keyed fact
is no longer true.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.memory.language import content_stems
from assistant.memory.types import Kind, Origin


@dataclass
class Candidate:
    kind: Kind
    text: str
    key: str | None
    importance: float
    confidence: float
    origin: Origin
    source_ids: list[str]
    value: str | None = None
    retracts: bool = False  # "I don't live in Paris anymore": end the keyed fact (if its value matches)
    said_in: str = ""  # the sentence it was read from, when a rule read a whole sentence (rules/reactions.py)


def read_from_user(
    kind: Kind,
    text: str,
    key: str | None,
    value: str | None,
    *,
    importance: float,
    confidence: float,
    source_id: str,
    retracts: bool = False,
    said_in: str = "",
    origin: Origin = Origin.EXTRACTED,
) -> Candidate:
    """A candidate read from the user's own message (by a rule or the model): the message is its source."""
    return Candidate(
        kind=kind,
        text=text,
        key=key,
        importance=importance,
        confidence=confidence,
        origin=origin,
        source_ids=[source_id] if source_id else [],
        value=value,
        retracts=retracts,
        said_in=said_in,
    )


def dedupe(candidates: Sequence[Candidate]) -> list[Candidate]:
    """One candidate per key (or per statement when unkeyed) and per retracting or not."""
    seen: dict[tuple[str, bool], int] = {}
    result: list[Candidate] = []
    for candidate in candidates:
        identity = (candidate.key or text_identity(candidate.text), candidate.retracts)
        if identity in seen:
            index = seen[identity]
            if candidate.confidence >= result[index].confidence:
                result[index] = candidate  # within one message the later statement is the correction
            continue
        seen[identity] = len(result)
        result.append(candidate)
    # A positive fact in the same message wins over a cross-retraction of the same key.
    positive_keys = {candidate.key for candidate in result if not candidate.retracts and candidate.key}
    return [c for c in result if not (c.retracts and c.key in positive_keys)]


def text_identity(text: str) -> str:
    """What two wordings of one statement share: its content stems, sorted."""
    return " ".join(sorted(content_stems(text)))
