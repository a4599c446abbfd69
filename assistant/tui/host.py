"""What the app's panes and screens may ask of the app that hosts them.

Panes and screens reach the app through these protocols, not through `AssistantApp` itself,
so the app can import them without an import cycle, and a pane's dependencies stay visible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from assistant.application.protocol import BackgroundJobs
    from assistant.tui.widgets.status_bar import StatusBar

Result = TypeVar("Result")


class CoreCaller(Protocol):
    def call_core(
        self,
        function: Callable[..., Result],
        *args: Any,
        then: Callable[[Result], None] | None = None,
        what: str = "",
        quiet: bool = False,
        **kwargs: Any,
    ) -> None:
        """Run a blocking core call in a thread; `then(result)` runs on the UI thread."""


class ChatHost(CoreCaller, Protocol):
    """The chat pane's view of the app."""

    @property
    def status(self) -> StatusBar: ...

    @property
    def scheduler(self) -> BackgroundJobs | None: ...


class PanelHost(CoreCaller, Protocol):
    """The memory panel's view of the app."""

    def open_conversation(self, conversation_id: str, *, focus_message: str | None = None) -> None: ...


class ChatActions(Protocol):
    """The app's actions the command palette offers."""

    def action_new_conversation(self) -> None: ...
    def action_memories(self) -> None: ...
    def action_inspect_last(self) -> None: ...
    def action_settings(self) -> None: ...
    def action_models(self) -> None: ...
    def action_toggle_sidebar(self) -> None: ...
    def action_rename_conversation(self) -> None: ...
    def action_delete_conversation(self) -> None: ...
    def action_undo_learned(self) -> None: ...
    def action_toggle_incognito(self) -> None: ...
    def action_stop_reply(self) -> None: ...
    def action_maintain(self) -> None: ...
