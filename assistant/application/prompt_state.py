"""What each conversation's prompt was built with, kept on disk so every process builds the same prompt.

A user message keeps the memory block it was sent with while it stays in the window (the
next prompt then extends the previous one verbatim and llama.cpp reuses its evaluated
prefix), and the system message keeps the profile it was built with. That state used to
live in one process: the TUI kept quoting a memory that `assistant memory forget` had just
deleted in another. Now it is a small owner-only JSON file per conversation holding ids,
scores and times only, never text (forgetting stays complete), and every turn re-renders
the blocks from the store: a memory that was forgotten, superseded or archived since drops
out of every process's next prompt, an edited one is quoted as it reads now.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant import locations
from assistant.application.context import ShownBlock, TraceMemory, render_memory_block
from assistant.memory.types import Memory, Status

STATE_VERSION = 1
BLOCK_SECTIONS = ("relevant facts", "past conversations")


@dataclass
class SentBlock:
    """The memories one user message was sent with: ids and scores, and the time they were dated by."""

    at: str  # ISO time the block's "3 days ago" was counted from
    memories: list[dict[str, Any]] = field(default_factory=list)  # {"id", "section", "score"}


@dataclass
class PromptState:
    """One conversation's prompt layout, as the last turn left it."""

    window_start_id: str | None = None
    profile_ids: list[str] | None = None
    blocks: dict[str, SentBlock] = field(default_factory=dict)  # by user message id

    def memory_ids(self) -> set[str]:
        return {item["id"] for block in self.blocks.values() for item in block.memories}


def safe_name(value: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in value)[:120] or "_"


class PromptStates:
    """The prompt states of one user's conversations, in the data dir."""

    def __init__(self, user: str, root: Path | None = None) -> None:
        self.folder = (root or locations.data_dir()) / "prompts" / safe_name(user)

    def _path(self, conversation_id: str) -> Path:
        return self.folder / f"{safe_name(conversation_id)}.json"

    def load(self, conversation_id: str) -> PromptState:
        path = self._path(conversation_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return PromptState()
        except (OSError, ValueError):
            return PromptState()  # a damaged state costs one cache miss, never the conversation
        if data.get("version") != STATE_VERSION:
            return PromptState()
        blocks = {
            message_id: SentBlock(str(block.get("at", "")), list(block.get("memories", [])))
            for message_id, block in data.get("blocks", {}).items()
        }
        profile = data.get("profile_ids")
        return PromptState(data.get("window_start_id"), list(profile) if profile is not None else None, blocks)

    def record(
        self,
        conversation_id: str,
        *,
        window_start_id: str | None,
        profile_ids: list[str] | None,
        message_id: str | None,
        block: ShownBlock | None,
        at: datetime,
        keep: set[str] | None = None,
    ) -> None:
        """Save what this turn's prompt was built with (merged under a lock: two processes may share a conversation).

        Blocks of messages outside `keep` (the window) are dropped: the window only moves
        forward, so they are never resent, and the state stays the size of one window.
        """
        with self._locked():
            state = self.load(conversation_id)
            state.window_start_id = window_start_id
            if profile_ids is not None:
                state.profile_ids = profile_ids
            kept = keep or set()
            state.blocks = {key: sent for key, sent in state.blocks.items() if key in kept}
            if message_id and block is not None:
                state.blocks[message_id] = SentBlock(
                    at.isoformat(),
                    [{"id": m.id, "section": m.section, "score": m.score} for m in block.memories],
                )
            self._write(conversation_id, state)

    def _write(self, conversation_id: str, state: PromptState) -> None:
        locations.ensure_private_dir(self.folder)
        path = self._path(conversation_id)
        record = {
            "version": STATE_VERSION,
            "window_start_id": state.window_start_id,
            "profile_ids": state.profile_ids,
            "blocks": {key: {"at": block.at, "memories": block.memories} for key, block in state.blocks.items()},
        }
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
        os.replace(temporary, path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        locations.ensure_private_dir(self.folder)
        descriptor = os.open(self.folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    def drop(self, conversation_id: str) -> None:
        self._path(conversation_id).unlink(missing_ok=True)

    def drop_all(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def shown_blocks(state: PromptState, current: dict[str, Memory]) -> dict[str, ShownBlock]:
    """Re-render each message's block from the memories as they are now (`current`, by id).

    A memory missing from `current` (forgotten) or no longer active (superseded, archived) is
    left out; a block left empty is gone. Unchanged memories render exactly as before, so the
    prompt's prefix stays the same and the model's cache holds.
    """
    rendered: dict[str, ShownBlock] = {}
    for message_id, block in state.blocks.items():
        kept = [
            (item, memory)
            for item in block.memories
            if (memory := current.get(item["id"])) is not None and memory.status == Status.ACTIVE
        ]
        if not kept:
            continue
        at = datetime.fromisoformat(block.at) if block.at else None
        facts = [memory for item, memory in kept if item["section"] == BLOCK_SECTIONS[0]]
        episodes = [memory for item, memory in kept if item["section"] == BLOCK_SECTIONS[1]]
        text = render_memory_block(facts, episodes, at)
        shown = tuple(
            TraceMemory(
                memory.id, str(memory.kind), memory.text, float(item["score"]), item["section"], list(memory.sources)
            )
            for item, memory in kept
        )
        rendered[message_id] = ShownBlock(text, shown)
    return rendered
