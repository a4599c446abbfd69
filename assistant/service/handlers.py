"""The service's warm core: one `Assistant` (model, embedder, store) per memory space, and its requests.

Each memory space (user) gets an Assistant sharing the one loaded model, and a Scheduler
whose persisted queue takes the learning after each reply: a service killed mid-learning
loses nothing it acknowledged, the next process (service or command) finishes it. Chat
turns and writes run one at a time; searches and listings run beside them.

A request carries the client's settings; when they differ from the service's own (another
model, another context size …) the answer is "fallback" and the client works in its own
process, so a command never silently runs with settings it was not given.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from assistant.application.scheduler import Scheduler
from assistant.application.session import Assistant
from assistant.application.views import LearningResult
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.llm.opening import open_runner
from assistant.llm.runner import ModelRunner
from assistant.service import frontend_ops, memory_ops
from assistant.service.activity import RequestActivity

log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], None]
# Settings that shape the service itself, not what a request does.
SERVICE_ONLY = ("user", "service", "service_idle_minutes", "service_warm_up", "service_tcp")
# A front end's waits and status polls: nobody waits on their answer, so background learning need not wait for them.
PASSIVE_OPS = frozenset({"frontend.learning.wait", "frontend.learning.idle", "frontend.learning.status"})
CHAT_OPS = frozenset({"chat", "frontend.chat"})


class _Fallback(Exception):
    pass


class _ClientGone(Exception):
    pass


@dataclass
class _Learning:
    """What one turn's learning has reported so far, for the client waiting on it."""

    notices: list[str] = field(default_factory=list)
    stated: threading.Event = field(default_factory=threading.Event)  # the rules' part is saved
    finished: threading.Event = field(default_factory=threading.Event)
    finished_at: float | None = None  # time.monotonic()
    abandoned: bool = False  # its client left once the rules were done


# A finished turn's notices wait this long for a client that never came for them (it left before
# its reply was sent; a job a killed process queued): then they are dropped.
LEARNED_KEPT_SECONDS = 600.0


# Told to a client that leaves while the model still reads its exchange (the service goes on).
STILL_LEARNING = "The model is still reading this exchange; what else it learns will be in `assistant memory list`."


class _Space:
    """One user's warm assistant and its background jobs."""

    def __init__(
        self,
        assistant: Assistant,
        listener: Callable[[LearningResult], None] | None = None,
        until_quiet: Callable[[], float] | None = None,
    ) -> None:
        self.assistant = assistant
        self._guard = threading.Lock()
        self._learned: dict[str, _Learning] = {}
        self._listener = listener  # the front ends' notices (frontend_ops.Notices)
        # The model's pass and maintenance start once no request is answered (the rules' pass at once).
        self.jobs = Scheduler(assistant, on_stated=self._collect, on_learned=self._collect, until_quiet=until_quiet)
        self.jobs.start()  # first it finishes what a killed process left queued
        self.jobs.schedule_maintenance(assistant.settings.maintenance_interval_minutes * 60)  # yields to chats

    def _collect(self, result: LearningResult) -> None:
        with self._guard:
            entry = self._learned.setdefault(result.job, _Learning())
            entry.notices.extend(result.report.notices)
            entry.stated.set()
            if result.final:
                entry.finished.set()
                entry.finished_at = time.monotonic()
                if entry.abandoned:
                    self._learned.pop(result.job, None)
                self._forget_uncollected(entry.finished_at)
        if self._listener is not None:
            self._listener(result)

    def _forget_uncollected(self, now: float) -> None:
        for job, entry in list(self._learned.items()):
            if entry.finished_at is not None and now - entry.finished_at > LEARNED_KEPT_SECONDS:
                del self._learned[job]

    def wait_learned(self, job: str) -> list[str]:
        """The notices of what the rules saved: the client need not wait for the model's pass.

        The rules take a fraction of a second; the model's extraction can take longer than the
        reply itself. It goes on here, in the service, from the persisted queue: nothing is lost
        when the client exits, and the client is told the model is still reading.
        """
        with self._guard:
            entry = self._learned.setdefault(job, _Learning())
        entry.stated.wait()
        with self._guard:
            notices = list(entry.notices)
            if entry.finished.is_set():
                self._learned.pop(job, None)
                return notices
            entry.abandoned = True
        return [*notices, STILL_LEARNING]

    def release(self, job: str) -> None:
        """Nobody will wait for `job` here (a front end collects its notices): forget it once it is done."""
        with self._guard:
            entry = self._learned.setdefault(job, _Learning())
            if entry.finished.is_set():
                self._learned.pop(job, None)
            else:
                entry.abandoned = True

    def close(self) -> None:
        self.jobs.close()
        self.assistant.close()


