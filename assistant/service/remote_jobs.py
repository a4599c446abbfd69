"""RemoteJobs: the warm service's scheduler as the TUI drives it, from the TUI's process.

The TUI queues learning from its turns here; the service's scheduler does it (persisted
first, as in-process) and files what it learned under this front end's session. A thread of
this object's own collects it by long polling (`frontend.learning.wait`, a few seconds per
connection, so a stopping service is never held up long) and calls the TUI's callbacks, as
the in-process scheduler's worker thread does.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from assistant.application.turn import LearnReport, Turn
from assistant.application.views import JobStatus, LearningResult
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.service import client
from assistant.service.view_json import job_status_from_json, learning_result_from_json, to_json

if TYPE_CHECKING:
    from assistant.application.protocol import LearningCallback

log = logging.getLogger(__name__)

# How long one learning wait may hold its connection (the service caps it too).
POLL_SECONDS = 2.0
# After the service could not be reached, before asking again.
RETRY_SECONDS = 1.0
SERVICE_RESTARTED = (
    "The local service restarted while it was learning from this message; what it learned is in the memory panel (F2)."
)


class ServiceSession(Protocol):
    """The front end the jobs belong to (a RemoteFrontend)."""

    @property
    def settings(self) -> Settings: ...

    def fields(self) -> dict[str, Any]: ...

    def connect(self) -> client.Connection: ...

    def request(self, op: str, **fields: Any) -> dict[str, Any]: ...


class RemoteJobs:
    """The service's scheduler as the TUI drives it: queue the TUI's turns there, hear what it learned.

    The callbacks run on this object's own thread, as the in-process scheduler's run on its
    worker: the TUI only posts messages from them.
    """

    def __init__(
        self,
        frontend: ServiceSession,
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
        # Queued jobs not yet finished, with the pid of the service that took them.
        self._outstanding: dict[str, tuple[Turn, int]] = {}

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
        with self.frontend.connect() as connection:
            job = str(connection.call("frontend.learning.queue", **self.frontend.fields(), turn=to_json(turn))["job"])
            with self._guard:
                self._outstanding[job] = (turn, connection.pid)
        return job

    def request_maintenance(self) -> None:
        self.frontend.request("frontend.maintenance")

    def wait_idle(self, timeout: float | None = None) -> bool:
        return bool(self.frontend.request("frontend.learning.idle", timeout=timeout).get("idle"))

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                waited = self._wait_once()
            except (AssistantError, OSError) as error:
                if self._stop.is_set():
                    return
                log.info("waiting for learning notices: %s", error)
                self._stop.wait(RETRY_SECONDS)
                continue
            answer, pid = waited
            self._publish_status(job_status_from_json(answer.get("status") or {}))
            for data in answer.get("results") or []:
                result = learning_result_from_json(data)
                if result.final:
                    with self._guard:
                        self._outstanding.pop(result.job, None)
                callback = self.on_learned if result.final else self.on_stated
                if callback is not None:
                    callback(result)
            self._end_lost_jobs(pid)

    def _end_lost_jobs(self, pid: int) -> None:
        """Jobs an earlier service took: it stopped, the next one learns them from the queue on disk, unheard."""
        with self._guard:
            lost = {job: turn for job, (turn, taken_by) in self._outstanding.items() if taken_by != pid}
            for job in lost:
                self._outstanding.pop(job)
        for job, turn in lost.items():
            if self.on_learned is not None:
                self.on_learned(
                    LearningResult(job=job, turn=turn, report=LearnReport(notices=[SERVICE_RESTARTED]), final=True)
                )

    def _wait_once(self) -> tuple[dict[str, Any], int]:
        connection = client.connect_to(self.frontend.settings.service, start=False)  # the next chat starts one
        if connection is None:
            raise client.ServiceUnavailable("the local service is not running")
        with self._guard:
            self._polling = connection
        try:
            with connection:
                answer = connection.call("frontend.learning.wait", **self.frontend.fields(), timeout=POLL_SECONDS)
                return answer, connection.pid
        finally:
            with self._guard:
                self._polling = None

    def _publish_status(self, status: JobStatus) -> None:
        if status != self._status:
            self._status = status
            if self.on_progress is not None:
                self.on_progress(status)
