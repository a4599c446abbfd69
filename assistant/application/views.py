"""What a front end reads back from the core: plain results, no behaviour.

The turn, its learning report and the context trace are the core's own types; they are
named here (for type checkers only, so importing this module stays cheap before the first
paint) so a front end imports its types from one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.memory.types import AuditEntry, Memory, Message

if TYPE_CHECKING:
    from assistant.application.context import ContextTrace as ContextTrace
    from assistant.application.turn import LearnReport as LearnReport
    from assistant.application.turn import Turn as Turn
    from assistant.memory.maintenance import MaintenanceReport

# The memory panel's kind filter value for "every kind but the raw message log".
NOT_MESSAGES = "-episodic"
# How the memory panel can order its rows; "relevance" is recall's order (recency without a query).
MEMORY_SORTS = ("relevance", "recency", "strength", "use")


@dataclass(frozen=True)
class JobStatus:
    """What the background jobs are doing, for a status bar: `job` is None when idle."""

    job: str | None = None
    done: int = 0
    total: int = 0
    pending_extractions: int = 0
    maintenance_pending: bool = False
    preempted: int = 0  # model steps that gave way to the user's chat (and were retried)
    last_error: str | None = None
    last_maintenance: MaintenanceReport | None = None


@dataclass(frozen=True)
class LearningResult:
    """One part of a queued turn's learning, as `on_stated` and `on_learned` receive it."""

    job: str  # what queue_learning returned
    turn: Turn
    report: LearnReport  # this part: what the user stated (on_stated), or the rest (on_learned)
    final: bool  # True for on_learned: the turn's learning is finished
    saved_ids: tuple[str, ...] = ()  # every memory this turn's learning saved so far: what one Undo removes


@dataclass
class MemoryRow:
    """One row of the memory panel; `score` is recall's when the rows answer a search."""

    memory: Memory
    score: float | None = None


@dataclass
class MemoryDetail:
    """A memory with the messages it was learned from and its audit history (oldest first)."""

    memory: Memory
    sources: list[Message] = field(default_factory=list)
    history: list[AuditEntry] = field(default_factory=list)


@dataclass(frozen=True)
class TextChanges:
    """What saving the profile or the rules as one-entry-per-line text did."""

    added: int
    removed: int


_SORT_KEYS: dict[str, Callable[[Memory], float]] = {
    "recency": lambda memory: (memory.updated_at or memory.created_at).timestamp(),
    "strength": lambda memory: memory.strength,
    "use": lambda memory: float(memory.access_count),
}


def order_rows(rows: list[MemoryRow], sort: str, *, searched: bool) -> list[MemoryRow]:
    """Rows in the panel's order: recall's own for a search sorted by relevance, else by `sort`, newest first."""
    if sort == "relevance" and searched:
        return rows
    key = _SORT_KEYS.get(sort, _SORT_KEYS["recency"])
    return sorted(rows, key=lambda row: key(row.memory), reverse=True)
