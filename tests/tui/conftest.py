"""TUI test helpers: build the app around a fake or the real core."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fakes import FakeAssistant

from assistant.application.protocol import FrontendCore
from assistant.config import Settings
from assistant.tui.app import AssistantApp


@pytest.fixture
def make_app() -> Callable[..., AssistantApp]:
    def make(assistant: FakeAssistant | None = None, settings: Settings | None = None) -> AssistantApp:
        chosen = assistant if assistant is not None else FakeAssistant(settings)

        def factory(current: Settings) -> FrontendCore:
            # Like the real factory, the assistant gets the settings the app has now.
            chosen.settings = current
            return chosen

        return AssistantApp(settings or chosen.settings, factory)

    return make
