"""The memory engine calls the TUI makes, in one place.

All of these block (they read or write the store, and search embeds the query): call them
from thread workers (`AssistantApp.call_core`). Engine modules are imported inside the
functions, which only run after warm-up has loaded them anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.memory.types import AuditEntry, Kind, Memory, Message, Origin, Status

SORTS = {
    "recency": lambda memory: (memory.updated_at or memory.created_at).timestamp(),
    "strength": lambda memory: memory.strength,
    "use": lambda memory: memory.access_count,
}
SEARCH_LIMIT = 200


@dataclass
class MemoryRow:
    memory: Memory
    score: float | None = None


@dataclass
class MemoryDetail:
    memory: Memory
    sources: list[Message] = field(default_factory=list)
    history: list[AuditEntry] = field(default_factory=list)


# What the status bar counts as memories: not the raw message log.
COUNTED_KINDS = (Kind.SEMANTIC, Kind.PREFERENCE, Kind.PROCEDURAL, Kind.SUMMARY)
NOT_MESSAGES = "-episodic"


def count_memories(assistant: Any) -> int:
    return len(assistant.engine.list(kinds=list(COUNTED_KINDS), statuses=[Status.ACTIVE]))


def find_memories(
    assistant: Any, query: str = "", *, kind: str | None = None, status: str | None = "active", sort: str = "relevance"
) -> list[MemoryRow]:
    """The memory table's rows: recall results for `query` (best first), or every memory matching the filters."""
    engine = assistant.engine
    kinds = list(COUNTED_KINDS) if kind == NOT_MESSAGES else [Kind(kind)] if kind else None
    statuses = [Status(status)] if status else None
    if query.strip():
        from assistant.memory.recall import RecallFilter

        filters = RecallFilter(kinds=tuple(kinds) if kinds else None, statuses=tuple(statuses or Status))
        hits = engine.search(query.strip(), k=SEARCH_LIMIT, filters=filters, reinforce=False)
        rows = [MemoryRow(hit.memory, hit.score) for hit in hits]
    else:
        rows = [MemoryRow(memory) for memory in engine.list(kinds=kinds, statuses=statuses)]
    if sort in SORTS and not (sort == "relevance" and query.strip()):
        rows.sort(key=lambda row: SORTS[sort](row.memory), reverse=True)
    elif sort == "relevance" and not query.strip():
        rows.sort(key=lambda row: SORTS["recency"](row.memory), reverse=True)
    return rows


def memory_detail(assistant: Any, memory_id: str) -> MemoryDetail | None:
    engine = assistant.engine
    memory = engine.get(memory_id)
    if memory is None:
        return None
    history = sorted(engine.audit(memory_id), key=lambda entry: entry.at)
    return MemoryDetail(memory, engine.sources_of(memory), history)


def edit_memory(assistant: Any, memory_id: str, text: str) -> Memory:
    return assistant.engine.update(memory_id, text=text, reason="edited in the memory panel")


def set_pinned(assistant: Any, memory_id: str, pinned: bool) -> Memory:
    engine = assistant.engine
    return engine.pin(memory_id) if pinned else engine.unpin(memory_id)


def set_archived(assistant: Any, memory_id: str, archived: bool) -> Memory:
    engine = assistant.engine
    return engine.archive(memory_id) if archived else engine.restore(memory_id)


def forget_memory(assistant: Any, memory_id: str) -> int:
    return int(assistant.engine.forget([memory_id], reason="forgotten in the memory panel"))


def forget_everything(assistant: Any) -> None:
    assistant.engine.forget_all(reason="the user chose forget everything in the memory panel")


def export_space(assistant: Any, path: Path) -> dict[str, int]:
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return dict(assistant.engine.export(path))


def profile_memories(assistant: Any) -> list[Memory]:
    """What the core always puts in context about the user: preferences, pinned and key facts."""
    return list(assistant.profile_memories())


def profile_text(assistant: Any) -> str:
    return "\n".join(memory.text for memory in profile_memories(assistant))


def save_profile(assistant: Any, text: str) -> tuple[int, int]:
    """One entry per line: new lines become preferences, removed lines are archived. Returns (added, removed)."""
    return _save_lines(assistant, text, profile_memories(assistant), Kind.PREFERENCE, "profile")


def active_rules(assistant: Any) -> list[Memory]:
    rules = assistant.engine.list(kinds=[Kind.PROCEDURAL], statuses=[Status.ACTIVE])
    return sorted(rules, key=lambda rule: rule.created_at)


def rules_text(assistant: Any) -> str:
    return "\n".join(rule.text for rule in active_rules(assistant))


def save_rules(assistant: Any, text: str) -> tuple[int, int]:
    """One rule per line: new lines are added, removed lines archived. Returns (added, removed)."""
    return _save_lines(assistant, text, active_rules(assistant), Kind.PROCEDURAL, "rule")


def _save_lines(assistant: Any, text: str, current: list[Memory], kind: Kind, what: str) -> tuple[int, int]:
    engine = assistant.engine
    wanted = [line.strip() for line in text.splitlines() if line.strip()]
    current_texts = {memory.text for memory in current}
    removed = [memory for memory in current if memory.text not in wanted]
    added = [line for line in dict.fromkeys(wanted) if line not in current_texts]
    for memory in removed:
        engine.archive(memory.id, reason=f"{what} removed in the memory panel")
    for line in added:
        engine.add(line, kind=kind, origin=Origin.EXPLICIT, reason=f"{what} added in the memory panel")
    return len(added), len(removed)


def memories_by_id(assistant: Any, memory_ids: list[str]) -> list[Memory]:
    engine = assistant.engine
    found = [engine.get(memory_id) for memory_id in memory_ids]
    return [memory for memory in found if memory is not None]
