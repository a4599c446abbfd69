"""AssistantFrontend: the chat session (`assistant.application.session.Assistant`) behind the front-end protocol.

A thin adapter: the chat and learning go to the session, every memory use case to its
MemoryService. The session's modules are imported inside the methods, which only run
after warm-up has loaded them anyway, so importing this module costs nothing before a
front end's first paint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.application.views import NOT_MESSAGES, MemoryDetail, MemoryRow, TextChanges, order_rows
from assistant.config import Settings
from assistant.memory.types import Conversation, Kind, Memory, Message, Status

if TYPE_CHECKING:
    from assistant.application.protocol import BackgroundJobs, LearningCallback
    from assistant.application.session import Assistant
    from assistant.application.views import ContextTrace, JobStatus, LearnReport, Turn

# What the memory panel lists as memories: not the raw message log (as MemoryService counts them).
REMEMBERED_KINDS = (Kind.SEMANTIC, Kind.PREFERENCE, Kind.PROCEDURAL, Kind.SUMMARY)
SEARCH_LIMIT = 200


class AssistantFrontend:
    """Implements `assistant.application.protocol.FrontendCore` for `core`."""

    def __init__(self, core: Assistant) -> None:
        self.core = core

    @classmethod
    def open(cls, settings: Settings) -> AssistantFrontend:
        """A front end's factory: the real core for `settings` (opened lazily, by warm_up)."""
        from assistant.application.session import Assistant

        return cls(Assistant(settings))

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self.core.settings

    @property
    def user(self) -> str:
        return self.core.user

    def warm_up(self) -> None:
        self.core.warm_up()

    def cancel_background(self) -> None:
        self.core.cancel_background()

    def close(self) -> None:
        self.core.close()

    def maintenance_jobs(
        self,
        on_progress: Callable[[JobStatus], None],
        *,
        on_stated: LearningCallback | None = None,
        on_learned: LearningCallback | None = None,
    ) -> BackgroundJobs | None:
        from assistant.application.scheduler import Scheduler

        return Scheduler(self.core, on_progress=on_progress, on_stated=on_stated, on_learned=on_learned)

    # -- conversations -------------------------------------------------------------------

    def list_conversations(self) -> list[Conversation]:
        return self.core.list_conversations()

    def conversation_messages(self, conversation_id: str) -> list[Message]:
        return self.core.conversation_messages(conversation_id)

    def rename_conversation(self, conversation_id: str, title: str) -> None:
        self.core.rename_conversation(conversation_id, title)

    def delete_conversation(self, conversation_id: str) -> None:
        self.core.delete_conversation(conversation_id)

    # -- chat ----------------------------------------------------------------------------

    def stream_reply(
        self,
        text: str,
        *,
        conversation_id: str | None = None,
        cancel: threading.Event | None = None,
        incognito: bool = False,
    ) -> Iterator[str]:
        return self.core.stream_reply(text, conversation_id=conversation_id, cancel=cancel, incognito=incognito)

    @property
    def last_turn(self) -> Turn | None:
        return self.core.last_turn

    def trace_for(self, assistant_message_id: str) -> ContextTrace | None:
        return self.core.trace_for(assistant_message_id)

    # -- learning ------------------------------------------------------------------------

    def learn(self, turn: Turn, *, on_stated: Callable[[LearnReport], None] | None = None) -> LearnReport | None:
        from assistant.llm.runner import GenerationCancelled

        try:
            return self.core.learn(turn, on_stated=on_stated)
        except GenerationCancelled:
            return None

    def undo_learned(self, memory_ids: list[str]) -> None:
        self.core.undo_learned(memory_ids)

    def tidy(self) -> None:
        self.core.engine.tidy()

    # -- the memory panel ----------------------------------------------------------------

    def count_memories(self) -> int:
        return self.core.memories.count()

    def find_memories(
        self, query: str = "", *, kind: str | None = None, status: str | None = "active", sort: str = "relevance"
    ) -> list[MemoryRow]:
        memories = self.core.memories
        kinds = list(REMEMBERED_KINDS) if kind == NOT_MESSAGES else [Kind(kind)] if kind else None
        statuses = [Status(status)] if status else None
        query = query.strip()
        if query:
            from assistant.memory.recall import RecallFilter

            filters = RecallFilter(kinds=tuple(kinds) if kinds else None, statuses=tuple(statuses or Status))
            rows = [MemoryRow(hit.memory, hit.score) for hit in memories.search(query, k=SEARCH_LIMIT, filters=filters)]
        else:
            rows = [MemoryRow(memory) for memory in memories.select(kinds=kinds, statuses=statuses)]
        return order_rows(rows, sort, searched=bool(query))

    def memory_detail(self, memory_id: str) -> MemoryDetail | None:
        return self.core.memories.detail(memory_id)

    def memories_by_id(self, memory_ids: list[str]) -> list[Memory]:
        return self.core.memories.by_ids(memory_ids)

    def edit_memory(self, memory_id: str, text: str) -> Memory:
        return self.core.memories.edit(memory_id, text=text, reason="edited in the memory panel")

    def pin_memory(self, memory_id: str) -> Memory:
        return self.core.memories.set_pinned(memory_id, True)

    def unpin_memory(self, memory_id: str) -> Memory:
        return self.core.memories.set_pinned(memory_id, False)

    def archive_memory(self, memory_id: str) -> Memory:
        return self.core.memories.set_archived(memory_id, True)

    def restore_memory(self, memory_id: str) -> Memory:
        return self.core.memories.set_archived(memory_id, False)

    def forget_memory(self, memory_id: str) -> int:
        return self.core.memories.forget([memory_id], reason="forgotten in the memory panel")

    def forget_everything(self) -> None:
        self.core.memories.forget_all(reason="the user chose forget everything in the memory panel")

    def export_memories(self, path: Path) -> dict[str, int]:
        return self.core.memories.export(path)

    def profile_text(self) -> str:
        return "\n".join(memory.text for memory in self.core.profile_memories())

    def save_profile(self, text: str) -> TextChanges:
        return TextChanges(*self.core.memories.save_profile(text))

    def rules_text(self) -> str:
        return "\n".join(rule.text for rule in self.core.rules())

    def save_rules(self, text: str) -> TextChanges:
        return TextChanges(*self.core.memories.save_rules(text))
