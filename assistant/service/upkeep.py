"""The service's own clock: the work nobody asks for while it runs.

- Maintenance (compression, decay, index upkeep) runs on its schedule whether or not a front
  end is open: each memory space gets a pass once `maintenance_interval_minutes` have passed
  since its last one (kept in its job state, so a restarted service does not start over).
  The scheduler runs it between turns' learning and stops it at its next step for the user.
- Memory given back: when the machine's available memory falls below what the model would
  need to load again, the model is unloaded while nobody uses it; the next chat loads it
  again (a second or two), which is better than the machine swapping or the kernel killing
  the biggest process, which is us.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.service.handlers import Backend

log = logging.getLogger(__name__)

CHECK_SECONDS = 30.0
# Unload below this much available memory, or below the model file's size if that is more.
LOW_MEMORY_BYTES = 512 * 1024 * 1024


def available_memory_bytes(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """MemAvailable from the kernel; None where there is no /proc (then nothing is unloaded)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def maintenance_due(last: datetime | None, now: datetime, interval: timedelta) -> bool:
    return last is None or now - last >= interval


class Upkeep:
    """One thread that checks, every `CHECK_SECONDS`, whether maintenance is due and memory is short."""

    def __init__(
        self,
        backend: Backend,
        *,
        stopping: threading.Event,
        check_seconds: float = CHECK_SECONDS,
        available: Callable[[], int | None] = available_memory_bytes,
    ) -> None:
        self.backend = backend
        self.stopping = stopping
        self.check_seconds = check_seconds
        self.available = available
        self.interval = timedelta(minutes=backend.settings.maintenance_interval_minutes)
        self.unloads = 0
        self._asked: dict[str, datetime] = {}

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="service-upkeep", daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        while not self.stopping.wait(self.check_seconds):
            try:
                self.tick()
            except Exception:  # the clock must outlive any one failed check
                log.exception("service upkeep failed")

    def tick(self, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        for space in self.backend.open_spaces():
            user = space.assistant.user
            if not space.assistant.settings.memory_enabled:
                continue
            # A pass that failed leaves its last time unchanged: asked again only after an interval.
            last = max(filter(None, (space.jobs.last_maintenance_at, self._asked.get(user))), default=None)
            if maintenance_due(last, now, self.interval) and not space.jobs.status.maintenance_pending:
                log.info("maintenance is due for %s", user)
                self._asked[user] = now
                space.jobs.request_maintenance()
        self._give_back_memory()

    def _give_back_memory(self) -> None:
        free = self.available()
        runner = self.backend.loaded_runner()
        if free is None or runner is None:
            return
        floor = max(LOW_MEMORY_BYTES, _model_bytes(runner.model_path))
        if free < floor and runner.unload():
            self.unloads += 1
            log.warning("memory is short (%d MB available): the model is unloaded until the next chat", free >> 20)


def _model_bytes(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
