"""A small in-memory Assistant with the core's API, for fast widget tests and snapshots.

It is deterministic: replies are scripted, time is fixed, ids count up. The real-path
tests in this folder drive the real core instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from assistant.config import Settings
from assistant.context import ContextTrace, TraceMemory, TraceSection
from assistant.errors import ModelError
from assistant.memory.types import AuditEntry, Conversation, Kind, Memory, Message, Origin, Role, Status

FIXED_NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


@dataclass
class FakeStats:
    tokens_per_second: float = 42.0


@dataclass
class FakeTurn:
    conversation_id: str
    user_message_id: str
    assistant_message_id: str
    reply: str
    trace: ContextTrace
    stats: FakeStats = field(default_factory=FakeStats)
    notices: list[str] = field(default_factory=list)


@dataclass
class FakeLearnReport:
    saved: list[Memory] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    error: str | None = None


class Counter:
    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()

    def next(self, prefix: str) -> str:
        with self.lock:
            self.value += 1
            return f"{prefix}{self.value:04d}"


class FakeEngine:
    def __init__(self, user: str, ids: Counter) -> None:
        self.user = user
        self.ids = ids
        self.memories: dict[str, Memory] = {}
        self.audit: list[AuditEntry] = []
        self.profile_text = "Name: Sam\nPrefers short answers."

    def add(
        self,
        text: str,
        *,
        kind: Kind = Kind.SEMANTIC,
        key: str | None = None,
        sources: list[str] | None = None,
        origin: Origin = Origin.EXPLICIT,
        pinned: bool = False,
        when: datetime = FIXED_NOW,
    ) -> Memory:
        memory = Memory(
            user=self.user,
            kind=kind,
            text=text,
            key=key,
            id=self.ids.next("mem"),
            created_at=when,
            updated_at=when,
            origin=origin,
            sources=list(sources or []),
            pinned=pinned,
        )
        self.memories[memory.id] = memory
        self._audit(memory.id, "add", "remembered")
        return memory

    def _audit(self, memory_id: str, action: str, reason: str) -> None:
        self.audit.append(
            AuditEntry(
                user=self.user, memory_id=memory_id, action=action, reason=reason, id=self.ids.next("aud"), at=FIXED_NOW
            )
        )

    def list(self, *, kind: str | None = None, status: str | None = None) -> list[Memory]:
        return [
            m
            for m in self.memories.values()
            if (kind is None or m.kind == kind) and (status is None or m.status == status)
        ]

    def count(self) -> int:
        return sum(1 for m in self.memories.values() if m.status == Status.ACTIVE)

    def search(self, query: str, *, kind: str | None = None, status: str | None = None) -> list[tuple[Memory, float]]:
        words = {w.lower() for w in query.split()}
        hits = []
        for memory in self.list(kind=kind, status=status):
            overlap = len(words & {w.lower().strip(".,") for w in memory.text.split()})
            if overlap:
                hits.append((memory, overlap / len(words)))
        return sorted(hits, key=lambda hit: -hit[1])

    def get(self, memory_id: str) -> Memory | None:
        return self.memories.get(memory_id)

    def edit(self, memory_id: str, text: str) -> None:
        self.memories[memory_id].text = text
        self._audit(memory_id, "update", "edited by the user")

    def set_pinned(self, memory_id: str, pinned: bool) -> None:
        self.memories[memory_id].pinned = pinned
        self._audit(memory_id, "pin" if pinned else "unpin", "by the user")

    def set_status(self, memory_id: str, status: Status, action: str) -> None:
        self.memories[memory_id].status = status
        self._audit(memory_id, action, "by the user")

    def forget(self, memory_id: str) -> None:
        del self.memories[memory_id]

    def forget_all(self) -> None:
        self.memories.clear()
        self.audit.clear()

    def audit_for(self, memory_id: str) -> list[AuditEntry]:
        return [entry for entry in self.audit if entry.memory_id == memory_id]


class FakeAssistant:
    """Scripted replies; `reply_gate` lets a test hold the stream between chunks."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        fail_warm_up: str | None = None,
        warm_up_gate: threading.Event | None = None,
        chunk_delay: float = 0.0,
    ) -> None:
        self.settings = settings or Settings()
        self.user = self.settings.user
        self.ids = Counter()
        self.engine = FakeEngine(self.user, self.ids)
        self.fail_warm_up = fail_warm_up
        self.warm_up_gate = warm_up_gate
        self.chunk_delay = chunk_delay
        self.reply_gate: threading.Event | None = None
        self.conversations: dict[str, Conversation] = {}
        self.messages: dict[str, list[Message]] = {}
        self.traces: dict[str, ContextTrace] = {}
        self.last_turn: FakeTurn | None = None
        self.received: list[str] = []
        self.warmed = False

    def warm_up(self) -> None:
        if self.warm_up_gate is not None:
            self.warm_up_gate.wait(10)
        if self.fail_warm_up:
            raise ModelError(self.fail_warm_up)
        self.warmed = True

    def new_conversation(self) -> Conversation:
        created = FIXED_NOW + timedelta(minutes=len(self.conversations))
        conversation = Conversation(user=self.user, id=self.ids.next("conv"), created_at=created, updated_at=created)
        self.conversations[conversation.id] = conversation
        self.messages[conversation.id] = []
        return conversation

    def list_conversations(self) -> list[Conversation]:
        return sorted(self.conversations.values(), key=lambda c: c.updated_at, reverse=True)

    def rename_conversation(self, conversation_id: str, title: str) -> None:
        self.conversations[conversation_id].title = title

    def delete_conversation(self, conversation_id: str) -> None:
        del self.conversations[conversation_id]
        del self.messages[conversation_id]

    def conversation_messages(self, conversation_id: str) -> list[Message]:
        return list(self.messages[conversation_id])

    def trace_for(self, assistant_message_id: str) -> ContextTrace | None:
        return self.traces.get(assistant_message_id)

    def reply_for(self, text: str) -> str:
        if text.lower().startswith("remember that"):
            return "Got it, I'll remember that."
        return f"You said: **{text}**\n\n- one\n- two\n"

    def stream_reply(
        self,
        text: str,
        *,
        conversation_id: str | None = None,
        cancel: threading.Event | None = None,
        use_memory: bool | None = None,
        incognito: bool = False,
    ) -> Iterator[str]:
        self.received.append(text)
        if conversation_id is None:
            conversation = self.new_conversation()
            conversation.title = text[:40]
            conversation_id = conversation.id
        user_message = Message(
            user=self.user,
            role=Role.USER,
            content=text,
            conversation_id=conversation_id,
            id=self.ids.next("msg"),
            created_at=FIXED_NOW,
        )
        reply = self.reply_for(text)
        pieces: list[str] = []
        for word in reply.split(" "):
            if cancel is not None and cancel.is_set():
                break
            if self.reply_gate is not None:
                self.reply_gate.wait(10)
            elif self.chunk_delay:
                threading.Event().wait(self.chunk_delay)
            piece = word if not pieces else " " + word
            pieces.append(piece)
            yield piece
        reply_message = Message(
            user=self.user,
            role=Role.ASSISTANT,
            content="".join(pieces),
            conversation_id=conversation_id,
            id=self.ids.next("msg"),
            created_at=FIXED_NOW,
        )
        self.messages[conversation_id].extend([user_message, reply_message])
        used = [m for m in self.engine.list(status=Status.ACTIVE)][:3]
        trace = ContextTrace(
            sections=[
                TraceSection("system", "You are a helpful, private assistant.", 9),
                TraceSection("profile & rules", self.engine.profile_text, 8),
                TraceSection("relevant facts", "\n".join(m.text for m in used), 5 * len(used)),
                TraceSection("user message", text, len(text.split())),
            ],
            memories=[
                TraceMemory(m.id, str(m.kind), m.text, 0.9 - 0.1 * i, "relevant facts") for i, m in enumerate(used)
            ],
            total_tokens=40,
            budget=3000,
        )
        self.traces[reply_message.id] = trace
        self.last_turn = FakeTurn(conversation_id, user_message.id, reply_message.id, "".join(pieces), trace)

    def learn(self, turn: FakeTurn) -> FakeLearnReport:
        user_text = self.messages[turn.conversation_id][-2].content
        if user_text.lower().startswith("remember that "):
            fact = user_text[len("remember that ") :].strip().rstrip(".")
            memory = self.engine.add(f"User: {fact}", sources=[turn.user_message_id])
            return FakeLearnReport(saved=[memory])
        return FakeLearnReport()

    def undo_learned(self, memory_ids: list[str]) -> None:
        for memory_id in memory_ids:
            self.engine.forget(memory_id)

    def export_to(self, path: Path) -> Path:
        path.write_text("\n".join(m.text for m in self.engine.memories.values()), encoding="utf-8")
        return path


