"""Decay: a memory's strength falls with time since its last use; below the threshold it is archived.

Archived, never deleted, with the reason in the audit log (written before the archive itself,
so a kill between the two leaves an audited, still active memory that the rerun archives).
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from assistant.memory.maintenance.writes import Progress, archive_active, audit_row, in_chunks, step_written, stopped
from assistant.memory.store import AUDIT, MEMORIES
from assistant.memory.store.query import eq, is_in, owned_by
from assistant.memory.types import Kind, Memory, Status, aware

if TYPE_CHECKING:
    from assistant.memory.engine import MemoryEngine

# Decay: kinds that are always in context (so every turn uses them) and core facts are exempt.
DECAY_EXEMPT_KINDS = (Kind.PROCEDURAL, Kind.PREFERENCE)
CORE_IMPORTANCE = 0.8
STRENGTH_STEP = 0.01


@dataclass
class DecayReport:
    dry_run: bool = False
    considered: int = 0
    exempt: int = 0
    updated: int = 0
    archived: list[str] = field(default_factory=list)
    cancelled: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def last_use(memory: Memory) -> datetime:
    # An edit, a reinforcement or being made (a summary) counts as a use.
    moments = [aware(memory.created_at)]
    for moment in (memory.updated_at, memory.last_accessed):
        if moment is not None:
            moments.append(aware(moment))
    return max(moments)


def strength_of(memory: Memory, now: datetime, half_life_days: float) -> float:
    """1.0 when just used; halves every (half-life x importance x use) days without use."""
    days = max(0.0, (aware(now) - last_use(memory)).total_seconds() / 86400.0)
    effective = half_life_days * (1.0 + 2.0 * memory.importance) * (1.0 + math.log1p(max(0, memory.access_count)))
    return float(0.5 ** (days / effective))


def decay_exempt(memory: Memory) -> bool:
    return memory.pinned or memory.kind in DECAY_EXEMPT_KINDS or memory.importance >= CORE_IMPORTANCE


def decay(
    engine: MemoryEngine,
    now: datetime,
    *,
    half_life_days: float = 90.0,
    threshold: float = 0.05,
    dry_run: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> DecayReport:
    """Recompute strengths of active memories; archive those that fell below `threshold`."""
    report = DecayReport(dry_run=dry_run)
    now = aware(now)
    engine.flush()  # pending recall reinforcement counts as use
    memories = engine.store.memories(owned_by(engine.user) & eq("status", Status.ACTIVE))
    report.considered = len(memories)
    by_strength: dict[float, list[str]] = {}
    to_archive: list[tuple[Memory, float]] = []
    for memory in memories:
        if decay_exempt(memory):
            report.exempt += 1
            if memory.strength != 1.0:
                by_strength.setdefault(1.0, []).append(memory.id)
            continue
        strength = strength_of(memory, now, half_life_days)
        if strength < threshold:
            to_archive.append((memory, strength))
        elif abs(strength - memory.strength) >= STRENGTH_STEP:
            by_strength.setdefault(round(strength, 2), []).append(memory.id)
    report.updated = sum(len(ids) for ids in by_strength.values())
    report.archived = [memory.id for memory, _strength in to_archive]
    if dry_run:
        return report
    steps = len(by_strength) + (1 if to_archive else 0)
    for done, (strength, ids) in enumerate(sorted(by_strength.items())):
        if stopped(cancel):
            report.cancelled = True
            return report
        if progress:
            progress("decay", done, steps)
        for chunk in in_chunks(ids):
            engine.store.update(
                MEMORIES,
                owned_by(engine.user) & is_in("id", chunk) & eq("status", Status.ACTIVE),
                values={"strength": strength},
            )
        step_written("decay: strengths written")
    if to_archive and not stopped(cancel):
        rows = [
            audit_row(
                engine,
                memory.id,
                "archive",
                f"decayed: strength {strength:.3f} below {threshold:.3f} after "
                f"{(now - last_use(memory)).days} days without use",
                now,
                f"strength={strength:.4f}",
                "decay",
                last_use(memory).isoformat(),
            )
            for memory, strength in to_archive
        ]
        engine.store.insert_new(AUDIT, rows)
        step_written("decay: archive audits written")
        by_final: dict[float, list[str]] = {}
        for memory, strength in to_archive:
            by_final.setdefault(round(strength, 3), []).append(memory.id)
        for strength, ids in by_final.items():
            archive_active(engine, ids, now, {"strength": strength})
        step_written("decay: archived")
    if progress:
        progress("decay", steps, steps)
    return report
