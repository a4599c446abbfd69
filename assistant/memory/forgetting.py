"""Forgetting: deleting memories, messages and conversations so their text is in no file on disk.

Deleting a row only marks it; `store.purge` then rewrites the touched tables and drops their
old versions. Text also lives on where it was quoted: in the next episode's context and in a
conversation's title, so those are rewritten too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from assistant.memory.formats import episodic_memory_id, title_from
from assistant.memory.message_log import CONTEXT_CHARS, MessageLog
from assistant.memory.space import Space
from assistant.memory.store import AUDIT, CONVERSATIONS, MEMORIES, MESSAGES, PROFILES
from assistant.memory.store.query import eq, is_in, not_null
from assistant.memory.types import Kind


class Forgetting:
    """Deletes for good from one space."""

    def __init__(self, space: Space, log: MessageLog) -> None:
        self.space = space
        self.log = log

    def forget(
        self,
        memory_ids: Sequence[str],
        *,
        reason: str = "forgotten at the user's request",
        with_sources: bool | None = None,
    ) -> int:
        """Delete memories so that their text is in no file on disk.

        A message's own episodic memory takes the message with it. Other memories keep the
        conversation messages they came from unless `with_sources` is true.
        """
        space = self.space
        memories = [space.require(memory_id) for memory_id in dict.fromkeys(memory_ids)]
        if not memories:
            return 0
        message_ids: list[str] = []
        for memory in memories:
            if with_sources or (with_sources is None and memory.kind == Kind.EPISODIC):
                message_ids.extend(memory.sources)
        touched = [MEMORIES]
        # Order matters for a crash part-way: the messages go before the memories, so a killed
        # forget leaves the memory in place and running forget again finishes the job.
        if message_ids:
            where_messages = space.owner & is_in("id", message_ids)
            doomed = space.store.rows(MESSAGES, where_messages, columns=["conversation_id", "content"])
            conversation_ids = {row["conversation_id"] for row in doomed if row["conversation_id"]}
            self._drop_quoted_context(conversation_ids, [row["content"] or "" for row in doomed])
            space.store.delete(MESSAGES, where_messages)
            self._retitle(conversation_ids)
            touched.append(CONVERSATIONS)
            # Episodic memories of those messages would keep their text: they go too.
            episodes = [episodic_memory_id(message_id) for message_id in message_ids]
            space.store.delete(MEMORIES, space.owner & is_in("id", episodes))
            touched.append(MESSAGES)
        space.store.delete(MEMORIES, space.owner & is_in("id", [m.id for m in memories]))
        space.store.write_audit([space.audit(memory.id, "forget", reason) for memory in memories])
        space.store.purge(touched)
        return len(memories)

    def delete_conversation(self, conversation_id: str) -> int:
        """Delete a conversation and its messages for good (their episodic memories too)."""
        space = self.space
        self.log.require_conversation(conversation_id)
        messages = self.log.messages(conversation_id)
        space.store.delete(MESSAGES, space.owner & eq("conversation_id", conversation_id))
        if messages:
            ids = [episodic_memory_id(message.id) for message in messages]
            space.store.delete(MEMORIES, space.owner & is_in("id", ids))
        space.store.delete(CONVERSATIONS, space.owner & eq("id", conversation_id))
        space.store.write_audit([space.audit(conversation_id, "forget", "conversation deleted by the user")])
        space.store.purge([MEMORIES, MESSAGES, CONVERSATIONS])
        return len(messages)

    def forget_all(self, *, reason: str = "the user deleted everything") -> None:
        """Delete the whole space: memories, messages, conversations, profile and audit log."""
        space = self.space
        for name in (MEMORIES, MESSAGES, CONVERSATIONS, PROFILES, AUDIT):
            space.store.delete(name, space.owner)
        space.store.purge([MEMORIES, MESSAGES, CONVERSATIONS, PROFILES, AUDIT])
        space.store.write_audit([space.audit("*", "forget_all", reason)])

    def _drop_quoted_context(self, conversation_ids: set[str], contents: Sequence[str]) -> None:
        """An episode quotes the message before it (text and vector): a forgotten message must not live on there."""
        space = self.space
        prefixes = [content[:CONTEXT_CHARS] for content in contents if content]
        if not conversation_ids or not prefixes:
            return
        where = space.owner & is_in("conversation_id", conversation_ids) & not_null("context")
        quoting = [m for m in space.store.memories(where) if any(p in (m.context or "") for p in prefixes)]
        if quoting:
            audits = [space.audit(m.id, "update", "its context quoted a forgotten message") for m in quoting]
            space.write([replace(m, context=None) for m in quoting], audits)

    def _retitle(self, conversation_ids: Iterable[str]) -> None:
        """A title may quote a deleted message: derive it again from what is left (or drop the conversation)."""
        space = self.space
        for conversation_id in conversation_ids:
            remaining = self.log.messages(conversation_id)
            where = space.owner & eq("id", conversation_id)
            if not remaining:
                space.store.delete(CONVERSATIONS, where)
            else:
                space.store.update(CONVERSATIONS, where, values={"title": title_from(remaining[0].content)})
