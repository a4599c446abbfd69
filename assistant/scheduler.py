"""Background jobs for one assistant: learning after each exchange and periodic maintenance.

A single worker thread runs the jobs one step at a time. It never competes with the user:
before each step it waits while the model is busy with a chat, every model call is a
background completion (the runner preempts it when the user's chat arrives) and a
preempted step is retried later. Progress is observable (`status`, `on_progress`) for the
TUI's status bar; `cancel()` stops the current job between steps.

Job state lives in a small JSON file in the data dir, written atomically: pending
extractions survive a crash, and a maintenance pass that was running when the process died
runs again on the next start (compression finishes interrupted groups, see maintenance.py).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant import locations
from assistant.errors import AssistantError
from assistant.llm.runner import GenerationCancelled

if TYPE_CHECKING:
    from assistant.application.session import Assistant, Turn
    from assistant.memory.maintenance import MaintenanceReport

log = logging.getLogger(__name__)

STATE_VERSION = 1
IDLE_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class JobStatus:
    """What the background is doing, for a status bar: `job` is None when idle."""

    job: str | None = None
    done: int = 0
    total: int = 0
    pending_extractions: int = 0
    maintenance_pending: bool = False
    preempted: int = 0  # model steps that gave way to the user's chat (and were retried)
    last_error: str | None = None
    last_maintenance: MaintenanceReport | None = None


@dataclass
class _State:
    pending: list[dict[str, Any]] = field(default_factory=list)
    maintenance_running: bool = False
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
    from assistant.application.session import Turn

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


class Scheduler:
    """Runs extraction and maintenance off the caller's thread; headless (the TUI drives it)."""

    def __init__(
        self,
        assistant: Assistant,
        *,
        state_path: Path | None = None,
        on_progress: Callable[[JobStatus], None] | None = None,
        use_model: bool = True,
        retry_seconds: float = 0.5,
    ) -> None:
        self.assistant = assistant
        self.state_path = state_path or default_state_path(assistant.user)
        self.on_progress = on_progress
        self.use_model = use_model
        self.retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._cancel = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = self._load()
        self._maintenance_requested = self._state.maintenance_running  # a pass died mid-way: run it again
        self._status = JobStatus(
            pending_extractions=len(self._state.pending), maintenance_pending=self._maintenance_requested
        )

    # --- state file ---------------------------------------------------------------------------
    def _load(self) -> _State:
        try:
            raw = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return _State()
        except (OSError, ValueError) as error:
            # A damaged state file must not stop the app; the episodic log still has every message.
            log.warning("ignoring unreadable job state %s: %s", self.state_path, error)
            return _State()
        if not isinstance(raw, dict) or raw.get("version") != STATE_VERSION:
            return _State()
        return _State(
            pending=[item for item in raw.get("pending", []) if isinstance(item, dict) and "user_text" in item],
            maintenance_running=bool(raw.get("maintenance_running")),
            last_maintenance_at=raw.get("last_maintenance_at"),
        )

    def _save(self) -> None:
        record = {
            "version": STATE_VERSION,
            "pending": self._state.pending,
            "maintenance_running": self._state.maintenance_running,
            "last_maintenance_at": self._state.last_maintenance_at,
        }
        temporary = self.state_path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.state_path)

    # --- public API -----------------------------------------------------------------------------
    @property
    def status(self) -> JobStatus:
        with self._lock:
            return self._status

    @property
    def last_maintenance_at(self) -> datetime | None:
        stamp = self._state.last_maintenance_at
        return datetime.fromisoformat(stamp) if stamp else None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="assistant-jobs", daemon=True)
        self._thread.start()
        self._wake.set()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Cancel the current job between steps and end the worker; pending work stays in the state file."""
        self._stop.set()
        self._cancel.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def cancel(self) -> None:
        """Stop the running job at its next step; a cancelled maintenance pass runs again when requested."""
        self._cancel.set()

    def submit_turn(self, turn: Turn) -> None:
        """Queue learning from a finished exchange; persisted before this returns."""
        with self._lock:
            self._state.pending.append(turn_to_record(turn))
            self._save()
            self._publish(pending_extractions=len(self._state.pending))
        self._wake.set()

    def request_maintenance(self) -> None:
        with self._lock:
            self._maintenance_requested = True
            self._publish(maintenance_pending=True)
        self._wake.set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no work is pending (for scripts and tests)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                idle = not self._state.pending and not self._maintenance_requested and self._status.job is None
            if idle:
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(IDLE_POLL_SECONDS)

    # --- the worker -------------------------------------------------------------------------------
    def _publish(self, **changes: Any) -> None:
        self._status = replace(self._status, **changes)
        if self.on_progress is not None:
            try:
                self.on_progress(self._status)
            except Exception:  # a broken status bar must not kill the jobs
                log.exception("progress callback failed")

    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._publish(**changes)

    def _yield_to_user(self) -> bool:
        """Wait while the user's chat holds the model; False when asked to stop."""
        runner = self.assistant.runner
        while runner.busy or runner.user_waiting:
            if self._stop.is_set():
                return False
            time.sleep(IDLE_POLL_SECONDS)
        return not self._stop.is_set()

    def _preempted(self) -> None:
        with self._lock:
            self._publish(preempted=self._status.preempted + 1)
        self._stop.wait(self.retry_seconds)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            while not self._stop.is_set():
                if self._state.pending:
                    self._extract_next()
                elif self._maintenance_requested:
                    self._maintain()
                else:
                    break

    def _extract_next(self) -> None:
        if not self._yield_to_user():
            return
        record = self._state.pending[0]
        self._set(job="extract", done=0, total=len(self._state.pending))
        try:
            self.assistant.learn(turn_from_record(record), use_model=self.use_model)
        except GenerationCancelled:
            self._set(job=None)
            self._preempted()
            return
        except AssistantError as error:
            # Kept in the episodic log either way; one bad turn must not block the queue.
            log.warning("learning from message %s failed: %s", record.get("user_message_id"), error)
            self._set(last_error=str(error))
        with self._lock:
            self._state.pending.pop(0)
            self._save()
            self._publish(job=None, done=0, total=0, pending_extractions=len(self._state.pending))

    def _maintain(self) -> None:
        from assistant.memory import maintenance

        if not self._yield_to_user():
            return
        self._cancel.clear()
        with self._lock:
            self._state.maintenance_running = True
            self._save()
        self._set(job="maintenance", done=0, total=0)

        def progress(job: str, done: int, total: int) -> None:
            self._set(job=job, done=done, total=total)
            # Between steps: give way while the user chats.
            self._yield_to_user()

        settings = self.assistant.settings
        runner = self.assistant.runner if self.use_model else None
        try:
            report = maintenance.run_pass(
                self.assistant.engine, runner, settings, self.assistant.clock(), progress=progress, cancel=self._cancel
            )
        except GenerationCancelled:
            self._set(job=None)
            self._preempted()
            return  # still requested: the pass runs again and continues where it stopped
        except AssistantError as error:
            log.warning("maintenance failed: %s", error)
            with self._lock:
                self._maintenance_requested = False
                self._state.maintenance_running = False
                self._save()
                self._publish(job=None, done=0, total=0, maintenance_pending=False, last_error=str(error))
            return
        cancelled = self._cancel.is_set()
        self._cancel.clear()
        with self._lock:
            self._maintenance_requested = False
            self._state.maintenance_running = False
            if not cancelled:
                self._state.last_maintenance_at = self.assistant.clock().astimezone(UTC).isoformat()
            self._save()
            self._publish(job=None, done=0, total=0, maintenance_pending=False, last_maintenance=report)
