"""Index upkeep: compaction, the text and vector indexes, and removal of old table versions."""

from __future__ import annotations

import functools
import threading
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from assistant.memory.engine import tree_size
from assistant.memory.maintenance.writes import Progress, step_written, stopped
from assistant.memory.store import AUDIT, CONVERSATIONS, MEMORIES, MESSAGES, PROFILES

if TYPE_CHECKING:
    from assistant.memory.engine import MemoryEngine

INDEXED_TABLES = (MEMORIES, MESSAGES, AUDIT, CONVERSATIONS, PROFILES)
# Old versions younger than this stay, so a reader in another process is never cut off.
KEEP_VERSIONS_FOR = timedelta(minutes=5)


@dataclass
class IndexReport:
    dry_run: bool = False
    versions_before: dict[str, int] = field(default_factory=dict)
    versions_after: dict[str, int] = field(default_factory=dict)
    size_before: int = 0
    size_after: int = 0
    vector_index: bool = False
    cancelled: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def maintain_indexes(
    engine: MemoryEngine,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    keep_versions_for: timedelta = KEEP_VERSIONS_FOR,
) -> IndexReport:
    """Compact the tables, fold new rows into the text index, build the vector index when due,
    and remove old versions."""
    from assistant.memory.store import with_retries

    store = engine.store
    report = IndexReport(dry_run=dry_run, size_before=tree_size(store.path))
    for name in INDEXED_TABLES:
        table = store.table(name)
        table.checkout_latest()
        report.versions_before[name] = len(table.list_versions())
    if dry_run:
        report.vector_index = store.has_vector_index()
        report.size_after = report.size_before
        return report
    steps = len(INDEXED_TABLES) + 1
    if progress:
        progress("indexes", 0, steps)
    engine.flush()
    store.ensure_indexes()  # text and scalar indexes, a vector index on big tables, compaction
    for done, name in enumerate(INDEXED_TABLES, start=1):
        if stopped(cancel):
            report.cancelled = True
            break
        table = store.table(name)
        with_retries(functools.partial(table.optimize, cleanup_older_than=keep_versions_for))
        table.checkout_latest()
        report.versions_after[name] = len(table.list_versions())
        step_written(f"indexes: {name} optimized")
        if progress:
            progress("indexes", done, steps)
    report.vector_index = store.has_vector_index()
    report.size_after = tree_size(store.path)
    if progress:
        progress("indexes", steps, steps)
    return report