def seeded_assistant(settings: Settings | None = None) -> FakeAssistant:
    """A fake with a few memories of each kind and one past conversation."""
    assistant = FakeAssistant(settings)
    engine = assistant.engine
    conversation = assistant.new_conversation()
    conversation.title = "Trip planning"
    first = Message(
        user=assistant.user,
        role=Role.USER,
        content="I live in Lisbon and I'm allergic to shellfish.",
        conversation_id=conversation.id,
        id="msg-seed-1",
        created_at=FIXED_NOW - timedelta(days=3),
    )
    answer = Message(
        user=assistant.user,
        role=Role.ASSISTANT,
        content="Noted: Lisbon, and no shellfish.",
        conversation_id=conversation.id,
        id="msg-seed-2",
        created_at=FIXED_NOW - timedelta(days=3),
    )
    assistant.messages[conversation.id] = [first, answer]
    engine.add("User lives in Lisbon", key="user.home", sources=[first.id], origin=Origin.EXTRACTED)
    engine.add("User is allergic to shellfish", key="user.allergy.shellfish", sources=[first.id], pinned=True)
    engine.add("User prefers short answers", kind=Kind.PREFERENCE, key="user.preference.length")
    engine.add("Always ask before booking anything", kind=Kind.PROCEDURAL)
    old = engine.add("User lives in Porto", key="user.home", when=FIXED_NOW - timedelta(days=400))
    engine.set_status(old.id, Status.SUPERSEDED, "supersede")
    return assistant
