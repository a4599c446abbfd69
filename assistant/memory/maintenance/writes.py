"""The write steps compression and decay share, each idempotent so a rerun after a kill finishes the job.

Rows get deterministic ids (a rerun rewrites the same audit entry instead of adding another),
and archiving touches only memories still active. `observe_writes` is the one extension point:
production installs no observer; crash tests install one that kills the process after a step.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from assistant.memory.store import MEMORIES
from assistant.memory.store.query import eq, is_in, owned_by
from assistant.memory.types import Status

if TYPE_CHECKING:
    from assistant.memory.engine import MemoryEngine

# A pass reports (job, done, total) between its steps.
Progress = Callable[[str, int, int], None]
IN_CHUNK = 500  # ids per `IN (...)` filter, so no single filter grows with the store

WriteObserver = Callable[[str], None]
# Called with a label after each durable write step. Production installs none; crash tests
# install one that kills the process there, to prove a kill between any two writes loses nothing.
_write_observers: list[WriteObserver] = []


def observe_writes(observer: WriteObserver) -> Callable[[], None]:
    """Call `observer(label)` after every write step of maintenance; returns the function that removes it."""
    _write_observers.append(observer)
    return lambda: _write_observers.remove(observer)


def step_written(label: str) -> None:
    for observer in tuple(_write_observers):
        observer(label)


def stable_id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]


def in_chunks(values: Sequence[str], size: int = IN_CHUNK) -> list[Sequence[str]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


def stopped(cancel: threading.Event | None) -> bool:
    return cancel is not None and cancel.is_set()


def audit_row(
    engine: MemoryEngine, memory_id: str, action: str, reason: str, at: datetime, detail: str, *key: str
) -> dict[str, Any]:
    return {
        "id": stable_id(engine.user, memory_id, action, *key),
        "owner": engine.user,
        "memory_id": memory_id,
        "action": action,
        "reason": reason,
        "at": at,
        "detail": detail,
    }


def archive_active(
    engine: MemoryEngine, ids: Sequence[str], now: datetime, extra: dict[str, Any] | None = None
) -> None:
    for chunk in in_chunks(list(ids)):
        engine.store.update(
            MEMORIES,
            owned_by(engine.user) & is_in("id", chunk) & eq("status", Status.ACTIVE),
            values={"status": str(Status.ARCHIVED), "updated_at": now, **(extra or {})},
        )
