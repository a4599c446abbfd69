"""What the MCP tools do, as plain methods on one user's memory service.

Kept apart from the protocol (`server.py`) so each tool's policy reads, and is tested, on
its own. Every method validates its input and raises `ToolInputError` with one line a
calling model can act on; nothing is changed when the input is bad.

The calling program is not the user: it may be an agent that read a hostile web page. So
what it asks to remember is learned like "remember that …" in chat, but it can never set a
rule (rules steer every reply; only the user sets them), and every change it makes is
written to the audit log as made through MCP.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from assistant.application.memory_service import REMEMBERED_KINDS, MemoryService
from assistant.memory.formats import iso, memory_json, memory_list_json
from assistant.memory.recall import RecallFilter
from assistant.memory.types import Kind, Memory, Status

MAX_QUERY_CHARS = 2_000
MAX_REMEMBER_CHARS = 4_000
MAX_RESULTS = 50
MAX_FORGET = 100
KINDS = tuple(str(kind) for kind in Kind)
STATUSES = tuple(str(status) for status in Status)
VIA = " (through MCP)"


class ToolInputError(ValueError):
    """A request the tool refuses, with the reason in one line."""


def _text(value: str, what: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ToolInputError(f"{what} is empty")
    if len(text) > limit:
        raise ToolInputError(f"{what} is {len(text):,} characters; the limit is {limit:,}")
    return text


def _count(value: int, what: str, limit: int) -> int:
    if not 1 <= value <= limit:
        raise ToolInputError(f"{what} must be between 1 and {limit}")
    return value


def _choice(value: str | None, what: str, choices: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    if value not in choices:
        raise ToolInputError(f"unknown {what} {value!r}; use one of: {', '.join(choices)}")
    return value


class MemoryTools:
    """The MCP tools of one memory space. Calls are serialised: the SDK runs each in a thread."""

    def __init__(self, open_service: Callable[[], MemoryService]) -> None:
        self._open_service = open_service
        self._service: MemoryService | None = None
        self._lock = threading.Lock()

    @contextmanager
    def _memories(self) -> Iterator[MemoryService]:
        with self._lock:
            if self._service is None:
                self._service = self._open_service()
            yield self._service

    def warm_up(self) -> None:
        """Open the store and load the embedder now, so the first call does not wait for them."""
        with self._memories():
            pass

    def close(self) -> None:
        with self._lock:
            if self._service is not None:
                self._service.engine.close()
                self._service = None

    # -- reading ------------------------------------------------------------------------------

    def search(self, query: str, k: int = 8, include_inactive: bool = False) -> list[dict[str, Any]]:
        query = _text(query, "the query", MAX_QUERY_CHARS)
        k = _count(k, "k", MAX_RESULTS)
        statuses = tuple(Status) if include_inactive else (Status.ACTIVE,)
        with self._memories() as memories:
            hits = memories.search(query, k=k, filters=RecallFilter(statuses=statuses))
        return [memory_json(hit.memory, hit.score) for hit in hits]

    def profile(self) -> dict[str, Any]:
        with self._memories() as memories:
            rules, profile = memories.standing()
        return {
            "profile": [_fact(memory) for memory in profile],
            "rules": [_fact(memory) for memory in rules],
        }

    def listing(self, kind: str | None = None, status: str | None = "active", limit: int = 50) -> list[dict[str, Any]]:
        kind = _choice(kind, "kind", KINDS)
        status = _choice(status, "status", STATUSES)
        limit = _count(limit, "limit", 500)
        kinds = [Kind(kind)] if kind else list(REMEMBERED_KINDS)
        statuses = [Status(status)] if status else None
        with self._memories() as memories:
            listed = memories.select(kinds=kinds, statuses=statuses, limit=limit)
        return [memory_list_json(memory) for memory in listed]

    def show(self, memory_id: str) -> dict[str, Any]:
        memory_id = _text(memory_id, "the memory id", 100)
        with self._memories() as memories:
            detail = memories.detail(memory_id)
        if detail is None:
            raise ToolInputError(f"no memory with id {memory_id!r}")
        return {
            **memory_list_json(detail.memory),
            "source_messages": [
                {"id": m.id, "role": str(m.role), "text": m.content, "at": iso(m.created_at)} for m in detail.sources
            ],
            "history": [{"action": e.action, "reason": e.reason, "at": iso(e.at)} for e in detail.history],
        }

    # -- changing -----------------------------------------------------------------------------

    def remember(self, text: str) -> dict[str, Any]:
        text = _text(text, "the text", MAX_REMEMBER_CHARS)
        with self._memories() as memories:
            result = memories.remember(text, rules_allowed=False, via=VIA)
        answer: dict[str, Any] = {
            "saved": [memory_json(memory) for memory in result.saved],
            "confirmed": [memory_json(memory) for memory in result.confirmed],
            "replaced": {new: [old.id for old in olds] for new, olds in result.replaced.items()},
        }
        if result.refused_rules:
            answer["not_saved"] = (
                "rules for the assistant are set only by the user, in the app or with "
                "`assistant memory add --kind procedural`: " + "; ".join(result.refused_rules)
            )
        elif not result.memories:
            answer["not_saved"] = "nothing to remember in it (a secret alone is never stored)"
        return answer

    def forget(self, memory_ids: list[str]) -> dict[str, Any]:
        """Forget for good, everywhere: the memories, the messages they came from, the replies to those."""
        ids = [str(memory_id).strip() for memory_id in memory_ids or [] if str(memory_id).strip()]
        if not ids:
            raise ToolInputError("no memory ids given")
        if len(ids) > MAX_FORGET:
            raise ToolInputError(f"at most {MAX_FORGET} memories at a time")
        with self._memories() as memories:
            found = memories.by_ids(ids)
            missing = sorted(set(ids) - {memory.id for memory in found})
            if missing:  # all or nothing: a typo must not leave the caller unsure what went
                raise ToolInputError(f"no memory with id {missing[0]!r}; nothing was forgotten")
            count = memories.forget_with_replies(found, reason="forgotten at the user's request" + VIA)
        return {"forgotten": count, "ids": [memory.id for memory in found]}


def _fact(memory: Memory) -> dict[str, Any]:
    return {"id": memory.id, "text": memory.text, "key": memory.key, "pinned": memory.pinned}
