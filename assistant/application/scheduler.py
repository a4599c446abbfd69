"""The one owner of background work for an assistant: learning from each exchange and periodic maintenance.

Front ends queue a finished exchange with `queue_learning` (persisted before it returns) and
ask for maintenance with `request_maintenance` (or `schedule_maintenance`). Two threads work:
the rules thread saves what each queued turn stated outright (learning_pass.learn_stated) as
soon as it is queued: it needs no model, so it never waits behind a model pass or maintenance
(a chat client waits for this part only). The jobs thread then runs the model's extraction
passes and maintenance, never competing with the user: it waits until the model is free
(`ModelRunner.wait_until_free`) and the front end's user is quiet (`until_quiet`: in the service,
no request for a moment), each model call is a background completion the user's chat preempts,
and a preempted step is retried. A model pass may so run after a later turn's rules; it never replaces
a value the user gave since (learn_with_model); passes write one at a time (one lock, not held while
the model generates).

Callbacks, on the worker threads: `on_stated` (the rules' part saved), `on_learned` (the turn's
learning finished, with the ids of all it saved: one Undo removes it), `on_progress`/`status` for a
status bar. `cancel()` stops maintenance between steps; `wait_idle` lets a CLI finish the rules' part
or all before it exits; `close()` leaves the rest queued in the job file (job_state.py) for the next start.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.application.job_state import JobFile, JobState, default_state_path, turn_from_record, turn_to_record
from assistant.application.learning_pass import learn_stated, learn_with_model
from assistant.application.turn import LearnReport
from assistant.application.views import JobStatus, LearningResult
from assistant.errors import AssistantError
from assistant.llm.runner import GenerationCancelled

if TYPE_CHECKING:
    from assistant.application.session import Assistant
    from assistant.application.turn import Turn
    from assistant.llm.runner import ModelRunner

log = logging.getLogger(__name__)


LearnedCallback = Callable[[LearningResult], None]


@dataclass
class _Progress:
    """The worker's view of the queue: the turns it may work on (its own, and those of dead processes)."""

    runnable: list[dict[str, Any]] = field(default_factory=list)
    rules_running: bool = False  # the rules thread is on a turn (it is not idle)


