"""How memories and messages look as text, as JSON and as rows: pure functions, no store.

The search text (what the full-text index sees), the embedding text (what the vector means),
the display text and the public JSON shape are decided here once, for every part of the engine
and for the front ends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from assistant.memory.redacting import redacted_memory
from assistant.memory.store import memory_schema, memory_to_row
from assistant.memory.types import Kind, Memory

if TYPE_CHECKING:
    import numpy as np


def speaker_label(role: str, speaker: str | None) -> str:
    return speaker if speaker else role


def describe_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %A %B %Y")


def episodic_embedding_text(memory: Memory) -> str:
    return f"{speaker_label('', memory.speaker) or 'someone'}: {memory.text}"


def search_text_for(memory: Memory) -> str:
    """What the full-text index sees: the text plus who said it, when, and what it answered."""
    if memory.kind != Kind.EPISODIC:
        return memory.text if not memory.key else f"{memory.key} {memory.text}"
    parts = [memory.speaker or "", memory.text, describe_time(memory.created_at)]
    if memory.context:
        parts.append(memory.context)
    return "\n".join(part for part in parts if part)


def embedding_text_for(memory: Memory) -> str:
    if memory.kind == Kind.EPISODIC:
        return episodic_embedding_text(memory)
    return memory.text


def display_text(memory: Memory) -> str:
    """The text shown for a memory: for a message, who said it."""
    if memory.kind == Kind.EPISODIC and memory.speaker:
        return f"{memory.speaker}: {memory.text}"
    return memory.text


def title_from(text: str) -> str:
    """A conversation's title, from its first message."""
    return " ".join(text.split())[:60] or "Conversation"


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stable_id(*parts: str) -> str:
    """The same id for the same parts, in every process (imports and audit rows stay idempotent)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]


def episodic_memory_id(message_id: str) -> str:
    return f"ep-{message_id}"


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalized: np.ndarray = vectors / np.maximum(norms, 1e-12)
    return normalized


def memory_json(memory: Memory, score: float | None = None) -> dict[str, Any]:
    """The public JSON shape of `memory search` (and with list extras, `memory list`)."""
    return {
        "id": memory.id,
        "text": display_text(memory),
        "kind": str(memory.kind),
        "score": round(score, 6) if score is not None else None,
        "created_at": iso(memory.created_at),
        "sources": list(memory.sources),
    }


def memory_list_json(memory: Memory) -> dict[str, Any]:
    return {
        **memory_json(memory, score=memory.strength),
        "status": str(memory.status),
        "pinned": memory.pinned,
        "strength": memory.strength,
        "key": memory.key,
    }


def memory_rows(memories: Sequence[Memory], vectors: np.ndarray | None, dimension: int) -> Any:
    """Memories as an Arrow table in the store's schema (fast path for big batches).

    `vectors` None: stored without vectors (null), for `MemoryEngine.fill_missing_vectors` to
    embed later; full-text search finds them meanwhile, vector search skips them.

    Every memory row is built here, so this is where secrets are taken out of memory text
    for good (redacting text that is already clean is cheap and changes nothing).
    """
    import numpy as np
    import pyarrow as pa

    schema = memory_schema(dimension)
    memories = [redacted_memory(memory) for memory in memories]
    rows = [memory_to_row(memory, None, search_text_for(memory)) for memory in memories]  # type: ignore[arg-type]
    columns = {name: [row[name] for row in rows] for name in schema.names if name != "vector"}
    if vectors is None:
        vector_column = pa.nulls(len(memories), type=schema.field("vector").type)
    else:
        flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
        vector_column = pa.FixedSizeListArray.from_arrays(flat, dimension)
    arrays = [
        vector_column if name == "vector" else pa.array(columns[name], type=schema.field(name).type)
        for name in schema.names
    ]
    return pa.Table.from_arrays(arrays, schema=schema)
