"""Replacing the core when the settings change: the old one is closed cleanly before the new one loads."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.application.protocol import BackgroundJobs, FrontendCore
from assistant.errors import AssistantError
from assistant.tui.internal_errors import log_bug

# How long closing waits for the scheduler's current step (a model step is cancelled at its next token).
JOBS_CLOSE_SECONDS = 30.0


@dataclass
class RetiredCore:
    """A core the app no longer sends to, with the scheduler that was bound to it (still running)."""

    core: FrontendCore
    jobs: BackgroundJobs | None

    def close(self) -> None:
        """Close its scheduler, then the core. Blocks: call it from a worker.

        The scheduler is the only one learning from this core: once it is closed nothing
        writes to the core any more. What it had not finished learning stays queued on disk,
        and the new core's scheduler finishes it.
        """
        if self.jobs is not None:
            self.jobs.close(timeout=JOBS_CLOSE_SECONDS)
        self.core.cancel_background()
        try:
            self.core.close()
        except AssistantError as error:
            log_bug(error)
