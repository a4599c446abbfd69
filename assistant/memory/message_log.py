"""The message log: conversations, their messages, and each message's episodic memory.

Every message is stored twice: as itself in the log, and as an episodic memory recall can
find (its text, who said it, and the message it answered). Adding is idempotent by message
id, so an import or a turn cut short by a crash can simply run again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from assistant.errors import StoreError
from assistant.memory.embed import vectors_ready
from assistant.memory.formats import (
    embedding_text_for,
    episodic_embedding_text,
    episodic_memory_id,
    memory_rows,
    normalize_rows,
    speaker_label,
    stable_id,
    title_from,
)
from assistant.memory.redacting import redacted_message, redacted_text
from assistant.memory.space import Space
from assistant.memory.store import (
    AUDIT,
    CONVERSATIONS,
    MEMORIES,
    MESSAGES,
    message_to_row,
    row_to_message,
)
from assistant.memory.store.query import eq, is_in, le
from assistant.memory.types import Conversation, Kind, Memory, Message, Origin, Role

if TYPE_CHECKING:
    import numpy as np

# How much of the message before an episode is quoted as its context.
CONTEXT_CHARS = 200


def quote(speaker: str | None, text: str) -> str:
    """How a message is quoted as the context of the next one: recall links the two by it."""
    return f"{speaker or ''}: {text[:CONTEXT_CHARS]}"


# How much of the answered message's meaning goes into a reply's vector.
CONTEXT_VECTOR_WEIGHT = 0.2

# How much of its reply's meaning goes into a message's vector, when both are people's words.
REPLY_VECTOR_WEIGHT = 1.0

# Vectors of recently stored messages by id, kept across an import's batches so a reply in the
# next batch can blend in the message it answered: {message id: (conversation id, vector)}.
Carried = dict[str, tuple[str, Any]]


class MessageLog:
    """Conversations and messages of one space."""

    def __init__(self, space: Space) -> None:
        self.space = space

    # --- reading ------------------------------------------------------------------------------
    def messages(self, conversation_id: str | None = None, *, limit: int | None = None) -> list[Message]:
        space = self.space
        where = space.owner if conversation_id is None else space.owner & eq("conversation_id", conversation_id)
        messages = sorted(space.store.messages(where), key=lambda message: (message.created_at, message.id))
        return messages[-limit:] if limit else messages

    def sources_of(self, memory: Memory) -> list[Message]:
        if not memory.sources:
            return []
        messages = self.space.store.messages(self.space.owner & is_in("id", memory.sources))
        return sorted(messages, key=lambda message: message.created_at)

    def conversations(self) -> list[Conversation]:
        return sorted(self.space.store.conversations(self.space.owner), key=lambda c: c.updated_at, reverse=True)

    def require_conversation(self, conversation_id: str) -> Conversation:
        found = self.space.store.conversations(self.space.owner & eq("id", conversation_id))
        if not found:
            raise StoreError(f"no conversation {conversation_id!r} for user {self.space.user!r}")
        return found[0]

    def embedding_text_of(self, message: Message) -> str:
        """The text a stored message is embedded by (see embed_ahead)."""
        return episodic_embedding_text(
            Memory(
                user=self.space.user,
                kind=Kind.EPISODIC,
                text=message.content,
                speaker=speaker_label(str(message.role), message.speaker),
            )
        )

    # --- conversations ------------------------------------------------------------------------
    def create_conversation(self, title: str | None = None) -> Conversation:
        space = self.space
        now = space.now()
        title = redacted_text(title or "New conversation").strip()[:200]
        conversation = Conversation(space.user, title=title, created_at=now, updated_at=now)
        row = {
            "id": conversation.id,
            "owner": space.user,
            "title": conversation.title,
            "created_at": now,
            "updated_at": now,
        }
        space.store.upsert(CONVERSATIONS, [row])
        return conversation

    def rename_conversation(self, conversation_id: str, title: str) -> None:
        title = " ".join(redacted_text(title).split())[:200]
        if not title:
            raise StoreError("a conversation title must not be empty")
        self.require_conversation(conversation_id)
        where = self.space.owner & eq("id", conversation_id)
        self.space.store.update(CONVERSATIONS, where, values={"title": title})

    # --- adding messages ----------------------------------------------------------------------
    def add_messages(self, messages: Sequence[Message], *, reason: str = "conversation message") -> list[Memory]:
        """Log messages (the episodic record) and index each as an episodic memory; idempotent by id."""
        new = self.unseen(messages)
        if not new:
            return []
        return self.store_messages(new, Origin.EXTRACTED, reason, {})

    def unseen(self, messages: Sequence[Message]) -> list[Message]:
        """The messages not logged yet, each id once."""
        present = self.space.present(MESSAGES, [message.id for message in messages])
        seen: set[str] = set()
        fresh = []
        for message in messages:
            if message.id in present or message.id in seen:
                continue
            seen.add(message.id)
            fresh.append(message)
        return fresh

    def store_messages(
        self,
        messages: Sequence[Message],
        origin: Origin,
        reason: str,
        carried: Carried,
        *,
        redacted: Counter[str] | None = None,
        titles: Mapping[str, str] | None = None,
    ) -> list[Memory]:
        """Write new messages, their episodic memories, conversations and audit entries.

        A new conversation is titled from `titles` (by conversation id; an import's own titles)
        or else from its first message.

        Every message reaches the store through here (a chat turn and every import alike), so
        secrets are redacted here, before the text is embedded, quoted as the next one's
        context or made a conversation title; `redacted` counts what was found, by kind.
        """
        import numpy as np

        space = self.space
        messages = [redacted_message(message, redacted) for message in messages]
        previous = self._previous_messages(messages)
        memories = [self._episode(message, previous.get(message.id), origin) for message in messages]
        blended = None  # no vectors yet (the embedder still loads): fill_missing_vectors embeds them later
        if vectors_ready(space.embedder):
            vectors = space.vectors.embed([embedding_text_for(memory) for memory in memories])
            position = {message.id: index for index, message in enumerate(messages)}
            blended = vectors.copy()
            for index, message in enumerate(messages):
                before = previous.get(message.id)
                if before is None:
                    continue
                if before.id in position:
                    blended[index] += CONTEXT_VECTOR_WEIGHT * vectors[position[before.id]]
                elif before.id in carried:
                    blended[index] += CONTEXT_VECTOR_WEIGHT * np.asarray(carried[before.id][1], dtype=np.float32)
            self._blend_replies(messages, previous, vectors, blended, carried)
            blended = normalize_rows(blended)
            for message, vector in zip(messages, vectors, strict=True):
                carried[message.id] = (message.conversation_id, vector)
        # The messages go last: a stored message means its whole batch is stored, so a batch cut
        # short by a crash stays unseen and the next import (or the same turn again) finishes it.
        inserted = space.store.insert_new(MEMORIES, memory_rows(memories, blended, space.store.dimension))
        self._touch_conversations(messages, titles or {}, redacted)
        audits: list[dict[str, Any]] = [
            {
                "id": stable_id(space.user, memory.id, "add"),
                "owner": space.user,
                "memory_id": memory.id,
                "action": "add",
                "reason": reason,
                "at": space.now(),
                "detail": f"kind=episodic origin={origin}",
            }
            for memory in memories
        ]
        if inserted < len(memories):
            # Some episodes were stored by an attempt that died before its messages: one "add" each.
            logged = space.present(AUDIT, [row["id"] for row in audits])
            audits = [row for row in audits if row["id"] not in logged]
        space.store.append(AUDIT, audits)
        space.store.insert_new(MESSAGES, [message_to_row(message) for message in messages])
        return memories

    def _blend_replies(
        self,
        messages: Sequence[Message],
        previous: Mapping[str, Message],
        vectors: np.ndarray,
        blended: np.ndarray,
        carried: Carried,
    ) -> None:
        """Give a person's message the meaning of the reply another person gave it (in `blended`).

        Between people an answer is often split across the turns: "Did you take Toby hiking?" /
        "Yes, up Mount Wilson!". Measured on LoCoMo dev (benchmarks/recall_quality.py), a
        message blended with its reply at REPLY_VECTOR_WEIGHT raised R@10 in each of the three
        conversations (0.725 -> 0.769 overall). The model's replies are never blended in: its
        words must not decide how the user's own are found.
        """
        position = {message.id: index for index, message in enumerate(messages)}
        for index, message in enumerate(messages):
            before = previous.get(message.id)
            if before is None or not _reply_between_people(before, message):
                continue
            if before.id in position:
                blended[position[before.id]] += REPLY_VECTOR_WEIGHT * vectors[index]
            elif before.id in carried:
                self._blend_stored(before, vectors[index])

    def _blend_stored(self, message: Message, reply_vector: np.ndarray) -> None:
        """The same blend for a message an earlier import batch stored (its reply came in this one)."""
        import numpy as np

        store = self.space.store
        where = self.space.owner & eq("id", episodic_memory_id(message.id))
        rows = store.rows(MEMORIES, where, columns=["id", "vector"])
        if not rows or rows[0]["vector"] is None:
            return
        vector = np.asarray(rows[0]["vector"], dtype=np.float32) + REPLY_VECTOR_WEIGHT * reply_vector
        vector /= max(float(np.linalg.norm(vector)), 1e-12)
        store.update(MEMORIES, where, values={"vector": [float(value) for value in vector]})

    def _episode(self, message: Message, before: Message | None, origin: Origin) -> Memory:
        context = None
        if before is not None:
            context = quote(speaker_label(str(before.role), before.speaker), before.content)
        return Memory(
            user=self.space.user,
            kind=Kind.EPISODIC,
            text=message.content,
            id=episodic_memory_id(message.id),
            created_at=message.created_at,
            updated_at=message.created_at,
            valid_from=message.created_at,
            importance=0.3,
            origin=origin,
            sources=[message.id],
            speaker=speaker_label(str(message.role), message.speaker),
            conversation_id=message.conversation_id,
            context=context,
        )

    def _previous_messages(self, messages: Sequence[Message]) -> dict[str, Message]:
        """The message each one answered: the one before it in its conversation, from this batch or the log."""
        space = self.space
        previous: dict[str, Message] = {}
        last_in: dict[str, Message] = {}
        missing: set[str] = set()
        for message in messages:
            before = last_in.get(message.conversation_id)
            if before is not None:
                previous[message.id] = before
            else:
                missing.add(message.conversation_id)
            last_in[message.conversation_id] = message
        for conversation_id in missing:
            first = next(m for m in messages if m.conversation_id == conversation_id)
            logged = space.store.rows(
                MESSAGES,
                space.owner & eq("conversation_id", conversation_id) & le("created_at", first.created_at),
                columns=["id", "owner", "role", "content", "conversation_id", "speaker", "created_at"],
            )
            logged = [row for row in logged if row["id"] != first.id]
            if logged:
                row = max(logged, key=lambda r: (r["created_at"], r["id"]))
                previous[first.id] = row_to_message(row)
        return previous

    def messages_by_id(self, message_ids: Sequence[str]) -> dict[str, Message]:
        if not message_ids:
            return {}
        found = self.space.store.messages(self.space.owner & is_in("id", list(message_ids)))
        return {message.id: message for message in found}

    def _touch_conversations(
        self, messages: Sequence[Message], titles: Mapping[str, str], redacted: Counter[str] | None
    ) -> None:
        space = self.space
        spans: dict[str, tuple[datetime, datetime, Message]] = {}
        for message in messages:
            first, last, opener = spans.get(message.conversation_id, (message.created_at, message.created_at, message))
            if message.created_at < first:
                first, opener = message.created_at, message
            spans[message.conversation_id] = (first, max(last, message.created_at), opener)
        existing = {c.id: c for c in space.store.conversations(space.owner & is_in("id", spans))}
        rows = []
        for conversation_id, (first, last, opener) in spans.items():
            known = existing.get(conversation_id)
            given = titles.get(conversation_id)
            title = (
                known.title if known else redacted_text(given, redacted)[:200] if given else title_from(opener.content)
            )
            rows.append(
                {
                    "id": conversation_id,
                    "owner": space.user,
                    "title": title,
                    "created_at": min(first, known.created_at) if known else first,
                    "updated_at": max(last, known.updated_at) if known else last,
                }
            )
        space.store.upsert(CONVERSATIONS, rows)


def _persons_words(message: Message) -> bool:
    """Said by a person: the user, or someone named in an imported conversation; not the model."""
    return message.role != Role.ASSISTANT or bool(message.speaker and message.speaker != str(Role.ASSISTANT))


def _reply_between_people(message: Message, reply: Message) -> bool:
    """`reply` is one person answering another. Two messages in a row from the same person are
    often on different subjects (the synthetic set's planted facts: blending them lost 10 points
    of R@5), and the model's words are never blended in."""
    return (
        _persons_words(message)
        and _persons_words(reply)
        and speaker_label(str(message.role), message.speaker) != speaker_label(str(reply.role), reply.speaker)
    )


def restored_episode_vectors(memories: Sequence[Memory], vectors: np.ndarray) -> np.ndarray:
    """The vectors `store_messages` gives these memories, rebuilt from their own plain `vectors`.

    For an export restored under another embedder: its vectors cannot be used, and its messages
    are linked only by the quote each episode keeps of the one before it (`context`), so each
    episode is blended as it was when stored: with the message it answered (CONTEXT_VECTOR_WEIGHT)
    and, between people, with the reply it got (REPLY_VECTOR_WEIGHT). Other memories keep
    their plain vector.
    """
    blended = vectors.copy()
    quoted: dict[tuple[str, str], int] = {}
    for index, memory in enumerate(memories):
        if memory.kind == Kind.EPISODIC and memory.conversation_id:
            quoted.setdefault((memory.conversation_id, quote(memory.speaker, memory.text)), index)
    for index, memory in enumerate(memories):
        if memory.kind != Kind.EPISODIC or not memory.conversation_id or not memory.context:
            continue
        before = quoted.get((memory.conversation_id, memory.context))
        if before is None or before == index:
            continue
        blended[index] += CONTEXT_VECTOR_WEIGHT * vectors[before]
        answered = memories[before]
        people = {answered.speaker, memory.speaker}
        if str(Role.ASSISTANT) not in people and len(people) == 2:
            blended[before] += REPLY_VECTOR_WEIGHT * vectors[index]
    return normalize_rows(blended)
