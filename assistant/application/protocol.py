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
    from assistant.application.views import ContextTrace, JobStatus, LearnReport, Turn


class MaintenanceJobs(Protocol):
    """The background scheduler as a front end drives it: compression, decay and index upkeep."""

    def start(self) -> None: ...

    def stop(self, timeout: float | None = 30.0) -> None: ...

    def request_maintenance(self) -> None: ...


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

    def maintenance_jobs(self, on_progress: Callable[[JobStatus], None]) -> MaintenanceJobs | None:
        """A new, not yet started scheduler bound to this core, or None when this core has no maintenance."""


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
        """Learn memories from a finished turn; None when the user's chat took the model away first.

        After None, call again once `chat_needs_model()` is False: what was already saved is not
        saved twice. `on_stated` gets what the user stated outright as soon as it is saved, when
        the model's extraction follows (the returned report then holds only the model's part).
        """

    def chat_needs_model(self) -> bool:
        """True while the user's chat is using the model or waiting for it."""

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
