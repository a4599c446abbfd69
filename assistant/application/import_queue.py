"""The queue of imported messages still to learn from: it survives a kill, and a re-run continues it.

Two append-only files next to the scheduler's job state: the queue (one line per imported user
message: its id and when it was said, written before the message is stored) and the log of
the messages learned from (one id per line, written as each is done). What is left is the
queue minus the log, in the order the user said things; a torn last line (a kill mid-write)
is skipped. Learning a message twice changes nothing (see Consolidator), so a kill between
learning a message and logging it loses nothing either. When nothing is left both files go.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from assistant.application.job_state import default_state_path


@dataclass(frozen=True, order=True)
class Queued:
    at: datetime
    id: str


class ImportQueue:
    def __init__(self, user: str, *, folder: Path | None = None) -> None:
        state = default_state_path(user) if folder is None else folder / "state.json"
        self.queue_path = state.with_name(state.stem + ".import-queue.jsonl")
        self.learned_path = state.with_name(state.stem + ".import-learned.log")

    def add(self, messages: Sequence[Queued]) -> None:
        """Queue messages to learn from, durably (call it before storing them)."""
        if not messages:
            return
        lines = "".join(json.dumps({"id": m.id, "at": m.at.isoformat()}) + "\n" for m in messages)
        _append(self.queue_path, lines, sync=True)

    def pending(self) -> list[Queued]:
        """What is still to learn, oldest first (each message once)."""
        learned = set(_lines(self.learned_path))
        queued: dict[str, Queued] = {}
        for line in _lines(self.queue_path):
            try:
                record = json.loads(line)
                item = Queued(datetime.fromisoformat(record["at"]), str(record["id"]))
            except (ValueError, KeyError, TypeError):
                continue  # torn by a kill mid-write
            if item.id not in learned:
                queued.setdefault(item.id, item)
        return sorted(queued.values())

    @contextlib.contextmanager
    def learning(self) -> Iterator[LearnedLog]:
        self.learned_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(self.learned_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            yield LearnedLog(handle)
            handle.flush()
            os.fsync(handle.fileno())

    def clear(self) -> None:
        """Everything queued was learned: start afresh (the learned log goes after the queue)."""
        for path in (self.queue_path, self.learned_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


class LearnedLog:
    def __init__(self, handle: TextIO) -> None:
        self._handle = handle

    def mark(self, message_id: str) -> None:
        self._handle.write(message_id + "\n")
        self._handle.flush()  # in the OS's hands: a killed process loses nothing


def _append(path: Path, text: str, *, sync: bool) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        if sync:
            os.fsync(handle.fileno())


def _lines(path: Path) -> Iterator[str]:
    try:
        handle = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return
    with handle:
        for line in handle:
            if line.endswith("\n") and line.strip():
                yield line.strip()
