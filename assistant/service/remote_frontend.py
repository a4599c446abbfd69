"""RemoteFrontend: the front-end protocol over the warm service's socket, for the TUI.

`open_frontend` is the TUI's core factory: with the `service` setting at 'auto' (it starts
the service when none runs) or 'running', and a service that answers with the TUI's own
settings, the TUI gets a `RemoteFrontend`; otherwise (service off, cannot start, another
version, other settings) the in-process `AssistantFrontend`, with the same results.

Each call is one short connection (one request per connection, as the protocol has it), so
calls from the TUI's worker threads never share a socket. Learning notices come back by long
polling: `RemoteJobs` queues the TUI's turns on the service's scheduler under this front
end's session id, and a thread of its own collects what the service learned from them and
hands it to the TUI's callbacks, as the in-process scheduler's thread does.

Imports the standard library, the foundation, the views and the thin client: nothing that
loads the model, the embedder or the store (the in-process core is imported only to fall back).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.application.context import ContextTrace
from assistant.application.turn import LearnReport, Turn
from assistant.application.views import JobStatus, MemoryDetail, MemoryRow, TextChanges
from assistant.config import Settings
from assistant.errors import AssistantError, ModelError
from assistant.memory.types import Conversation, Memory, Message
from assistant.service import client
from assistant.service.view_json import decode, from_json, job_status_from_json, learning_result_from_json, to_json

if TYPE_CHECKING:
    from assistant.application.protocol import BackgroundJobs, FrontendCore, LearningCallback

log = logging.getLogger(__name__)

# How long one learning wait may hold its connection (the service caps it too).
POLL_SECONDS = 2.0
# After the service could not be reached, before asking again.
RETRY_SECONDS = 1.0
# How often a reply's cancel switch is looked at while the service generates.
CANCEL_CHECK_SECONDS = 0.05


def _connect(settings: Settings) -> client.Connection:
    """A connection to the service; with 'auto' a service that stopped (idle, crashed) is started again."""
    connection = client.connect_or_start() if settings.service == "auto" else client.connect()
    if connection is None:
        raise client.ServiceUnavailable("the local service is no longer running (`assistant serve` starts it)")
    return connection


class RemoteFrontend:
    """Implements `assistant.application.protocol.FrontendCore` by asking the warm service."""

    def __init__(self, settings: Settings, *, model_error: str | None = None) -> None:
        self._settings = settings
        self.session = uuid.uuid4().hex  # names this front end's learning on the service
        self._model_error = model_error
        self._last_turn: Turn | None = None

    # -- requests ------------------------------------------------------------------------

    def _fields(self) -> dict[str, Any]:
        return {"settings": self._settings.model_dump(mode="json"), "session": self.session}

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """One request's "done" event (a "fallback" or "error" raises an AssistantError)."""
        with _connect(self._settings) as connection:
            return connection.call(op, **self._fields(), **fields)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.request("frontend.call", method=method, args=to_json(list(args)), kwargs=to_json(kwargs)).get(
            "result"
        )

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def user(self) -> str:
        return self._settings.user

    def warm_up(self) -> None:
        if self._model_error is None:
            self._model_error = self.request("frontend.warm_up").get("model_error")
        if self._model_error is not None:
            raise ModelError(self._model_error)

    def cancel_background(self) -> None:
        """The service's background work is the service's: closing the TUI leaves it running."""

    def close(self) -> None:
        """Nothing to flush here: the service holds the store."""

    def maintenance_jobs(
        self,
        on_progress: Callable[[JobStatus], None],
        *,
        on_stated: LearningCallback | None = None,
        on_learned: LearningCallback | None = None,
    ) -> BackgroundJobs | None:
        return RemoteJobs(self, on_progress=on_progress, on_stated=on_stated, on_learned=on_learned)

    # -- conversations -------------------------------------------------------------------

    def list_conversations(self) -> list[Conversation]:
        return from_json(list[Conversation], self._call("list_conversations"))  # type: ignore[no-any-return]

    def conversation_messages(self, conversation_id: str) -> list[Message]:
        return from_json(list[Message], self._call("conversation_messages", conversation_id))  # type: ignore[no-any-return]

    def rename_conversation(self, conversation_id: str, title: str) -> None:
        self._call("rename_conversation", conversation_id, title)

    def delete_conversation(self, conversation_id: str) -> None:
        self._call("delete_conversation", conversation_id)

    # -- chat ----------------------------------------------------------------------------

    def stream_reply(
        self,
        text: str,
        *,
        conversation_id: str | None = None,
        cancel: threading.Event | None = None,
        incognito: bool = False,
    ) -> Iterator[str]:
        chat_id = uuid.uuid4().hex
        connection = _connect(self._settings)
        events = connection.request(  # sent once the pieces are asked for, as the in-process reply starts
            "frontend.chat",
            **self._fields(),
            text=text,
            conversation=conversation_id,
            incognito=incognito,
            chat=chat_id,
        )
        return self._pieces(connection, events, cancel, chat_id)

    def _pieces(
        self,
        connection: client.Connection,
        events: Iterator[dict[str, Any]],
        cancel: threading.Event | None,
        chat_id: str,
    ) -> Iterator[str]:
        finished = threading.Event()
        if cancel is not None:
            watcher = threading.Thread(
                target=self._forward_cancel, args=(cancel, finished, chat_id), name="reply-cancel", daemon=True
            )
            watcher.start()
        try:
            with connection:
                for event in events:
                    if event.get("event") == "piece":
                        yield str(event["text"])
                    elif event.get("event") == "done":
                        turn = event.get("turn")
                        self._last_turn = decode(Turn, turn) if turn is not None else None
        finally:
            finished.set()

    def _forward_cancel(self, cancel: threading.Event, finished: threading.Event, chat_id: str) -> None:
        """Esc in the TUI: tell the service to stop this reply (it keeps the partial reply, as in-process)."""
        while not finished.is_set():
            if cancel.wait(CANCEL_CHECK_SECONDS):
                if not finished.is_set():
                    with contextlib.suppress(AssistantError, OSError):
                        self.request("frontend.cancel", chat=chat_id)
                return

    @property
    def last_turn(self) -> Turn | None:
        return self._last_turn

    def trace_for(self, assistant_message_id: str) -> ContextTrace | None:
        return from_json(ContextTrace, self._call("trace_for", assistant_message_id))  # type: ignore[no-any-return]

    # -- learning ------------------------------------------------------------------------

    def learn(self, turn: Turn, *, on_stated: Callable[[LearnReport], None] | None = None) -> LearnReport | None:
        report: LearnReport | None = None
        with _connect(self._settings) as connection:
            for event in connection.request("frontend.learn", **self._fields(), turn=to_json(turn)):
                if event.get("event") == "stated" and on_stated is not None:
                    on_stated(decode(LearnReport, event["report"]))
                elif event.get("event") == "done" and event.get("report") is not None:
                    report = decode(LearnReport, event["report"])
        return report

    def undo_learned(self, memory_ids: list[str]) -> None:
        self._call("undo_learned", memory_ids)

    def tidy(self) -> None:
        self._call("tidy")

    # -- the memory panel ----------------------------------------------------------------

    def count_memories(self) -> int:
        return int(self._call("count_memories"))

    def find_memories(
        self, query: str = "", *, kind: str | None = None, status: str | None = "active", sort: str = "relevance"
    ) -> list[MemoryRow]:
        rows = self._call("find_memories", query, kind=kind, status=status, sort=sort)
        return from_json(list[MemoryRow], rows)  # type: ignore[no-any-return]

    def memory_detail(self, memory_id: str) -> MemoryDetail | None:
        return from_json(MemoryDetail, self._call("memory_detail", memory_id))  # type: ignore[no-any-return]

    def memories_by_id(self, memory_ids: list[str]) -> list[Memory]:
        return from_json(list[Memory], self._call("memories_by_id", memory_ids))  # type: ignore[no-any-return]

    def edit_memory(self, memory_id: str, text: str) -> Memory:
        return decode(Memory, self._call("edit_memory", memory_id, text))

    def pin_memory(self, memory_id: str) -> Memory:
        return decode(Memory, self._call("pin_memory", memory_id))

    def unpin_memory(self, memory_id: str) -> Memory:
        return decode(Memory, self._call("unpin_memory", memory_id))

    def archive_memory(self, memory_id: str) -> Memory:
        return decode(Memory, self._call("archive_memory", memory_id))

    def restore_memory(self, memory_id: str) -> Memory:
        return decode(Memory, self._call("restore_memory", memory_id))

    def forget_memory(self, memory_id: str) -> int:
        return int(self._call("forget_memory", memory_id))

    def forget_everything(self) -> None:
        self._call("forget_everything")

    def export_memories(self, path: Path) -> dict[str, int]:
        # The service writes the file: give it the path as this process resolves it.
        written = self._call("export_memories", str(Path(path).expanduser().resolve()))
        return {str(kind): int(count) for kind, count in dict(written).items()}

    def profile_text(self) -> str:
        return str(self._call("profile_text"))

    def save_profile(self, text: str) -> TextChanges:
        return decode(TextChanges, self._call("save_profile", text))

    def rules_text(self) -> str:
        return str(self._call("rules_text"))

    def save_rules(self, text: str) -> TextChanges:
        return decode(TextChanges, self._call("save_rules", text))


