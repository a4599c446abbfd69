"""CoreCallingApp: an App that calls the blocking core from thread workers and hears back by message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from textual import work
from textual.app import App
from textual.worker import Worker, WorkerState

from assistant.errors import AssistantError
from assistant.tui.internal_errors import report_bug
from assistant.tui.messages import CoreCall, CoreFailed, CoreResult

Result = TypeVar("Result")


class CoreCallingApp(App[int]):
    def call_core(
        self,
        function: Callable[..., Result],
        *args: Any,
        then: Callable[[Result], None] | None = None,
        what: str = "",
        quiet: bool = False,
        **kwargs: Any,
    ) -> None:
        """Run a blocking core call in a thread; `then(result)` runs on the UI thread.

        An AssistantError is shown as "Failed: `what`" (unless `quiet`); anything else is a bug.
        """
        self._core_worker(CoreCall(then=then, what=what), quiet, function, args, kwargs)

    @work(thread=True, group="core", exit_on_error=False)
    def _core_worker(
        self, call: CoreCall, quiet: bool, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        try:
            value = function(*args, **kwargs)
        except AssistantError as error:
            if not quiet:
                self.post_message(CoreFailed(call, str(error)))
            return
        self.post_message(CoreResult(call, value))

    def on_core_result(self, message: CoreResult) -> None:
        if message.call.then is not None:
            message.call.then(message.value)

    def on_core_failed(self, message: CoreFailed) -> None:
        title = f"Failed: {message.call.what}" if message.call.what else "Failed"
        self.notify(message.error, title=title, severity="error", timeout=10)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Widgets report their own workers' errors; these are the app's.
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            report_bug(self, event.worker.error)
            self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker[Any]) -> None:
        """After an app worker's bug was reported: put the screen right."""
