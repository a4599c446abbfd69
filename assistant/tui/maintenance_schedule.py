"""MaintenanceSchedule: the core's background scheduler as the app runs it, bound to one core at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.timer import Timer

from assistant.application.protocol import FrontendCore, MaintenanceJobs
from assistant.tui.messages import JobProgress

if TYPE_CHECKING:
    from assistant.application.views import JobStatus


class MaintenanceSchedule:
    """Compression, decay and index upkeep in the scheduler's own thread, asked for on a timer."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.jobs: MaintenanceJobs | None = None
        self.closing = False
        self._timer: Timer | None = None

    def start(self, core: FrontendCore) -> None:
        """Run maintenance for `core` (once: stop() first to move it to another core)."""
        if self.jobs is not None or not core.settings.memory_enabled:
            return
        self.jobs = core.maintenance_jobs(self._progress_from_thread)
        if self.jobs is None:
            return
        self.jobs.start()
        self._timer = self.app.set_interval(core.settings.maintenance_interval_minutes * 60, self.request)

    def stop(self, timeout: float | None = 10) -> None:
        """Stop the scheduler's thread (blocks up to `timeout`); its pending work stays in its state file."""
        jobs = self.detach()
        if jobs is not None:
            jobs.stop(timeout=timeout)

    def detach(self) -> MaintenanceJobs | None:
        """Stop asking for maintenance and hand over the scheduler, still running, for the caller to stop.

        Stopping waits for the scheduler's current step: a caller on the UI thread stops it in a worker.
        """
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        jobs, self.jobs = self.jobs, None
        return jobs

    def request(self) -> bool:
        """Ask for a maintenance pass now; False when no scheduler runs yet."""
        if self.jobs is None:
            return False
        self.jobs.request_maintenance()
        return True

    def _progress_from_thread(self, status: JobStatus) -> None:
        # post_message never blocks the scheduler's thread (call_from_thread would wait for
        # the UI, which can deadlock while the app is stopping the scheduler).
        if self.closing:
            return
        counted = f" {status.done}/{status.total}" if status.job and status.total else ""
        self.app.post_message(JobProgress(f"{status.job}{counted}" if status.job else ""))
