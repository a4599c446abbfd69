"""Replacing the core when the settings change: the old one is closed cleanly before the new one loads."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.application.protocol import FrontendCore, MaintenanceJobs
from assistant.errors import AssistantError
from assistant.tui.internal_errors import log_bug

if TYPE_CHECKING:
    from assistant.tui.chat_pane import ChatPane

log = logging.getLogger(__name__)

# How long closing waits for the scheduler's current step, then for learning to notice it must stop.
JOBS_STOP_SECONDS = 30.0
LEARNING_STOP_SECONDS = 30.0


@dataclass
class RetiredCore:
    """A core the app no longer sends to, with the scheduler that was bound to it (still running)."""

    core: FrontendCore
    jobs: MaintenanceJobs | None

    def close(self, chat: ChatPane) -> None:
        """Stop its scheduler, its background model work and the chat's learning from it, then close it.

        Blocks: call it from a worker. The chat pane has already let go of the core, so its
        learning stops at the next chance the cancelled model gives it.
        """
        if self.jobs is not None:
            self.jobs.stop(timeout=JOBS_STOP_SECONDS)
        self.core.cancel_background()
        if not chat.wait_for_learning(LEARNING_STOP_SECONDS):
            log.warning("learning from the previous core did not stop; closing it anyway")
        try:
            self.core.close()
        except AssistantError as error:
            log_bug(error)
