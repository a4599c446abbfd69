"""The typed boundary between a front end and the core: everything a front end may call.

Every method blocks (it reads or writes the store, embeds, or runs the model): a front end
calls them off its UI thread. Errors the user should see are `assistant.errors.AssistantError`.
`assistant.application.frontend.AssistantFrontend` implements this for the real core; the
TUI's tests drive a fake that implements the same protocol.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from assistant.application.views import MemoryDetail, MemoryRow, TextChanges
from assistant.config import Settings
from assistant.memory.types import Conversation, Memory, Message

if TYPE_CHECKING:
    from assistant.application.views import ContextTrace, JobStatus, LearningResult, LearnReport, Turn

LearningCallback = Callable[["LearningResult"], None]


class BackgroundJobs(Protocol):
    """The one owner of a core's background work, as a front end drives it: learning and maintenance.

    Learning is queued, persisted, and done in the scheduler's own thread, one turn at a time,
    giving way to the user's chat; what a closed or killed process left queued is finished by
    the next start. Its callbacks run on that thread: a front end only hands their results to
    its UI thread from them, without blocking.
    """

    @property
    def status(self) -> JobStatus: ...

    def start(self) -> None:
        """Start the worker thread; it first finishes the learning an earlier process left queued."""

    def close(self, timeout: float | None = 30.0) -> None:
        """End the worker (blocks up to `timeout`): a running model step is cancelled, unfinished work stays queued."""

    def queue_learning(self, turn: Turn) -> str:
        """Queue learning from a finished turn, persisted before this returns; the job's id (the callbacks name it)."""

    def request_maintenance(self) -> None:
        """Ask for a pass of compression, decay and index upkeep."""

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is left to do; False when `timeout` passed first."""


class CoreLifecycle(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def user(self) -> str: ...

    def warm_up(self) -> None:
        """Load the model, the embedder and the store; raises ModelError when there is no usable model."""

    def cancel_background(self) -> None:
        """Stop background model work (learning, summaries) at its next token."""

    def close(self) -> None:
        """Flush what is batched and close the store; the core is not used afterwards."""

    def maintenance_jobs(
        self,
        on_progress: Callable[[JobStatus], None],
        *,
        on_stated: LearningCallback | None = None,
        on_learned: LearningCallback | None = None,
    ) -> BackgroundJobs | None:
        """A new, not yet started scheduler of this core's background work, or None when it has none.

        Its learning reports through `on_stated` (what the user stated outright is saved; only
        when the model's extraction follows) and `on_learned` (the turn's learning is finished,
        with every id it saved: what one Undo removes). All three run on the scheduler's thread.
        """


class CoreConversations(Protocol):
    def list_conversations(self) -> list[Conversation]:
        """Newest first."""

    def conversation_messages(self, conversation_id: str) -> list[Message]: ...

    def rename_conversation(self, conversation_id: str, title: str) -> None: ...

    def delete_conversation(self, conversation_id: str) -> None: ...


class CoreChat(Protocol):
    def stream_reply(
        self,
        text: str,
        *,
        conversation_id: str | None = None,
        cancel: threading.Event | None = None,
        incognito: bool = False,
    ) -> Iterator[str]:
        """The reply piece by piece; setting `cancel` ends it early. `last_turn` holds the whole turn afterwards.

        Without a conversation id the turn starts a new conversation (none in incognito).
        """

    @property
    def last_turn(self) -> Turn | None:
        """The turn of the latest stream_reply."""

    def trace_for(self, assistant_message_id: str) -> ContextTrace | None:
        """What the model was given for that reply (for the context inspector); None if nothing was recorded."""


class CoreLearning(Protocol):
    def learn(self, turn: Turn, *, on_stated: Callable[[LearnReport], None] | None = None) -> LearnReport | None:
        """Learn from a finished turn now, in the calling thread; None when the user's chat took the model first.

        A front end queues learning with `maintenance_jobs(...).queue_learning` instead, which
        retries, survives a restart and never competes with the chat; this is the one step
        such a job runs. `on_stated` gets what the user stated outright as soon as it is saved,
        when the model's extraction follows (the returned report then holds only the model's part).
        """

    def undo_learned(self, memory_ids: list[str]) -> None:
        """Forget memories just learned and bring back what they superseded."""

    def tidy(self) -> None:
        """Store upkeep after an exchange nothing was learned from (learn() does it otherwise)."""


class CoreMemories(Protocol):
    """The memory panel's operations."""

    @property
    def user(self) -> str: ...

    def count_memories(self) -> int:
        """Active memories, not counting the raw message log."""

    def find_memories(
        self, query: str = "", *, kind: str | None = None, status: str | None = "active", sort: str = "relevance"
    ) -> list[MemoryRow]:
        """Recall's results for `query`, or every memory matching the filters, in the order `sort` names.

        `kind` is a Kind value, views.NOT_MESSAGES or None (any); `status` a Status value or None (any).
        """

    def memory_detail(self, memory_id: str) -> MemoryDetail | None: ...

    def memories_by_id(self, memory_ids: list[str]) -> list[Memory]:
        """Those that still exist, in the order asked."""

    def edit_memory(self, memory_id: str, text: str) -> Memory: ...

    def pin_memory(self, memory_id: str) -> Memory:
        """A pinned memory does not decay."""

    def unpin_memory(self, memory_id: str) -> Memory: ...

    def archive_memory(self, memory_id: str) -> Memory:
        """Kept, but no longer recalled."""

    def restore_memory(self, memory_id: str) -> Memory: ...

    def forget_memory(self, memory_id: str) -> int:
        """Erase it from disk for good; the number of memories erased."""

    def forget_everything(self) -> None:
        """Erase every memory, message, conversation and the profile of this user."""

    def export_memories(self, path: Path) -> dict[str, int]:
        """Write everything to a JSONL file; what was written, counted by kind of record."""

    def profile_text(self) -> str:
        """What is always in context about the user, one entry per line."""

    def save_profile(self, text: str) -> TextChanges:
        """New lines become preferences, removed lines are archived."""

    def rules_text(self) -> str:
        """The active rules, one per line, oldest first."""

    def save_rules(self, text: str) -> TextChanges:
        """New lines become rules, removed lines are archived."""


class FrontendCore(CoreLifecycle, CoreConversations, CoreChat, CoreLearning, CoreMemories, Protocol):
    """Everything a front end may call on the core."""
