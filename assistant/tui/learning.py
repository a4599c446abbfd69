"""Learning from a finished exchange, in the TUI's background: yield the model to the chat and retry.

This is the TUI's own retry loop (the CLI goes through the scheduler's persisted queue).
It runs in a thread worker; nothing here touches the screen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from assistant.application.protocol import CoreLearning

if TYPE_CHECKING:
    from assistant.application.views import LearnReport, Turn

# Learning yields the model to the user's chat and retries; give up after this many tries.
LEARN_ATTEMPTS = 5
LEARN_RETRY_POLL = 0.25


def learn_with_retries(
    core: CoreLearning,
    turn: Turn,
    *,
    on_stated: Callable[[LearnReport], None],
    should_stop: Callable[[], bool],
) -> LearnReport | None:
    """The report of learning from `turn`, or None when stopped or still preempted after every try.

    Each time the user's chat takes the model, wait until the chat is done with it and try
    again (what was already saved is not saved twice). Raises AssistantError as learn() does.
    """
    for _attempt in range(LEARN_ATTEMPTS):
        if should_stop():
            return None
        report = core.learn(turn, on_stated=on_stated)
        if report is not None:
            return report
        while not should_stop() and core.chat_needs_model():
            threading.Event().wait(LEARN_RETRY_POLL)
    return None