class Backend:
    def __init__(self, settings: Settings, *, runner: ModelRunner | None = None) -> None:
        self.settings = settings
        self._guard = threading.Lock()
        self._spaces: dict[str, _Space] = {}
        self._runner: ModelRunner | None = runner  # the service may have started loading it already
        self.turns = threading.Lock()  # chat turns and memory writes: one at a time
        self.notices = frontend_ops.Notices()  # learning results for the front ends (the TUI) that queued it
        self.activity = RequestActivity()

    def _settings_for(self, fields: Any) -> Settings:
        try:
            requested = Settings(**fields) if isinstance(fields, dict) else self.settings
        except ValidationError:
            raise _Fallback("the request's settings are not valid here") from None
        ours, theirs = self.settings.model_dump(), requested.model_dump()
        different = sorted(name for name in ours if name not in SERVICE_ONLY and ours[name] != theirs[name])
        if different:
            raise _Fallback(f"the service runs with other settings ({', '.join(different)})")
        return requested

    def space(self, fields: Any) -> _Space:
        settings = self._settings_for(fields)
        with self._guard:
            space = self._spaces.get(settings.user)
            if space is None:
                if self._runner is None:
                    self._runner = open_runner(self.settings)  # one model, shared by every memory space
                assistant = Assistant(settings, runner=self._runner)
                if self.settings.service_warm_up and settings.user == self.settings.user:  # the one warm_up warms
                    assistant.expect_warm_up()  # before its first chat: that chat will not wait for the embedder
                space = self._spaces[settings.user] = _Space(
                    assistant, listener=self.notices.deliver, until_quiet=self.activity.seconds_until_quiet
                )
            return space

    def warm_up(self, before_embedder: Callable[[], None] | None = None) -> None:
        self.space(None).assistant.warm_up(before_embedder)

    def open_spaces(self) -> list[_Space]:
        with self._guard:
            return list(self._spaces.values())

    def loaded_runner(self) -> ModelRunner | None:
        """The shared model, when it is loaded (what unloading would give back)."""
        runner = self._runner
        return runner if runner is not None and runner.loaded else None

    def idle(self) -> bool:
        with self._guard:
            spaces = list(self._spaces.values())
        return all(space.jobs.wait_idle(timeout=0) for space in spaces)

    def describe(self) -> dict[str, Any]:
        with self._guard:
            spaces = dict(self._spaces)
        return {
            "users": sorted(spaces),
            "model": self.settings.model,
            "model_loaded": self.loaded_runner() is not None,
            "pending_learning": sum(space.jobs.status.pending_extractions for space in spaces.values()),
        }

    def close(self) -> None:
        with self._guard:
            spaces, self._spaces = list(self._spaces.values()), {}
        for space in spaces:
            space.close()

    # -- requests ------------------------------------------------------------------------

    def handle(self, request: dict[str, Any], send: Send) -> None:
        def emit(event: dict[str, Any]) -> None:
            try:
                send(event)
            except OSError:
                raise _ClientGone() from None

        op = str(request.get("op"))
        handler = _HANDLERS.get(op)
        try:
            if handler is None:
                raise AssistantError(f"the service does not know the request {request.get('op')!r}")
            with contextlib.nullcontext() if op in PASSIVE_OPS else self.activity.answering():
                if op in CHAT_OPS and self._runner is not None:
                    # A background pass gives way now, not once recall is done and the reply needs the model.
                    self._runner.cancel_background()
                handler(self, request, emit)
        except _ClientGone:
            log.info("the client left before its answer")
        except _Fallback as reason:
            emit({"event": "fallback", "reason": str(reason)})
        except AssistantError as error:
            emit({"event": "error", "error": str(error)})
        except (KeyError, TypeError) as error:
            emit({"event": "error", "error": f"a malformed request to the service: {error}"})
        except (OSError, RuntimeError, ValueError) as error:
            from assistant.memory.repair import damage_error, looks_like_damage

            if not looks_like_damage(error):
                log.exception("request %s failed", request.get("op"))
                emit({"event": "error", "error": f"the service failed: {error}"})
            else:
                emit({"event": "error", "error": damage_error(error)})


