"""What an export reader yields: conversations of plain messages, with the export's own ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ImportedMessage:
    id: str  # stable: derived from the export's ids, so importing again finds it
    role: str  # "user" or "assistant"
    content: str
    created_at: datetime


@dataclass
class ImportedConversation:
    id: str  # the export's conversation id
    title: str | None
    created_at: datetime | None
    source: str  # "ChatGPT" or "Claude"
    messages: list[ImportedMessage] = field(default_factory=list)
    skipped: int = 0  # malformed messages left out of this conversation


@dataclass(frozen=True)
class BadEntry:
    """An entry of the export that could not be read: where (file and position) and why."""

    where: str
    reason: str


def clean_text(text: str) -> str:
    """`text` storable as UTF-8: paired surrogate escapes joined, lone ones replaced."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def in_order(messages: list[ImportedMessage]) -> list[ImportedMessage]:
    """The messages with times that never go backwards (the log sorts a conversation by time)."""
    from dataclasses import replace
    from datetime import timedelta

    ordered: list[ImportedMessage] = []
    for message in messages:
        if ordered and message.created_at <= ordered[-1].created_at:
            message = replace(message, created_at=ordered[-1].created_at + timedelta(microseconds=1))
        ordered.append(message)
    return ordered