class Scheduler:
    """Runs learning and maintenance off the caller's thread; headless (the front ends drive it)."""

    def __init__(
        self,
        assistant: Assistant,
        *,
        state_path: Path | None = None,
        on_progress: Callable[[JobStatus], None] | None = None,
        on_stated: LearnedCallback | None = None,
        on_learned: LearnedCallback | None = None,
        use_model: bool = True,
        retry_seconds: float = 0.5,
        until_quiet: Callable[[], float] | None = None,
    ) -> None:
        self.assistant = assistant
        self.state_path = state_path or default_state_path(assistant.user)
        self.on_progress = on_progress
        self.on_stated = on_stated
        self.on_learned = on_learned
        self.use_model = use_model  # False: rules only and extractive summaries, never the model
        self.retry_seconds = retry_seconds  # after a preempted step, before waiting for the model again
        self._until_quiet = until_quiet or (lambda: 0.0)  # seconds (0: quiet now); see service/activity.py
        self._file = JobFile(self.state_path)
        self._owner = self._file.claim_ownership()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified on every status change: wait_idle
        self._wake = threading.Event()  # the jobs thread: model passes and maintenance
        self._rules_wake = threading.Event()
        self._consolidating = threading.Lock()  # held while a learning pass writes: passes never interleave
        self._cancel = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rules_thread: threading.Thread | None = None
        self._runner: ModelRunner | None = None  # once the worker waited on it: close() wakes it
        self._maintenance_every: float | None = None  # seconds, once schedule_maintenance was called
        self._schedule_from = time.monotonic()
        state = self._file.read()
        self._work = _Progress(runnable=self._runnable(state))
        self._last_maintenance_at = state.last_maintenance_at
        # A pass whose process died mid-way runs again (or that an earlier scheduler of this process left).
        self._maintenance_requested = state.maintenance_running and self._ours_to_run(state.maintenance_owner)
        self._status = JobStatus(
            pending_extractions=len(self._work.runnable), maintenance_pending=self._maintenance_requested
        )

    # --- public API -----------------------------------------------------------------------------
    @property
    def status(self) -> JobStatus:
        with self._lock:
            return self._status

    @property
    def last_maintenance_at(self) -> datetime | None:
        stamp = self._last_maintenance_at
        return datetime.fromisoformat(stamp) if stamp else None

    def start(self) -> None:
        """Start the worker; it first finishes what a previous, killed process left queued."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._rules_thread = threading.Thread(target=self._run_rules, name="assistant-rules", daemon=True)
        self._rules_thread.start()
        self._thread = threading.Thread(target=self._run, name="assistant-jobs", daemon=True)
        self._thread.start()
        self._rules_wake.set()
        self._wake.set()

    def close(self, timeout: float | None = 30.0) -> None:
        """End the workers: a running model step is cancelled and everything unfinished stays queued."""
        self._stop.set()
        self._cancel.set()
        self._wake.set()
        self._rules_wake.set()
        runner = self._runner
        if runner is not None:
            runner.cancel_background()
            runner.wake_waiters()
        for thread in (self._rules_thread, self._thread):
            if thread is not None:
                thread.join(timeout)
        self._thread = self._rules_thread = None

    stop = close  # the name the TUI used before close(); same behaviour

    def cancel(self) -> None:
        """Stop the running maintenance pass at its next step; it runs again when requested."""
        self._cancel.set()

    def queue_learning(self, turn: Turn) -> str:
        """Queue learning from a finished exchange; persisted before this returns. Returns the job's id."""
        job = uuid.uuid4().hex
        record = {**turn_to_record(turn), "job": job, "owner": self._owner}
        with self._lock:
            with self._file.change() as state:
                state.pending.append(record)
            self._work.runnable.append(record)
            self._publish(pending_extractions=len(self._work.runnable))
        self._rules_wake.set()
        return job

    def schedule_maintenance(self, every_seconds: float) -> None:
        """Run a pass on its own whenever the last one finished `every_seconds` ago (the first one
        `every_seconds` after this call): for a process with no UI timer, the service."""
        with self._lock:
            self._maintenance_every = every_seconds
            self._schedule_from = time.monotonic()
        self._wake.set()

    def _maintenance_due(self) -> bool:
        every, last = self._maintenance_every, self.last_maintenance_at
        if every is None or self._maintenance_requested or time.monotonic() - self._schedule_from < every:
            return False
        return last is None or (self.assistant.clock() - last).total_seconds() >= every

    def request_maintenance(self) -> None:
        with self._lock:
            self._maintenance_requested = True
            self._publish(maintenance_pending=True)
        self._wake.set()

    def wait_idle(self, timeout: float | None = None, *, stated_only: bool = False) -> bool:
        """Until nothing is left to do here (`stated_only`: every rules' pass); False on `timeout`."""
        with self._changed:
            stated = lambda: not self._work.rules_running and all(r.get("stated") for r in self._work.runnable)  # noqa: E731
            return self._changed.wait_for(stated if stated_only else self._idle, timeout)

    # --- the worker -------------------------------------------------------------------------------
    def _idle(self) -> bool:
        work, job = self._work, self._status.job
        return not (work.runnable or work.rules_running or self._maintenance_requested or job is not None)

    def _runnable(self, state: JobState) -> list[dict[str, Any]]:
        """This process's queued turns and those whose process died; a live process's are its own to run."""
        return [record for record in state.pending if self._ours_to_run(record.get("owner"))]

    def _ours_to_run(self, owner: str | None) -> bool:
        return owner == self._owner or not self._file.owner_alive(owner)

    def _publish(self, **changes: Any) -> None:
        """Called holding self._lock. Waiters always hear of it; a status bar only of a change, so
        the rules thread re-counting the queue does not re-announce the jobs thread's step."""
        before, self._status = self._status, replace(self._status, **changes)
        self._changed.notify_all()
        if self.on_progress is not None and self._status != before:
            try:
                self.on_progress(self._status)
            except Exception:  # a broken status bar must not kill the jobs
                log.exception("progress callback failed")

    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._publish(**changes)

    def _report(self, callback: LearnedCallback | None, result: LearningResult) -> None:
        try:
            if callback is not None:
                callback(result)
        except Exception:  # a broken notice must not lose the queue
            log.exception("learning callback failed")

    def _yield_to_user(self) -> bool:
        """Wait until the user is quiet and the model free (both at once); False when asked to stop."""
        while not self._stop.wait(self._until_quiet()):
            try:
                self._runner = self.assistant.runner
            except AssistantError:
                return True  # no model to open: no chat to give way to (the rules still learn)
            if not self._runner.wait_until_free(cancel=self._stop):
                return False
            if self._until_quiet() == 0:
                return True  # else a request came while the model was busy: wait for it too
        return False

    def _preempted(self) -> None:
        with self._lock:
            self._publish(job=None, preempted=self._status.preempted + 1)
        self._stop.wait(self.retry_seconds)

    def _run_rules(self) -> None:
        while not self._stop.is_set():
            self._rules_wake.wait()
            self._rules_wake.clear()
            while not self._stop.is_set() and self._learn_stated_next():
                pass

    def _run(self) -> None:
        while not self._stop.is_set():
            every = self._maintenance_every
            self._wake.wait(None if every is None else min(60.0, max(0.1, every / 4)))
            self._wake.clear()
            if self._maintenance_due():
                self.request_maintenance()
            while not self._stop.is_set():
                if any(record.get("stated") for record in self._work.runnable):
                    self._learn_with_model_next()
                elif self._maintenance_requested:
                    self._maintain()
                else:
                    break

    def _learn_stated_next(self) -> bool:
        """The rules' pass of the oldest turn that has not had it; False when there is none."""
        record = self._take_next(stated=False)
        if record is None:
            return False
        try:
            job, turn = record["job"], turn_from_record(record)
            try:
                with self._consolidating:
                    engine, settings = self.assistant.engine, self.assistant.settings
                    use_model = None if self.use_model else False  # None: when the settings say it is worth it
                    report, wants_model = learn_stated(turn, engine=engine, settings=settings, use_model=use_model)
            except AssistantError as error:
                report, wants_model = self._failed(record, error), False
            saved = tuple(memory.id for memory in report.saved)
            if wants_model:
                self._mark_stated(job, saved)  # persisted: the jobs thread takes it from here
                self._report(self.on_stated, LearningResult(job, turn, report, final=False, saved_ids=saved))
                self._wake.set()
            else:
                self._finish(job)
                self._report(self.on_learned, LearningResult(job, turn, report, final=True, saved_ids=saved))
                self._tidy(turn)
        finally:
            with self._lock:
                self._work.rules_running = False
                self._publish()  # only now idle: wait_idle returns after on_learned ran
        return True

    def _learn_with_model_next(self) -> None:
        if self.use_model and not self._yield_to_user():
            return
        record = self._take_next(stated=True)
        if record is None:
            return
        job, turn = record["job"], turn_from_record(record)
        stated_ids = tuple(record.get("stated_ids") or ())
        self._set(job="extract", done=0, total=len(self._work.runnable))
        report = LearnReport()
        if self.use_model:  # else: told since to leave the model alone; the rules' part is all it learns
            try:
                runner, engine = self.assistant.runner, self.assistant.engine
                report = learn_with_model(turn, engine=engine, runner=runner, consolidating=self._consolidating)
            except GenerationCancelled:
                self._preempted()
                return  # still queued: the model's pass runs again once the model is free
            except AssistantError as error:
                report = self._failed(record, error)
        saved = stated_ids + tuple(memory.id for memory in report.saved)
        self._finish(job)
        self._report(self.on_learned, LearningResult(job, turn, report, final=True, saved_ids=saved))
        self._tidy(turn)
        self._set(job=None, done=0, total=0)  # only now idle: wait_idle returns after on_learned ran

    def _failed(self, record: dict[str, Any], error: AssistantError) -> LearnReport:
        # Kept in the episodic log either way; one bad turn must not block the queue.
        log.warning("learning from message %s failed: %s", record.get("user_message_id"), error)
        self._set(last_error=str(error))
        return LearnReport(error=str(error))

    def _tidy(self, turn: Turn) -> None:
        """Compact what the turn's writes fragmented; after its report, so no client waits for it."""
        if not turn.incognito:
            with self._consolidating:
                self.assistant.engine.tidy()

    def _take_next(self, *, stated: bool) -> dict[str, Any] | None:
        """The oldest turn this process may work on, its rules' pass done (`stated`) or not; made its own."""
        with self._lock:
            with self._file.change() as state:
                self._work.runnable = self._runnable(state)
                record = next((r for r in self._work.runnable if bool(r.get("stated")) == stated), None)
                if record is not None and record.get("owner") != self._owner:
                    record["owner"] = self._owner  # its process died: this one finishes it
            if record is not None and not stated:
                self._work.rules_running = True
            self._publish(pending_extractions=len(self._work.runnable))
            return record

    def _mark_stated(self, job: str, saved_ids: tuple[str, ...]) -> None:
        with self._lock:
            with self._file.change() as state:
                for record in state.pending:
                    if record.get("job") == job:
                        record["stated"] = True
                        record["stated_ids"] = list(saved_ids)  # one Undo covers both passes, even after a restart
                self._work.runnable = self._runnable(state)

    def _finish(self, job: str) -> None:
        with self._lock:
            with self._file.change() as state:
                state.pending = [record for record in state.pending if record.get("job") != job]
                self._work.runnable = self._runnable(state)
            self._publish(pending_extractions=len(self._work.runnable))

    def _mark_maintenance(self, *, running: bool, finished: bool = False) -> None:
        with self._file.change() as state:
            state.maintenance_running = running
            state.maintenance_owner = self._owner if running else None
            if finished:
                state.last_maintenance_at = self.assistant.clock().astimezone(UTC).isoformat()
            self._last_maintenance_at = state.last_maintenance_at

    def _maintain(self) -> None:
        from assistant.memory import maintenance

        if not self._yield_to_user():
            return
        self._cancel.clear()
        with self._lock:
            self._mark_maintenance(running=True)
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
            self._preempted()
            return  # still requested: the pass runs again and continues where it stopped
        except AssistantError as error:
            log.warning("maintenance failed: %s", error)
            self._end_maintenance(finished=False, last_error=str(error))
            return
        cancelled = self._cancel.is_set()
        self._cancel.clear()
        self._end_maintenance(finished=not cancelled, last_maintenance=report)

    def _end_maintenance(self, *, finished: bool, **status: Any) -> None:
        with self._lock:
            self._maintenance_requested = False
            self._mark_maintenance(running=False, finished=finished)
            self._publish(job=None, done=0, total=0, maintenance_pending=False, **status)
