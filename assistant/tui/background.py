"""BackgroundWork: the core's scheduler as the app runs it, bound to one core at a time.

The scheduler is the one owner of background work: the chat pane queues learning from each
exchange on it, a timer asks it for maintenance, and both run in its own thread. Its
callbacks come from that thread; they only post messages (post_message never blocks, while
call_from_thread would wait for the UI, which can deadlock while the app closes the scheduler).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.message_pump import MessagePump
from textual.timer import Timer

from assistant.application.protocol import BackgroundJobs, FrontendCore
from assistant.tui.messages import JobProgress, Learned

if TYPE_CHECKING:
    from assistant.application.views import JobStatus, LearningResult

# The scheduler's names for its steps, as the status bar shows them.
JOB_LABELS = {"extract": "learning…"}


class BackgroundWork:
    """Learning and maintenance in the scheduler's thread; what learning saved goes to `learning_to`."""

    def __init__(self, app: App[Any], *, learning_to: MessagePump) -> None:
        self.app = app
        self.learning_to = learning_to
        self.jobs: BackgroundJobs | None = None
        self.closing = False
        self._timer: Timer | None = None

    def start(self, core: FrontendCore) -> None:
        """Run the background work of `core` (once: close() or detach() first to move it to another core)."""
        if self.jobs is not None or not core.settings.memory_enabled:
            return
        self.jobs = core.maintenance_jobs(
            self._progress_from_thread, on_stated=self._learned_from_thread, on_learned=self._learned_from_thread
        )
        if self.jobs is None:
            return
        self.jobs.start()
        self._timer = self.app.set_interval(core.settings.maintenance_interval_minutes * 60, self.request)

    def close(self, timeout: float | None = 10) -> None:
        """End the scheduler's thread (blocks up to `timeout`); what it has not finished stays queued on disk."""
        jobs = self.detach()
        if jobs is not None:
            jobs.close(timeout=timeout)

    def detach(self) -> BackgroundJobs | None:
        """Stop asking for maintenance and hand over the scheduler, still running, for the caller to close.

        Closing waits for the scheduler's current step: a caller on the UI thread closes it in a worker.
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

    def _learned_from_thread(self, result: LearningResult) -> None:
        if not self.closing:
            self.learning_to.post_message(Learned(result))

    def _progress_from_thread(self, status: JobStatus) -> None:
        if self.closing:
            return
        label = JOB_LABELS.get(status.job, status.job) if status.job else ""
        counted = f" {status.done}/{status.total}" if label and status.job != "extract" and status.total else ""
        self.app.post_message(JobProgress(f"{label}{counted}"))
