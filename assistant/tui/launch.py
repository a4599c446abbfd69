"""`assistant` with no command: open the chat app.

Only light modules are imported before the first paint; the core (and with it the model,
the embedder and the store) is imported and opened by the app's warm-up worker.
"""

from __future__ import annotations

from typing import Any

from assistant.config import Settings, load_settings


def make_assistant(settings: Settings) -> Any:
    from assistant.core import Assistant

    return Assistant(settings)


def build_app(user: str | None = None) -> Any:
    from assistant.tui.app import AssistantApp

    settings = load_settings(user=user)
    return AssistantApp(settings, make_assistant)


def run_tui(user: str | None) -> int:
    app = build_app(user)
    result = app.run()
    return int(result or 0)
