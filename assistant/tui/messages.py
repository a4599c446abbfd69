"""Messages the TUI's thread workers post back to the UI thread.

The reply and learning messages go to the chat pane (which started the reply, and queued
the learning on the scheduler) and stop there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

from assistant.application.protocol import FrontendCore

if TYPE_CHECKING:
    from assistant.application.views import LearningResult, Turn


class AssistantReady(Message):
    """warm_up() finished: the model, embedder and store are open."""

    def __init__(self, assistant: FrontendCore) -> None:
        super().__init__()
        self.assistant = assistant


class AssistantUnavailable(Message):
    """warm_up() failed with an expected error; `needs_model` means show the setup screen."""

    def __init__(self, error: str, *, needs_model: bool) -> None:
        super().__init__()
        self.error = error
        self.needs_model = needs_model


class ReplyStarted(Message, bubble=False):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ReplyChunk(Message, bubble=False):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ReplyDone(Message, bubble=False):
    """The stream ended; `turn` is the core's last_turn (None if the core gave none)."""

    def __init__(self, turn: Turn | None, *, stopped: bool) -> None:
        super().__init__()
        self.turn = turn
        self.stopped = stopped


class ReplyFailed(Message, bubble=False):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class Learned(Message, bubble=False):
    """The scheduler learned from a queued turn: `report` is this part, `saved_ids` all it saved so far.

    `final` is False for what the user stated outright, saved while the model's extraction
    still runs; the final one comes when the turn's learning is finished.
    """

    def __init__(self, result: LearningResult) -> None:
        super().__init__()
        self.job = result.job
        self.report = result.report
        self.final = result.final
        self.saved_ids = list(result.saved_ids)


class MemoriesChanged(Message):
    """Something added, edited or removed memories: refresh counts and views."""

    def __init__(self, reason: str = "") -> None:
        super().__init__()
        self.reason = reason


class JobProgress(Message):
    """Background job progress for the status bar; `text` empty when the job ended."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, JobProgress)


@dataclass
class CoreCall:
    """What to do on the UI thread with the result of a core call made in a worker."""

    then: Callable[[Any], None] | None = None
    what: str = ""


class CoreResult(Message):
    def __init__(self, call: CoreCall, value: Any) -> None:
        super().__init__()
        self.call = call
        self.value = value


class CoreFailed(Message):
    def __init__(self, call: CoreCall, error: str) -> None:
        super().__init__()
        self.call = call
        self.error = error
