"""The scheduler's persisted state: queued learning and an interrupted maintenance pass survive a crash.

One small JSON file per user in the data dir, written atomically (temporary file, fsync,
replace). Several processes may share it (the TUI open while `assistant chat` runs in a
terminal), so every change is a read-modify-write under an OS lock and no process overwrites
what another queued.

Each queued turn and a running pass name their owner: the process that queued or started
them. Only the owner works on them while it lives; a process that died (killed, crashed)
leaves them to the next one. Liveness is an OS lock each owner holds on a file of its own for
its lifetime: the OS releases it when the process dies, however it dies, and unlike a pid it
is never reused.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant import locations

if TYPE_CHECKING:
    from assistant.application.turn import Turn

log = logging.getLogger(__name__)

STATE_VERSION = 1  # later fields (job, owner) are additive: older files still load

# This process, as an owner of queued work. The lock on its file (one per jobs folder) is taken
# on first use and held until the process ends.
PROCESS_OWNER = uuid.uuid4().hex
_owner_locks: dict[Path, int] = {}
_owner_locks_guard = threading.Lock()


@dataclass
class JobState:
    pending: list[dict[str, Any]] = field(default_factory=list)  # queued turns, oldest first
    maintenance_running: bool = False
    maintenance_owner: str | None = None
    last_maintenance_at: str | None = None


def turn_to_record(turn: Turn) -> dict[str, Any]:
    return {
        "conversation_id": turn.conversation_id,
        "user_text": turn.user_text,
        "user_message_id": turn.user_message_id,
        "assistant_message_id": turn.assistant_message_id,
        "reply": turn.reply,
        "is_command": turn.is_command,
        "incognito": turn.incognito,
        "used_memory": turn.used_memory,
        "at": turn.at.astimezone(UTC).isoformat(),
    }


def turn_from_record(record: dict[str, Any]) -> Turn:
    from assistant.application.turn import Turn

    return Turn(
        conversation_id=record.get("conversation_id"),
        user_text=record["user_text"],
        user_message_id=record.get("user_message_id"),
        assistant_message_id=record.get("assistant_message_id"),
        reply=record.get("reply", ""),
        is_command=bool(record.get("is_command")),
        incognito=bool(record.get("incognito")),
        used_memory=bool(record.get("used_memory", True)),
        at=datetime.fromisoformat(record["at"]),
    )


def default_state_path(user: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in user)[:120] or "_"
    return locations.ensure_private_dir(locations.data_dir() / "jobs") / f"{safe}.json"


# -- owners ------------------------------------------------------------------------------------


def _lock(descriptor: int, *, wait: bool) -> bool:
    """Take an exclusive OS lock on an open file; with `wait` False, False when another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        while True:
            try:
                msvcrt.locking(descriptor, msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1)
                return True
            except OSError:
                if not wait:
                    return False
    import fcntl

    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class JobFile:
    """The state file of one user's jobs, shared by every process of that user."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._owners = path.parent / "owners"

    def claim_ownership(self) -> str:
        """Mark this process alive, as the owner of what it queues; returns its owner id."""
        with _owner_locks_guard:
            if self._owners in _owner_locks:
                return PROCESS_OWNER
            self._owners.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._sweep_dead_owners()
            final = self._owners / f"{PROCESS_OWNER}.lock"
            if sys.platform == "win32":  # an open file cannot be renamed there; the unlocked moment is one call
                descriptor = os.open(final, os.O_RDWR | os.O_CREAT, 0o600)
                _lock(descriptor, wait=True)
            else:
                # Locked under a temporary name, then renamed: a `.lock` file is never seen unlocked
                # while its process lives, so no other process mistakes it for a dead one.
                starting = self._owners / f"{PROCESS_OWNER}.starting"
                descriptor = os.open(starting, os.O_RDWR | os.O_CREAT, 0o600)
                _lock(descriptor, wait=True)
                os.replace(starting, final)
            _owner_locks[self._owners] = descriptor  # never closed: the OS releases it when the process ends
        return PROCESS_OWNER

    def _sweep_dead_owners(self) -> None:
        """Remove the liveness files of processes that ended (one is left behind by every run)."""
        for path in self._owners.glob("*.lock"):
            self.owner_alive(path.stem)  # removes the file of a dead owner

    def owner_alive(self, owner: str | None) -> bool:
        if owner == PROCESS_OWNER:
            return True
        if not owner or not all(ch in "0123456789abcdef" for ch in owner):
            return False  # queued before owners were recorded, or damaged
        path = self._owners / f"{owner}.lock"
        try:
            descriptor = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            alive = not _lock(descriptor, wait=False)
        finally:
            os.close(descriptor)
        if not alive:
            with contextlib.suppress(OSError):
                path.unlink()
        return alive

    # -- reading and changing ------------------------------------------------------------------

    def read(self) -> JobState:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return JobState()
        except (OSError, ValueError) as error:
            # A damaged state file must not stop the app; the episodic log still has every message.
            log.warning("ignoring unreadable job state %s: %s", self.path, error)
            return JobState()
        if not isinstance(raw, dict) or raw.get("version") != STATE_VERSION:
            return JobState()
        pending = [item for item in raw.get("pending", []) if isinstance(item, dict) and "user_text" in item]
        for number, item in enumerate(pending):
            item.setdefault("job", item.get("user_message_id") or f"job-{number}")
        return JobState(
            pending=pending,
            maintenance_running=bool(raw.get("maintenance_running")),
            maintenance_owner=raw.get("maintenance_owner"),
            last_maintenance_at=raw.get("last_maintenance_at"),
        )

    @contextlib.contextmanager
    def change(self) -> Iterator[JobState]:
        """The current state, locked against other processes; what the caller changes in it is saved."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(descriptor, wait=True)
            state = self.read()
            yield state
            self._write(state)
        finally:
            os.close(descriptor)  # closing the descriptor releases the lock

    def _write(self, state: JobState) -> None:
        record = {
            "version": STATE_VERSION,
            "pending": state.pending,
            "maintenance_running": state.maintenance_running,
            "maintenance_owner": state.maintenance_owner,
            "last_maintenance_at": state.last_maintenance_at,
        }
        temporary = self.path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
