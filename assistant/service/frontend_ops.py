"""The service's side of the front-end protocol: the requests `RemoteFrontend` sends, answered on the warm core.

Every front-end call runs on an `AssistantFrontend` over the service's own `Assistant`, so a
front end gets the results the in-process core would give, by construction. Calls that
write (and chat turns) take the backend's turn lock, as the commands' writes do; reads run
beside them.

Learning notices reach a front end by long polling: the front end names itself with a
session id; the learning it queues is claimed for that session, and what the service's
scheduler reports for it (the rules' part, then the finished turn) waits in the session's
mailbox until the front end's next `frontend.learning.wait` collects it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from assistant.application.frontend import AssistantFrontend
from assistant.application.views import LearningResult
from assistant.errors import AssistantError, ModelError
from assistant.service.view_json import decode, job_status_to_json, to_json

Send = Callable[[dict[str, Any]], None]

# A front end's call by name: its reads and its writes (these wait for the chat turn in progress).
READS = frozenset(
    {
        "list_conversations",
        "conversation_messages",
        "trace_for",
        "count_memories",
        "find_memories",
        "memory_detail",
        "memories_by_id",
        "profile_text",
        "rules_text",
    }
)
WRITES = frozenset(
    {
        "rename_conversation",
        "delete_conversation",
        "undo_learned",
        "tidy",
        "edit_memory",
        "pin_memory",
        "unpin_memory",
        "archive_memory",
        "restore_memory",
        "forget_memory",
        "forget_everything",
        "export_memories",
        "save_profile",
        "save_rules",
    }
)
# The longest a learning wait holds its connection: a stopping service waits for it to end.
MAX_WAIT_SECONDS = 5.0
# Learning reported before its front end claimed the job (or for a command's job nobody claims).
UNCLAIMED_JOBS_KEPT = 64
# A session that has not collected its notices for this long is gone (its front end was killed).
SESSION_EXPIRY_SECONDS = 600.0


class Space(Protocol):
    assistant: Any
    jobs: Any

    def release(self, job: str) -> None: ...


class Backend(Protocol):
    turns: threading.Lock
    notices: Notices

    def space(self, fields: Any) -> Space: ...


class Notices:
    """Learning results by front-end session, until each front end collects its own."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._owners: dict[str, str] = {}  # job -> session
        self._unclaimed: OrderedDict[str, list[LearningResult]] = OrderedDict()
        self._mailboxes: dict[str, list[LearningResult]] = {}
        self._seen: dict[str, float] = {}

    def deliver(self, result: LearningResult) -> None:
        """The scheduler's callback (its thread): file the result under the session that queued the job."""
        with self._changed:
            session = self._owners.get(result.job)
            if session is None:
                self._unclaimed.setdefault(result.job, []).append(result)
                while len(self._unclaimed) > UNCLAIMED_JOBS_KEPT:
                    self._unclaimed.popitem(last=False)
                return
            self._file(session, result)
            self._changed.notify_all()

    def claim(self, job: str, session: str) -> None:
        """`session` queued `job`: what was reported for it so far, and everything after, is its."""
        with self._changed:
            self._owners[job] = session
            self._seen[session] = time.monotonic()
            for result in self._unclaimed.pop(job, []):
                self._file(session, result)
            self._changed.notify_all()

    def _file(self, session: str, result: LearningResult) -> None:
        self._mailboxes.setdefault(session, []).append(result)
        if result.final:
            self._owners.pop(result.job, None)
        now = time.monotonic()
        for gone in [name for name, seen in self._seen.items() if now - seen > SESSION_EXPIRY_SECONDS]:
            self._seen.pop(gone, None)
            self._mailboxes.pop(gone, None)

    def collect(self, session: str, timeout: float) -> list[LearningResult]:
        """What waits for `session`, waiting up to `timeout` for something to arrive."""
        with self._changed:
            self._seen[session] = time.monotonic()
            self._changed.wait_for(lambda: bool(self._mailboxes.get(session)), timeout)
            self._seen[session] = time.monotonic()
            return self._mailboxes.pop(session, [])


def _session(request: dict[str, Any]) -> str:
    session = request.get("session")
    if not isinstance(session, str) or not session:
        raise AssistantError("a front-end request to the service must name its session")
    return session