def _chat(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    space = backend.space(request.get("settings"))
    assistant = space.assistant
    incognito = bool(request.get("incognito"))
    with backend.turns:
        conversation_id = request.get("conversation")
        if conversation_id is None and not (request.get("new") or incognito):
            conversation_id = assistant.latest_conversation_id()
        elif conversation_id is not None:
            assistant.engine.require_conversation(conversation_id)
        cancel = threading.Event()
        stream = assistant.stream_reply(
            str(request["text"]),
            conversation_id=conversation_id,
            cancel=cancel,
            use_memory=False if request.get("no_memory") else None,
            incognito=incognito,
        )
        try:
            for piece in stream:
                emit({"event": "piece", "text": piece})
        except _ClientGone:
            cancel.set()  # the user pressed Ctrl-C: stop generating; the partial reply is kept as in a command
            if isinstance(stream, Generator):
                stream.close()
            raise
        turn = assistant.last_turn
        # Queued (persisted) before the client hears the reply is done: acknowledged means kept.
        job = space.jobs.queue_learning(turn) if turn is not None and not turn.incognito else None
        trace = memory_ops.trace_text(turn.trace) if turn is not None and request.get("show_context") else None
    emit({"event": "reply", "trace": trace})
    learned = space.wait_learned(job) if job is not None else []
    emit({"event": "done", "notices": [*(turn.notices if turn else []), *learned]})


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _search(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    memories = backend.space(request.get("settings")).assistant.memories
    filters = memory_ops.search_filter(
        request.get("kinds"), request.get("statuses"), _time(request.get("since")), _time(request.get("until"))
    )
    k, as_json = request.get("k"), bool(request.get("json"))
    if request.get("queries") is not None:
        output = "".join(memory_ops.search_batch(memories, list(request["queries"]), k, filters, as_json))
    else:
        output = memory_ops.search_text(memories, str(request["query"]), k, filters, as_json)
    emit({"event": "done", "output": output})


def _list(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    memories = backend.space(request.get("settings")).assistant.memories
    output = memory_ops.list_text(
        memories, request.get("kinds"), request.get("statuses"), request.get("limit"), bool(request.get("json"))
    )
    emit({"event": "done", "output": output})


def _add(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    memories = backend.space(request.get("settings")).assistant.memories
    with backend.turns:
        output = memory_ops.add_text(
            memories,
            str(request["text"]),
            raw=bool(request.get("raw")),
            kind=request.get("kind"),
            key=request.get("key"),
            importance=float(request.get("importance", 0.5)),
            pin=bool(request.get("pin")),
            reason=str(request["reason"]),
            as_json=bool(request.get("json")),
        )
    emit({"event": "done", "output": output})


def _forget(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    memories = backend.space(request.get("settings")).assistant.memories
    with backend.turns:
        output = memory_ops.forget_text(
            memories,
            [str(memory_id) for memory_id in request["ids"]],
            reason=str(request["reason"]),
            with_sources=bool(request.get("with_sources")),
            as_json=bool(request.get("json")),
        )
    emit({"event": "done", "output": output})


_HANDLERS: dict[str, Callable[[Backend, dict[str, Any], Send], None]] = {
    "chat": _chat,
    "memory.search": _search,
    "memory.list": _list,
    "memory.add": _add,
    "memory.forget": _forget,
    **frontend_ops.HANDLERS,
}
