"""The records the memory engine stores, shared by every layer above it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """`moment` with a time zone: LanceDB hands back naive timestamps, and the store writes UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Kind(StrEnum):
    EPISODIC = "episodic"  # what happened: a message or exchange
    SEMANTIC = "semantic"  # a fact about the user, upserted by key
    PREFERENCE = "preference"  # how the user likes things; merged into the profile
    PROCEDURAL = "procedural"  # a rule for the assistant's behaviour
    SUMMARY = "summary"  # compressed old episodes, pointing at their sources


class Status(StrEnum):
    ACTIVE = "active"
    SUPERSEDED = "superseded"
    ARCHIVED = "archived"


class Origin(StrEnum):
    EXPLICIT = "explicit"  # the user asked us to remember it
    EXTRACTED = "extracted"  # learned from a conversation
    IMPORTED = "imported"
    SUMMARY = "summary"


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


@dataclass
class Memory:
    user: str
    kind: Kind
    text: str
    key: str | None = None
    id: str = field(default_factory=new_id)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    last_accessed: datetime | None = None
    access_count: int = 0
    importance: float = 0.5
    strength: float = 1.0
    status: Status = Status.ACTIVE
    pinned: bool = False
    origin: Origin = Origin.EXTRACTED
    sources: list[str] = field(default_factory=list)
    superseded_by: str | None = None
    # For episodic memories: who said it and in which conversation; part of the indexed text.
    speaker: str | None = None
    conversation_id: str | None = None
    # For episodic memories: the message this one answered (a snippet), so recall can show it.
    context: str | None = None


@dataclass
class Message:
    user: str
    role: Role
    content: str
    conversation_id: str
    id: str = field(default_factory=new_id)
    speaker: str | None = None
    created_at: datetime = field(default_factory=utcnow)


@dataclass
class Conversation:
    user: str
    id: str = field(default_factory=new_id)
    title: str = "New conversation"
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class AuditEntry:
    user: str
    memory_id: str
    action: str  # add, update, supersede, archive, restore, pin, unpin, forget, reinforce
    reason: str
    id: str = field(default_factory=new_id)
    at: datetime = field(default_factory=utcnow)
    detail: str = ""


@dataclass
class RecallHit:
    memory: Memory
    score: float
    # Per-signal parts of the score, for the context inspector.
    relevance: float = 0.0
    recency: float = 0.0
    importance: float = 0.0
    use: float = 0.0
    # Cosine similarity to the query: an absolute scale, unlike the rank-fused relevance.
    similarity: float = 0.0
