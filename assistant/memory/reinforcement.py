"""Reinforcement: counting a use of the memories a reply was given, in batched writes.

Use (last_accessed, access_count) is what decay reads to keep a memory strong, so only what a
prompt actually showed should count: `MemoryEngine.mark_used` records exactly those ids.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from assistant.memory.store import MemoryStore
from assistant.memory.store.query import is_in, owned_by


@dataclass
class Reinforcer:
    """Collects what recall returned and writes last_accessed / access_count in batches."""

    store: MemoryStore
    owner: str
    flush_every: int = 256
    pending: dict[str, int] = field(default_factory=dict)
    last_seen: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, memory_ids: Sequence[str], at: datetime) -> None:
        with self._lock:
            for memory_id in memory_ids:
                self.pending[memory_id] = self.pending.get(memory_id, 0) + 1
            self.last_seen = at
            due = len(self.pending) >= self.flush_every
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, at = self.pending, self.last_seen
            self.pending = {}
        if not pending or at is None:
            return
        by_count: dict[int, list[str]] = {}
        for memory_id, count in pending.items():
            by_count.setdefault(count, []).append(memory_id)
        for count, ids in by_count.items():
            self.store.count_uses(owned_by(self.owner) & is_in("id", ids), count, at)
