"""The service gives memory back: when the machine's available memory falls below what the
model would need to load again, the model is unloaded while nobody uses it, and the next chat
loads it again (a second or two). That is better than the machine swapping, or the kernel
killing the biggest process, which is us. (Maintenance on its schedule is the scheduler's own:
`Scheduler.schedule_maintenance`.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
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


class MemoryWatch:
    """One thread that checks, every `CHECK_SECONDS`, whether memory is short."""

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
        self.unloads = 0

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="service-memory-watch", daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        while not self.stopping.wait(self.check_seconds):
            try:
                self.tick()
            except Exception:  # the clock must outlive any one failed check
                log.exception("the service's memory check failed")

    def tick(self) -> None:
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
