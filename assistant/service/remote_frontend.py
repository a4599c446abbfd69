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
from assistant.service.view_json import decode, from_json, to_json

if TYPE_CHECKING:
    from assistant.application.protocol import BackgroundJobs, FrontendCore, LearningCallback

log = logging.getLogger(__name__)

# How often a reply's cancel switch is looked at while the service generates.
CANCEL_CHECK_SECONDS = 0.05


class RemoteFrontend:
    """Implements `assistant.application.protocol.FrontendCore` by asking the warm service."""

    def __init__(self, settings: Settings, *, model_error: str | None = None) -> None:
        self._settings = settings
        self.session = uuid.uuid4().hex  # names this front end's learning on the service
        self._model_error = model_error
        self._last_turn: Turn | None = None

    # -- requests ------------------------------------------------------------------------

    def fields(self) -> dict[str, Any]:
        """What every request of this front end carries: its settings (the service checks them) and its session."""
        return {"settings": self._settings.model_dump(mode="json"), "session": self.session}

    def connect(self) -> client.Connection:
        """A connection to the service; with 'auto' a service that stopped (idle, crashed) is started again."""
        connection = client.connect_to(self._settings.service)
        if connection is None:
            raise client.ServiceUnavailable("the local service is no longer running (`assistant serve` starts it)")
        return connection

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """One request's "done" event (a "fallback" or "error" raises an AssistantError)."""
        with self.connect() as connection:
            return connection.call(op, **self.fields(), **fields)

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
        from assistant.service.remote_jobs import RemoteJobs

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
        connection = self.connect()
        events = connection.request(  # sent once the pieces are asked for, as the in-process reply starts
            "frontend.chat",
            **self.fields(),
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
        self._last_turn = None  # as in-process, the last turn is this one's from now on (none if it fails)
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
        with self.connect() as connection:
            for event in connection.request("frontend.learn", **self.fields(), turn=to_json(turn)):
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


def open_frontend(settings: Settings) -> FrontendCore:
    """The TUI's core: the warm service's when it serves these settings, else the in-process one."""
    remote = _served(settings)
    if remote is not None:
        return remote
    from assistant.application.frontend import AssistantFrontend

    return AssistantFrontend.open(settings)


def _served(settings: Settings, *, reloaded: bool = False) -> RemoteFrontend | None:
    if settings.service == "off" or sys.platform == "win32":
        return None
    try:
        connection = client.connect_to(settings.service)
        if connection is None:
            return None
        frontend = RemoteFrontend(settings)
        with connection:
            opened = connection.call("frontend.open", **frontend.fields())
    except client.Fallback as reason:
        # The settings screen changed the config file: the service takes it up (restarting) and serves again.
        if not reloaded and client.take_up_settings():
            return _served(settings, reloaded=True)
        log.info("the service cannot serve the TUI: %s", reason)
        return None
    except (AssistantError, OSError) as error:
        log.warning("the local service is unavailable (%s); working in this process", error)
        return None
    frontend._model_error = opened.get("model_error")
    return frontend
