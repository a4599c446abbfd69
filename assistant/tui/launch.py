"""`assistant` with no command: open the chat app.

Only light modules are imported before the first paint; the core is opened by the app's
warm-up worker: the warm local service's when it answers (the `service` setting), else the
model, the embedder and the store in this process.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from assistant.config import load_settings

if TYPE_CHECKING:
    from assistant.tui.app import AssistantApp


def build_app(user: str | None = None) -> AssistantApp:
    from assistant.service.remote_frontend import open_frontend
    from assistant.tui.app import AssistantApp

    settings = load_settings(user=user)
    return AssistantApp(settings, open_frontend)


def run_tui(user: str | None) -> int:
    app = build_app(user)
    with terminal_kept_from_native_logs():
        result = app.run()
    return int(result or 0)


@contextmanager
def terminal_kept_from_native_logs() -> Iterator[None]:
    """Draw the app on a private copy of the terminal.

    llama.cpp writes to fd 2 directly, so loading the model points fd 2 at a log file.
    Textual draws on `sys.__stderr__` (fd 2): route fd 2 first and draw on the duplicate
    of the terminal that routing leaves in `sys.stderr`, or the screen would freeze in
    the log file the moment the model loads.
    """
    from assistant.llm.native_log import route_native_stderr

    original = sys.__stderr__
    route_native_stderr()
    sys.__stderr__ = sys.stderr  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        sys.__stderr__ = original  # type: ignore[misc]
