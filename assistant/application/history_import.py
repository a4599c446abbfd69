"""Importing a ChatGPT or Claude data export, and learning from what the user said in it.

Two steps, each resumable:

1. **Import**: the export's conversations are streamed (memory/exports/) and their messages
   logged in batches with their titles, times and ids, like any chat (secrets redacted where
   the log writes). Ids come from the export's own, so importing again adds nothing; before a
   batch is stored, its user messages are queued for learning (import_queue.py).
2. **Learn**: the queued messages, oldest first across every conversation, go through the
   same learning as chat (the rules and the safety net), each valid from when it was said, so
   a value the user gave later supersedes the earlier one with the right validity times.

The model's extraction is off for imports: years of history are thousands of messages, and
with the small local models a model pass per message would take hours for facts the rules
already find; the rules are deterministic and fast. A kill at any point loses nothing: the
next import (of the same export, or any other) continues where it stopped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.application.import_queue import ImportQueue, Queued
from assistant.application.learning_pass import learn_from_turn
from assistant.application.turn import Turn
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.llm.runner import ModelRunner
from assistant.memory.engine import MemoryEngine
from assistant.memory.exports import BadEntry, ExportSource, read_export
from assistant.memory.message_log import Carried
from assistant.memory.types import Message, Role

IMPORT_BATCH = 512
LEARN_BATCH = 200

# (stage, done, total): stage is "import" (bytes) or "learn" (messages).
Progress = Callable[[str, int, int], None]


@dataclass
class HistoryReport:
    sources: set[str] = field(default_factory=set)
    conversations: int = 0
    imported: int = 0
    already_present: int = 0
    bad: list[BadEntry] = field(default_factory=list)
    redacted: Counter[str] = field(default_factory=Counter)


@dataclass
class LearnSummary:
    messages: int = 0  # user messages learned from
    saved: int = 0
    superseded: int = 0
    errors: list[str] = field(default_factory=list)


def import_history(
    engine: MemoryEngine, source: ExportSource, queue: ImportQueue, *, progress: Progress | None = None
) -> HistoryReport:
    """Log every conversation of the export (idempotent) and queue the user's messages for learning."""
    report = HistoryReport()
    batch: list[Message] = []
    titles: dict[str, str] = {}
    carried: Carried = {}

    def flush() -> None:
        fresh = engine.unseen_messages(batch)
        report.already_present += len(batch) - len(fresh)
        if fresh:
            queue.add([Queued(m.created_at, m.id) for m in fresh if m.role == Role.USER])
            reason = "imported from a " + " and ".join(sorted(report.sources)) + " export"
            engine.store_imported(fresh, reason=reason, carried=carried, redacted=report.redacted, titles=titles)
            report.imported += len(fresh)
        batch.clear()
        if len(carried) > 4 * IMPORT_BATCH:
            for key in list(carried)[: len(carried) - IMPORT_BATCH]:
                del carried[key]

    def read(done: int, total: int) -> None:
        if progress is not None:
            progress("import", done, total)

    for conversation in read_export(source, report.bad, progress=read):
        report.conversations += 1
        report.sources.add(conversation.source)
        if conversation.title:
            titles[conversation.id] = conversation.title
        batch.extend(
            Message(engine.user, Role(m.role), m.content, conversation.id, id=m.id, created_at=m.created_at)
            for m in conversation.messages
        )
        if len(batch) >= IMPORT_BATCH:
            flush()
    if batch:
        flush()
    engine.ensure_indexes()
    return report


def _no_model() -> ModelRunner:
    raise AssistantError("imports learn with the rules only")


def learn_imported(
    engine: MemoryEngine, settings: Settings, queue: ImportQueue, *, progress: Progress | None = None
) -> LearnSummary:
    """Learn from every queued imported message, oldest first; safe to stop and run again."""
    summary = LearnSummary()
    pending = queue.pending()
    with queue.learning() as log:
        for start in range(0, len(pending), LEARN_BATCH):
            chunk = pending[start : start + LEARN_BATCH]
            found = engine.messages_by_id([item.id for item in chunk])
            for number, item in enumerate(chunk, start=start + 1):
                message = found.get(item.id)
                if message is not None:  # None: forgotten meanwhile, or queued by a batch a kill cut short
                    _learn_one(engine, settings, message, summary)
                log.mark(item.id)
                if progress is not None:
                    progress("learn", number, len(pending))
    if pending:
        engine.tidy()
    if not queue.pending():
        queue.clear()
    return summary


def _learn_one(engine: MemoryEngine, settings: Settings, message: Message, summary: LearnSummary) -> None:
    turn = Turn(
        conversation_id=message.conversation_id,
        user_text=message.content,
        user_message_id=message.id,
        at=message.created_at,
    )
    try:
        report = learn_from_turn(
            turn, engine=engine, runner=_no_model, settings=settings, use_model=False, from_history=True
        )
    except AssistantError as error:  # one bad message must not stop the history; it stays in the log
        summary.errors.append(f"message {message.id}: {error}")
        return
    summary.messages += 1
    summary.saved += len(report.saved)
    summary.superseded += len(report.superseded)
