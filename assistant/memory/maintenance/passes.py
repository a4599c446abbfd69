"""One maintenance pass: compression, then decay, then index upkeep, with one report."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from assistant.memory.maintenance.compression import CompressReport, compress
from assistant.memory.maintenance.indexes import KEEP_VERSIONS_FOR, IndexReport, maintain_indexes
from assistant.memory.maintenance.strength import DecayReport, decay
from assistant.memory.maintenance.writes import Progress, stopped
from assistant.memory.types import aware

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.llm.runner import ModelRunner
    from assistant.memory.engine import MemoryEngine


@dataclass
class MaintenanceReport:
    dry_run: bool
    compress: CompressReport | None = None
    decay: DecayReport | None = None
    indexes: IndexReport | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "compress": self.compress.as_dict() if self.compress else None,
            "decay": self.decay.as_dict() if self.decay else None,
            "indexes": self.indexes.as_dict() if self.indexes else None,
        }


def run_pass(
    engine: MemoryEngine,
    runner: ModelRunner | None,
    settings: Settings,
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    keep_versions_for: timedelta = KEEP_VERSIONS_FOR,
) -> MaintenanceReport:
    """Compression, then decay, then index upkeep, all at `now` (default: the engine's clock)."""
    moment = aware(now or engine.now())
    report = MaintenanceReport(dry_run=dry_run)
    if not dry_run:
        engine.fill_missing_vectors()  # stored while an embedder loaded, then killed: compression reads vectors
    report.compress = compress(
        engine,
        runner,
        moment,
        age_days=settings.compression_age_days,
        dry_run=dry_run,
        progress=progress,
        cancel=cancel,
    )
    if stopped(cancel):
        return report
    report.decay = decay(
        engine,
        moment,
        half_life_days=settings.decay_half_life_days,
        threshold=settings.decay_archive_threshold,
        dry_run=dry_run,
        progress=progress,
        cancel=cancel,
    )
    if stopped(cancel):
        return report
    report.indexes = maintain_indexes(
        engine, dry_run=dry_run, progress=progress, cancel=cancel, keep_versions_for=keep_versions_for
    )
    return report
