"""TUI test helpers: build the app around a fake or the real core."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fakes import FakeAssistant

from assistant.config import Settings
from assistant.tui.app import AssistantApp


@pytest.fixture
def make_app() -> Callable[..., AssistantApp]:
    def make(assistant: Any | None = None, settings: Settings | None = None) -> AssistantApp:
        chosen = assistant if assistant is not None else FakeAssistant(settings)

        def factory(current: Settings) -> Any:
            # Like the real factory, the assistant gets the settings the app has now.
            chosen.settings = current
            return chosen

        return AssistantApp(settings or chosen.settings, factory)

    return make
