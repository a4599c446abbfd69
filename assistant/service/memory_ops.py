"""Memory commands as text: what `assistant memory …` prints, computed in one place.

The CLI runs these in its own process when no service answers; the service runs the very
same functions on its warm memory service and sends the text back, so the two paths print
the same bytes by construction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.application.context import ContextTrace
    from assistant.application.memory_service import MemoryService
    from assistant.memory.recall import RecallFilter
    from assistant.memory.types import Memory, RecallHit

BATCH = 256


def json_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str) + "\n"


def one_line(memory: Memory) -> str:
    from assistant.memory.engine import display_text

    text = " ".join(display_text(memory).split())
    return text if len(text) <= 100 else text[:99] + "…"


def memory_text(memory: Memory, as_json: bool, suffix: str = "") -> str:
    from assistant.memory.engine import memory_list_json

    if as_json:
        return json_line(memory_list_json(memory))
    flags = ", pinned" if memory.pinned else ""
    return f"{memory.id}  [{memory.kind}, {memory.status}{flags}]  {one_line(memory)}{suffix}\n"


def search_filter(
    kinds: Sequence[str] | None, statuses: Sequence[str] | None, since: datetime | None, until: datetime | None
) -> RecallFilter:
    from assistant.memory.recall import RecallFilter
    from assistant.memory.types import Kind, Status

    return RecallFilter(
        kinds=tuple(Kind(kind) for kind in kinds) if kinds else None,
        statuses=tuple(Status(status) for status in statuses) if statuses else (Status.ACTIVE,),
        since=since,
        until=until,
    )


def hits_text(hits: list[RecallHit], as_json: bool) -> str:
    from assistant.memory.engine import memory_json

    if as_json:
        return json_line([memory_json(hit.memory, hit.score) for hit in hits])
    if not hits:
        return "no memories found\n"
    return "".join(f"{hit.score:.3f}  {hit.memory.id}  [{hit.memory.kind}]  {one_line(hit.memory)}\n" for hit in hits)


def search_text(memories: MemoryService, query: str, k: int | None, filters: RecallFilter, as_json: bool) -> str:
    return hits_text(memories.search(query, k=k, filters=filters), as_json)


def search_batch(
    memories: MemoryService, queries: Sequence[str], k: int | None, filters: RecallFilter, as_json: bool
) -> Iterator[str]:
    """One query per line: embedded together, answered in order (a blank line after each, in text).
    A blank line is answered with no hits, in its place: it asks for nothing."""
    for start in range(0, len(queries), BATCH):
        batch = queries[start : start + BATCH]
        asked = [query for query in batch if query.strip()]
        answers = iter(memories.search_many(asked, k=k, filters=filters) if asked else [])
        for query in batch:
            hits = next(answers) if query.strip() else []
            yield hits_text(hits, as_json) + ("" if as_json else "\n")


def list_text(
    memories: MemoryService,
    kinds: Sequence[str] | None,
    statuses: Sequence[str] | None,
    limit: int | None,
    as_json: bool,
) -> str:
    from assistant.memory.engine import memory_list_json
    from assistant.memory.types import Kind, Status

    listed = memories.select(
        kinds=[Kind(kind) for kind in kinds] if kinds else None,
        statuses=[Status(status) for status in statuses] if statuses else None,
        limit=limit,
    )
    if as_json:
        return json_line([memory_list_json(memory) for memory in listed])
    if not listed:
        return "no memories yet\n"
    lines = []
    for memory in listed:
        flags = ("📌 " if memory.pinned else "") + ("" if memory.status == "active" else f"({memory.status}) ")
        lines.append(f"{memory.id}  [{memory.kind}]  {flags}{one_line(memory)}\n")
    return "".join(lines)


def add_text(
    memories: MemoryService,
    text: str,
    *,
    raw: bool,
    kind: str | None,
    key: str | None,
    importance: float,
    pin: bool,
    reason: str,
    as_json: bool,
) -> str:
    """Learned like "remember that TEXT" (keys, the profile) unless the user says how to store it."""
    from assistant.memory.engine import memory_list_json
    from assistant.memory.types import Kind

    if raw or kind or key:
        memory = memories.add_raw(
            text, kind=Kind(kind or "semantic"), key=key, importance=importance, pinned=pin, reason=reason
        )
        return memory_text(memory, as_json)
    result = memories.remember(text)
    learned = result.memories
    if pin:
        learned = [memories.set_pinned(memory.id, True, reason=reason) for memory in learned]
    if as_json:
        return json_line([memory_list_json(memory) for memory in learned])
    if not learned:
        return "nothing saved: there was nothing left to remember once secrets were removed\n"
    confirmed = {m.id for m in result.confirmed}
    return "".join(memory_text(m, False, " (already known)" if m.id in confirmed else "") for m in learned)


def forget_text(memories: MemoryService, ids: Sequence[str], *, reason: str, with_sources: bool, as_json: bool) -> str:
    count = memories.forget(list(ids), reason=reason, with_sources=True if with_sources else None)
    if as_json:
        return json_line({"forgotten": count, "ids": list(ids)})
    return f"forgot {count} memor{'y' if count == 1 else 'ies'}\n"


def trace_text(trace: ContextTrace) -> str:
    """What `chat --show-context` prints: the prompt's sections and the memories it used."""
    lines = [f"--- context: {trace.total_tokens} of {trace.budget} prompt tokens ---"]
    for section in trace.sections:
        lines.append(f"[{section.name}] {section.tokens} tokens")
        lines += [f"    {line}" for line in section.text.splitlines() if line.strip()]
    if trace.memories:
        lines.append("[memories used]")
        lines += [f"    {m.score:.3f}  {m.kind:<10} {m.id[:12]}  {m.text}" for m in trace.memories]
    lines += [f"[note] {note}" for note in trace.notes]
    return "\n".join(lines)
