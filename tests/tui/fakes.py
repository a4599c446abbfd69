"""A small in-memory core behind the front-end protocol, for fast widget tests and snapshots.

`FakeAssistant` implements `assistant.application.protocol.FrontendCore` (test_protocol.py
checks it keeps the same members and signatures as the protocol). It is deterministic:
replies are scripted, time is fixed, ids count up. The real-path tests in this folder
drive the real core instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from assistant.application.context import ContextTrace, TraceMemory, TraceSection
from assistant.application.views import (
    NOT_MESSAGES,
    JobStatus,
    LearningResult,
    MemoryDetail,
    MemoryRow,
    TextChanges,
    order_rows,
)
from assistant.config import Settings
from assistant.errors import ModelError
from assistant.memory.types import AuditEntry, Conversation, Kind, Memory, Message, Origin, RecallHit, Role, Status

FIXED_NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
COUNTED_KINDS = (Kind.SEMANTIC, Kind.PREFERENCE, Kind.PROCEDURAL, Kind.SUMMARY)


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
    saved_ids: list[str] = field(default_factory=list)
    is_command: bool = False


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


class FakeScheduler:
    """The scheduler's protocol in miniature: learning queued here runs in its own thread, one turn at a time.

    Like the real one it calls the core's learn() per job, retries a preempted one (learn()
    returned None) until it is closed, reports through the same callbacks, and leaves what it
    has not finished when closed (this one forgets it: nothing is persisted). Maintenance is
    only counted.
    """

    def __init__(
        self,
        assistant: FakeAssistant,
        on_progress: Callable[[JobStatus], None],
        on_stated: Callable[[LearningResult], None] | None,
        on_learned: Callable[[LearningResult], None] | None,
    ) -> None:
        self.assistant = assistant
        self.on_progress = on_progress
        self.on_stated = on_stated
        self.on_learned = on_learned
        self.started = False
        self.stopped = False
        self.requested = 0
        self.status = JobStatus()
        self._queue: list[tuple[str, FakeTurn]] = []
        self._busy = False
        self._changed = threading.Condition()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while its thread lives (it may be inside a learn() call)."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self.started = True
        self._thread = threading.Thread(target=self._run, name="fake-jobs", daemon=True)
        self._thread.start()

    def close(self, timeout: float | None = 30.0) -> None:
        self.stopped = True
        self._closing.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def queue_learning(self, turn: FakeTurn) -> str:
        job = self.assistant.ids.next("job")
        with self._changed:
            self._queue.append((job, turn))
            self._changed.notify_all()
        return job

    def request_maintenance(self) -> None:
        self.requested += 1

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: not self._queue and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._queue or self._closing.is_set())
                if self._closing.is_set():
                    return
                job, turn = self._queue[0]
                self._busy = True
            try:
                finished = self._learn(job, turn)
            finally:
                with self._changed:
                    if finished:
                        self._queue.pop(0)
                    self._busy = False
                    self._changed.notify_all()
            if not finished:
                return  # closed during a preempted job: it stays queued

    def _learn(self, job: str, turn: FakeTurn) -> bool:
        self.on_progress(JobStatus(job="extract", total=1))
        saved: list[str] = []

        def stated(report: FakeLearnReport) -> None:
            saved.extend(memory.id for memory in report.saved)
            if self.on_stated is not None:
                self.on_stated(LearningResult(job, turn, report, final=False, saved_ids=tuple(saved)))  # type: ignore[arg-type]

        while (report := self.assistant.learn(turn, on_stated=stated)) is None:
            if self._closing.wait(0.02):
                self.on_progress(JobStatus())
                return False
        saved.extend(memory.id for memory in report.saved)
        if self.on_learned is not None:
            self.on_learned(LearningResult(job, turn, report, final=True, saved_ids=tuple(saved)))  # type: ignore[arg-type]
        self.on_progress(JobStatus())
        return True


class FakeEngine:
    """In-memory memories, messages and audit log, in the spirit of assistant.memory.engine.MemoryEngine."""

    def __init__(self, user: str, ids: Counter) -> None:
        self.user = user
        self.ids = ids
        self.memories: dict[str, Memory] = {}
        self.audit_log: list[AuditEntry] = []
        self.messages: dict[str, Message] = {}
        self.exported_to: Path | None = None

    def _audit(self, memory_id: str, action: str, reason: str) -> None:
        self.audit_log.append(
            AuditEntry(
                user=self.user, memory_id=memory_id, action=action, reason=reason, id=self.ids.next("aud"), at=FIXED_NOW
            )
        )

    def add(
        self,
        text: str,
        *,
        kind: Kind = Kind.SEMANTIC,
        key: str | None = None,
        importance: float = 0.5,
        pinned: bool = False,
        origin: Origin = Origin.EXPLICIT,
        sources: Sequence[str] = (),
        reason: str = "added by the user",
        valid_from: datetime | None = None,
    ) -> Memory:
        when = valid_from or FIXED_NOW
        memory = Memory(
            user=self.user,
            kind=kind,
            text=text,
            key=key,
            id=self.ids.next("mem"),
            created_at=when,
            updated_at=when,
            origin=origin,
            sources=list(sources),
            pinned=pinned,
            importance=importance,
        )
        self.memories[memory.id] = memory
        self._audit(memory.id, "add", reason)
        return memory

    def get(self, memory_id: str) -> Memory | None:
        return self.memories.get(memory_id)

    def list(
        self, *, kinds: Iterable[Kind] | None = None, statuses: Iterable[Status] | None = None, limit: int | None = None
    ) -> list[Memory]:
        kinds = set(kinds) if kinds else None
        statuses = set(statuses) if statuses else None
        found = [
            m
            for m in self.memories.values()
            if (kinds is None or m.kind in kinds) and (statuses is None or m.status in statuses)
        ]
        found.sort(key=lambda m: (m.created_at, m.id), reverse=True)
        return found[:limit] if limit is not None else found

    def search(
        self, query: str, *, k: int | None = None, kinds: Iterable[Kind] | None = None, statuses: Iterable[Status] = ()
    ) -> list[RecallHit]:
        words = {w.lower().strip(".,?") for w in query.split()}
        hits = []
        for memory in self.list(kinds=kinds, statuses=statuses):
            overlap = len(words & {w.lower().strip(".,") for w in memory.text.split()})
            if overlap:
                hits.append(RecallHit(memory, overlap / len(words)))
        hits.sort(key=lambda hit: -hit.score)
        return hits[: k or 8]

    def sources_of(self, memory: Memory) -> list[Message]:
        return [self.messages[i] for i in memory.sources if i in self.messages]

    def audit(self, memory_id: str | None = None) -> list[AuditEntry]:
        return [e for e in self.audit_log if memory_id is None or e.memory_id == memory_id]

    def _set(self, memory_id: str, action: str, reason: str, **values: Any) -> Memory:
        memory = self.memories[memory_id]
        for name, value in values.items():
            setattr(memory, name, value)
        self._audit(memory_id, action, reason)
        return memory

    def update(
        self, memory_id: str, *, text: str | None = None, reason: str = "edited by the user", **_: Any
    ) -> Memory:
        return self._set(memory_id, "update", reason, text=text)

    def archive(self, memory_id: str, *, reason: str = "archived by the user") -> Memory:
        return self._set(memory_id, "archive", reason, status=Status.ARCHIVED)

    def restore(self, memory_id: str, *, reason: str = "restored by the user") -> Memory:
        return self._set(memory_id, "restore", reason, status=Status.ACTIVE)

    def pin(self, memory_id: str, *, reason: str = "pinned by the user") -> Memory:
        return self._set(memory_id, "pin", reason, pinned=True)

    def unpin(self, memory_id: str, *, reason: str = "unpinned by the user") -> Memory:
        return self._set(memory_id, "unpin", reason, pinned=False)

    def forget(self, memory_ids: Sequence[str], *, reason: str = "forgotten") -> int:
        for memory_id in memory_ids:
            del self.memories[memory_id]
        self.audit_log = [e for e in self.audit_log if e.memory_id not in memory_ids]
        return len(memory_ids)

    def forget_all(self, *, reason: str = "the user deleted everything") -> None:
        self.memories.clear()
        self.audit_log.clear()
        self.messages.clear()

    def export(self, path: Path) -> dict[str, int]:
        path.write_text("\n".join(m.text for m in self.memories.values()), encoding="utf-8")
        self.exported_to = path
        return {"memories": len(self.memories)}


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
        self.closed = False
        self.schedulers: list[FakeScheduler] = []

    # -- lifecycle -----------------------------------------------------------------------

    def warm_up(self) -> None:
        if self.warm_up_gate is not None:
            self.warm_up_gate.wait(10)
        if self.fail_warm_up:
            raise ModelError(self.fail_warm_up)
        self.warmed = True

    def cancel_background(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def maintenance_jobs(
        self,
        on_progress: Callable[[JobStatus], None],
        *,
        on_stated: Callable[[LearningResult], None] | None = None,
        on_learned: Callable[[LearningResult], None] | None = None,
    ) -> FakeScheduler | None:
        self.schedulers.append(FakeScheduler(self, on_progress, on_stated, on_learned))
        return self.schedulers[-1]

    # -- conversations and chat ----------------------------------------------------------

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
        self.engine.messages.update({user_message.id: user_message, reply_message.id: reply_message})
        used = [m for m in self.engine.list(statuses=[Status.ACTIVE])][:3]
        trace = ContextTrace(
            sections=[
                TraceSection("system", "You are a helpful, private assistant.", 9),
                TraceSection("profile & rules", "name: Sam", 8),
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

    # -- learning ------------------------------------------------------------------------

    def learn(self, turn: FakeTurn, *, on_stated: Callable[[Any], None] | None = None) -> FakeLearnReport | None:
        user_text = self.messages[turn.conversation_id][-2].content
        if user_text.lower().startswith("remember that "):
            fact = user_text[len("remember that ") :].strip().rstrip(".")
            memory = self.engine.add(f"User: {fact}", sources=[turn.user_message_id])
            return FakeLearnReport(saved=[memory])
        return FakeLearnReport()

    def undo_learned(self, memory_ids: list[str]) -> None:
        for memory_id in memory_ids:
            self.engine.forget([memory_id])

    def tidy(self) -> None:
        pass

    # -- the memory panel ----------------------------------------------------------------

    def count_memories(self) -> int:
        return len(self.engine.list(kinds=COUNTED_KINDS, statuses=[Status.ACTIVE]))

    def find_memories(
        self, query: str = "", *, kind: str | None = None, status: str | None = "active", sort: str = "relevance"
    ) -> list[MemoryRow]:
        kinds = list(COUNTED_KINDS) if kind == NOT_MESSAGES else [Kind(kind)] if kind else None
        statuses = [Status(status)] if status else list(Status)
        query = query.strip()
        if query:
            hits = self.engine.search(query, k=200, kinds=kinds, statuses=statuses)
            rows = [MemoryRow(hit.memory, hit.score) for hit in hits]
        else:
            rows = [MemoryRow(memory) for memory in self.engine.list(kinds=kinds, statuses=statuses)]
        return order_rows(rows, sort, searched=bool(query))

    def memory_detail(self, memory_id: str) -> MemoryDetail | None:
        memory = self.engine.get(memory_id)
        if memory is None:
            return None
        return MemoryDetail(memory, self.engine.sources_of(memory), self.engine.audit(memory_id))

    def memories_by_id(self, memory_ids: list[str]) -> list[Memory]:
        return [self.engine.memories[i] for i in memory_ids if i in self.engine.memories]

    def edit_memory(self, memory_id: str, text: str) -> Memory:
        return self.engine.update(memory_id, text=text)

    def pin_memory(self, memory_id: str) -> Memory:
        return self.engine.pin(memory_id)

    def unpin_memory(self, memory_id: str) -> Memory:
        return self.engine.unpin(memory_id)

    def archive_memory(self, memory_id: str) -> Memory:
        return self.engine.archive(memory_id)

    def restore_memory(self, memory_id: str) -> Memory:
        return self.engine.restore(memory_id)

    def forget_memory(self, memory_id: str) -> int:
        return self.engine.forget([memory_id])

    def forget_everything(self) -> None:
        self.engine.forget_all()

    def export_memories(self, path: Path) -> dict[str, int]:
        path.parent.mkdir(parents=True, exist_ok=True)
        return self.engine.export(path)

    def profile_memories(self) -> list[Memory]:
        active = self.engine.list(kinds=[Kind.PREFERENCE, Kind.SEMANTIC], statuses=[Status.ACTIVE])
        return sorted([m for m in active if m.kind == Kind.PREFERENCE or m.pinned], key=lambda m: m.created_at)

    def profile_text(self) -> str:
        return "\n".join(m.text for m in self.profile_memories())

    def save_profile(self, text: str) -> TextChanges:
        return self._save_lines(text, self.profile_memories(), Kind.PREFERENCE)

    def rules_text(self) -> str:
        return "\n".join(m.text for m in self._rules())

    def save_rules(self, text: str) -> TextChanges:
        return self._save_lines(text, self._rules(), Kind.PROCEDURAL)

    def _rules(self) -> list[Memory]:
        return sorted(self.engine.list(kinds=[Kind.PROCEDURAL], statuses=[Status.ACTIVE]), key=lambda m: m.created_at)

    def _save_lines(self, text: str, current: list[Memory], kind: Kind) -> TextChanges:
        wanted = [line.strip() for line in text.splitlines() if line.strip()]
        removed = [m for m in current if m.text not in wanted]
        added = [line for line in dict.fromkeys(wanted) if line not in {m.text for m in current}]
        for memory in removed:
            self.engine.archive(memory.id)
        for line in added:
            self.engine.add(line, kind=kind)
        return TextChanges(len(added), len(removed))


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
    engine.messages.update({first.id: first, answer.id: answer})
    engine.add("User lives in Lisbon", key="user.home", sources=[first.id], origin=Origin.EXTRACTED)
    engine.add("User is allergic to shellfish", key="user.allergy.shellfish", sources=[first.id], pinned=True)
    engine.add("User prefers short answers", kind=Kind.PREFERENCE, key="user.preference.length")
    engine.add("Always ask before booking anything", kind=Kind.PROCEDURAL)
    old = engine.add("User lives in Porto", key="user.home", valid_from=FIXED_NOW - timedelta(days=400))
    engine._set(old.id, "supersede", "a newer fact replaced it", status=Status.SUPERSEDED)
    return assistant
