"""Records and rows: Memory, Message and AuditEntry to the tables' columns and back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from assistant.memory.store.schema import FTS_COLUMN
from assistant.memory.types import AuditEntry, Kind, Memory, Message, Origin, Role, Status, aware

if TYPE_CHECKING:
    import numpy as np


def _ts(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return aware(value)


def memory_to_row(memory: Memory, vector: Sequence[float] | np.ndarray, search_text: str) -> dict[str, Any]:
    return {
        "id": memory.id,
        "owner": memory.user,
        "kind": str(memory.kind),
        "text": memory.text,
        FTS_COLUMN: search_text,
        "key": memory.key,
        "vector": vector,
        "created_at": _ts(memory.created_at),
        "updated_at": _ts(memory.updated_at),
        "valid_from": _ts(memory.valid_from),
        "valid_to": _ts(memory.valid_to),
        "last_accessed": _ts(memory.last_accessed),
        "access_count": int(memory.access_count),
        "importance": float(memory.importance),
        "strength": float(memory.strength),
        "status": str(memory.status),
        "pinned": bool(memory.pinned),
        "origin": str(memory.origin),
        "sources": list(memory.sources),
        "superseded_by": memory.superseded_by,
        "speaker": memory.speaker,
        "conversation_id": memory.conversation_id,
        "context": memory.context,
    }


def _float_or(value: Any, default: float) -> float:
    """`value` as a float, or `default` for a missing (null) column; 0.0 is a value, not missing."""
    return float(value) if value is not None else default


def row_to_memory(row: dict[str, Any]) -> Memory:
    return Memory(
        user=row["owner"],
        kind=Kind(row["kind"]),
        text=row["text"],
        key=row.get("key"),
        id=row["id"],
        created_at=row["created_at"],
        updated_at=row.get("updated_at"),
        valid_from=row.get("valid_from"),
        valid_to=row.get("valid_to"),
        last_accessed=row.get("last_accessed"),
        access_count=int(row.get("access_count") or 0),
        importance=_float_or(row.get("importance"), 0.5),
        strength=_float_or(row.get("strength"), 1.0),
        status=Status(row.get("status") or Status.ACTIVE),
        pinned=bool(row.get("pinned")),
        origin=Origin(row.get("origin") or Origin.EXTRACTED),
        sources=list(row.get("sources") or []),
        superseded_by=row.get("superseded_by"),
        speaker=row.get("speaker"),
        conversation_id=row.get("conversation_id"),
        context=row.get("context"),
    )


def message_to_row(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "owner": message.user,
        "conversation_id": message.conversation_id,
        "role": str(message.role),
        "speaker": message.speaker,
        "content": message.content,
        "created_at": _ts(message.created_at),
    }


def row_to_message(row: dict[str, Any]) -> Message:
    return Message(
        user=row["owner"],
        role=Role(row["role"]),
        content=row["content"],
        conversation_id=row["conversation_id"],
        id=row["id"],
        speaker=row.get("speaker"),
        created_at=row["created_at"],
    )


def audit_to_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "owner": entry.user,
        "memory_id": entry.memory_id,
        "action": entry.action,
        "reason": entry.reason,
        "at": _ts(entry.at),
        "detail": entry.detail,
    }


def row_to_audit(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        user=row["owner"],
        memory_id=row["memory_id"],
        action=row["action"],
        reason=row["reason"],
        id=row["id"],
        at=row["at"],
        detail=row.get("detail") or "",
    )