def open_frontend(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    """The settings check (a "fallback" when they differ) and the memory space; no model is loaded yet."""
    try:
        space = backend.space(request.get("settings"))
    except ModelError as error:
        emit({"event": "done", "model_error": str(error)})
        return
    emit({"event": "done", "user": space.assistant.user})


def warm_up(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    """Wait until the model, the embedder and the store are loaded (at once when the service is warm)."""
    try:
        backend.space(request.get("settings")).assistant.warm_up()
    except ModelError as error:
        emit({"event": "done", "model_error": str(error)})
        return
    emit({"event": "done"})


class _Chats:
    """The cancel switches of the chat turns in progress, by the id their front end gave them."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._switches: dict[str, threading.Event] = {}

    def open(self, chat: str) -> threading.Event:
        with self._guard:
            return self._switches.setdefault(chat, threading.Event())

    def close(self, chat: str) -> None:
        with self._guard:
            self._switches.pop(chat, None)

    def cancel(self, chat: str) -> None:
        with self._guard:
            switch = self._switches.setdefault(chat, threading.Event())  # a cancel may overtake its chat
        switch.set()


CHATS = _Chats()


class _RecentTraces:
    """The exact context of the front ends' latest replies, by reply id.

    In-process, the latest reply's trace is the turn's own (the trace store keeps only ids
    and counts); in the service another client's chat replaces the core's latest turn, so
    each front end's recent replies keep theirs here.
    """

    def __init__(self, size: int = 32) -> None:
        self._guard = threading.Lock()
        self._size = size
        self._traces: OrderedDict[str, Any] = OrderedDict()

    def keep(self, reply_id: str | None, trace: Any) -> None:
        if reply_id is None:
            return
        with self._guard:
            self._traces[reply_id] = trace
            while len(self._traces) > self._size:
                self._traces.popitem(last=False)

    def get(self, reply_id: str) -> Any | None:
        with self._guard:
            return self._traces.get(reply_id)


RECENT_TRACES = _RecentTraces()


def chat(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    """One turn, streamed piece by piece; the last event carries the whole turn (learning is queued separately)."""
    assistant = backend.space(request.get("settings")).assistant
    chat_id = str(request.get("chat") or "")
    cancel = CHATS.open(chat_id) if chat_id else threading.Event()
    try:
        with backend.turns:
            stream = assistant.stream_reply(
                str(request["text"]),
                conversation_id=request.get("conversation"),
                cancel=cancel,
                incognito=bool(request.get("incognito")),
            )
            try:
                for piece in stream:
                    emit({"event": "piece", "text": piece})
            except BaseException:
                cancel.set()  # the front end left: stop generating; the partial reply is kept, as in-process
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
                raise
            turn = assistant.last_turn
            if turn is not None:
                RECENT_TRACES.keep(turn.assistant_message_id, turn.trace)
    finally:
        if chat_id:
            CHATS.close(chat_id)
    emit({"event": "done", "turn": to_json(turn) if turn is not None else None})


def cancel_chat(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    CHATS.cancel(str(request["chat"]))
    emit({"event": "done"})


def call(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    """One of the front end's reads or writes, by name, on the service's core."""
    method = str(request.get("method"))
    if method not in READS and method not in WRITES:
        raise AssistantError(f"the service does not offer the front-end call {method!r}")
    args = list(request.get("args") or [])
    if method == "export_memories":
        from pathlib import Path

        args = [Path(args[0])]
    space = backend.space(request.get("settings"))
    if method == "trace_for" and args and RECENT_TRACES.get(str(args[0])) is not None:
        emit({"event": "done", "result": to_json(RECENT_TRACES.get(str(args[0])))})
        return
    frontend = AssistantFrontend(space.assistant)
    function = getattr(frontend, method)
    if method in WRITES:
        with backend.turns:
            result = function(*args, **dict(request.get("kwargs") or {}))
    else:
        result = function(*args, **dict(request.get("kwargs") or {}))
    emit({"event": "done", "result": to_json(result)})


def learn(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    """Learn from a turn now (the protocol's `learn`); the rules' part is sent as soon as it is saved."""
    from assistant.application.turn import Turn

    space = backend.space(request.get("settings"))
    turn = decode(Turn, request["turn"])
    with backend.turns:
        report = AssistantFrontend(space.assistant).learn(
            turn, on_stated=lambda stated: emit({"event": "stated", "report": to_json(stated)})
        )
    emit({"event": "done", "report": to_json(report) if report is not None else None})


def queue_learning(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    """Queue a front end's turn on the scheduler (persisted before the answer); its notices go to its session."""
    from assistant.application.turn import Turn

    session = _session(request)
    space = backend.space(request.get("settings"))
    job = space.jobs.queue_learning(decode(Turn, request["turn"]))
    space.release(job)  # nobody waits for it in the command's way: the session collects its notices
    backend.notices.claim(job, session)
    emit({"event": "done", "job": job})


def wait_learning(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    """The session's learning notices (waiting a few seconds for one), and the scheduler's status."""
    session = _session(request)
    timeout = min(MAX_WAIT_SECONDS, max(0.0, float(request.get("timeout", MAX_WAIT_SECONDS))))
    space = backend.space(request.get("settings"))
    results = backend.notices.collect(session, timeout)
    emit({"event": "done", "results": to_json(results), "status": job_status_to_json(space.jobs.status)})


def job_status(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    space = backend.space(request.get("settings"))
    emit({"event": "done", "status": job_status_to_json(space.jobs.status)})


def request_maintenance(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    backend.space(request.get("settings")).jobs.request_maintenance()
    emit({"event": "done"})


def wait_idle(backend: Backend, request: dict[str, Any], emit: Send) -> None:
    timeout = request.get("timeout")
    idle = backend.space(request.get("settings")).jobs.wait_idle(timeout=None if timeout is None else float(timeout))
    emit({"event": "done", "idle": idle})


HANDLERS: dict[str, Callable[[Any, dict[str, Any], Send], None]] = {
    "frontend.open": open_frontend,
    "frontend.warm_up": warm_up,
    "frontend.chat": chat,
    "frontend.cancel": cancel_chat,
    "frontend.call": call,
    "frontend.learn": learn,
    "frontend.learning.queue": queue_learning,
    "frontend.learning.wait": wait_learning,
    "frontend.learning.status": job_status,
    "frontend.maintenance": request_maintenance,
    "frontend.learning.idle": wait_idle,
}