class RemoteJobs:
    """The service's scheduler as the TUI drives it: queue the TUI's turns there, hear what it learned.

    The callbacks run on this object's own thread, as the in-process scheduler's run on its
    worker: the TUI only posts messages from them.
    """

    def __init__(
        self,
        frontend: RemoteFrontend,
        *,
        on_progress: Callable[[JobStatus], None] | None = None,
        on_stated: LearningCallback | None = None,
        on_learned: LearningCallback | None = None,
    ) -> None:
        self.frontend = frontend
        self.on_progress = on_progress
        self.on_stated = on_stated
        self.on_learned = on_learned
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status = JobStatus()
        self._polling: client.Connection | None = None
        self._guard = threading.Lock()

    @property
    def status(self) -> JobStatus:
        return self._status

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._listen, name="service-notices", daemon=True)
        self._thread.start()

    def close(self, timeout: float | None = 30.0) -> None:
        """Stop listening (the service's scheduler goes on: what it learns is in the store)."""
        self._stop.set()
        with self._guard:
            polling = self._polling
        if polling is not None:
            with contextlib.suppress(OSError):
                polling.channel.sock.shutdown(2)  # ends the wait in progress at once
        if self._thread is not None:
            self._thread.join(timeout)

    def queue_learning(self, turn: Turn) -> str:
        return str(self.frontend.request("frontend.learning.queue", turn=to_json(turn))["job"])

    def request_maintenance(self) -> None:
        self.frontend.request("frontend.maintenance")

    def wait_idle(self, timeout: float | None = None) -> bool:
        return bool(self.frontend.request("frontend.learning.idle", timeout=timeout).get("idle"))

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                answer = self._wait_once()
            except (AssistantError, OSError) as error:
                if self._stop.is_set():
                    return
                log.info("waiting for learning notices: %s", error)
                self._stop.wait(RETRY_SECONDS)
                continue
            self._publish_status(job_status_from_json(answer.get("status") or {}))
            for data in answer.get("results") or []:
                result = learning_result_from_json(data)
                callback = self.on_learned if result.final else self.on_stated
                if callback is not None:
                    callback(result)

    def _wait_once(self) -> dict[str, Any]:
        connection = client.connect()  # waiting never starts a service: the next chat does
        if connection is None:
            raise client.ServiceUnavailable("the local service is not running")
        with self._guard:
            self._polling = connection
        try:
            with connection:
                return connection.call("frontend.learning.wait", **self.frontend._fields(), timeout=POLL_SECONDS)
        finally:
            with self._guard:
                self._polling = None

    def _publish_status(self, status: JobStatus) -> None:
        if status != self._status:
            self._status = status
            if self.on_progress is not None:
                self.on_progress(status)


def open_frontend(settings: Settings) -> FrontendCore:
    """The TUI's core: the warm service's when it serves these settings, else the in-process one."""
    remote = _served(settings)
    if remote is not None:
        return remote
    from assistant.application.frontend import AssistantFrontend

    return AssistantFrontend.open(settings)


def _served(settings: Settings) -> RemoteFrontend | None:
    if settings.service == "off" or sys.platform == "win32":
        return None
    try:
        connection = client.connect_or_start() if settings.service == "auto" else client.connect()
        if connection is None:
            return None
        frontend = RemoteFrontend(settings)
        with connection:
            opened = connection.call("frontend.open", **frontend._fields())
    except client.Fallback as reason:
        log.info("the service cannot serve the TUI: %s", reason)
        return None
    except (AssistantError, OSError) as error:
        log.warning("the local service is unavailable (%s); working in this process", error)
        return None
    frontend._model_error = opened.get("model_error")
    return frontend
