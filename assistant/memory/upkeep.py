"""Upkeep: writing batched reinforcement, compacting and indexing the store, and its statistics."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from assistant.errors import StoreError
from assistant.memory.embed import embed_array
from assistant.memory.formats import embedding_text_for
from assistant.memory.memories import Memories
from assistant.memory.reinforcement import Reinforcer
from assistant.memory.space import Space
from assistant.memory.store import AUDIT, CONVERSATIONS, MEMORIES, MESSAGES, SCHEMA_VERSION
from assistant.memory.store.query import eq, is_null

log = logging.getLogger(__name__)


class Upkeep:
    """Keeps one space's store fast and reports on it."""

    def __init__(self, space: Space, reinforcer: Reinforcer, memories: Memories) -> None:
        self.space = space
        self.reinforcer = reinforcer
        self.memories = memories

    def flush(self) -> None:
        """Write pending reinforcement."""
        self.reinforcer.flush()

    def fill_missing_vectors(self) -> int:
        """Embed what was stored without a vector while the embedder loaded (see embed.py); how many.

        Only rows still without one are written, so a memory rewritten meanwhile (with its own
        vector) is left alone. A process killed first leaves them null: the next warm-up fills them.
        """
        space = self.space
        missing = space.store.memories(space.owner & is_null("vector"))
        if not missing:
            return 0
        vectors = embed_array(space.embedder, [embedding_text_for(memory) for memory in missing])
        for memory, vector in zip(missing, vectors, strict=True):
            where = space.owner & eq("id", memory.id) & is_null("vector")
            space.store.update(MEMORIES, where, values={"vector": [float(value) for value in vector]})
        return len(missing)

    def tidy(self) -> list[str]:
        """Between turns: compact what the last writes fragmented, so recall stays fast until maintenance.

        Only an optimisation: a failure (another process holding a conflicting commit for two
        minutes, a full disk) is logged and left to the next turn or the maintenance pass.
        """
        self.flush()
        try:
            return self.space.store.tidy()
        except (StoreError, OSError, RuntimeError, ValueError) as error:
            log.warning("compacting the memory store failed: %s", error)
            return []

    def maintain(self) -> None:
        """Fold new rows into the indexes (and build the vector index once the space is big)."""
        self.flush()
        self.space.store.ensure_indexes()

    def stats(self) -> dict[str, Any]:
        space = self.space
        store = space.store
        memories = store.rows(MEMORIES, space.owner, columns=["kind", "status", "pinned"])
        by_kind: dict[str, int] = {}
        by_status: dict[str, int] = {}
        for row in memories:
            by_kind[row["kind"]] = by_kind.get(row["kind"], 0) + 1
            by_status[row["status"]] = by_status.get(row["status"], 0) + 1
        return {
            "user": space.user,
            "memories": len(memories),
            "by_kind": by_kind,
            "by_status": by_status,
            "pinned": sum(1 for row in memories if row["pinned"]),
            "messages": store.count(MESSAGES, space.owner),
            "conversations": store.count(CONVERSATIONS, space.owner),
            "audit_entries": store.count(AUDIT, space.owner),
            "profile_fields": len(self.memories.profile()),
            "schema_version": SCHEMA_VERSION,
            "store": str(store.path),
            "size_bytes": tree_size(store.path),
        }


def tree_size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total
