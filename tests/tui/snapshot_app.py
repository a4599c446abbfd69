"""App factory for snapshot tests and the docs screenshots: the real app around a seeded, deterministic fake."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakes import FakeAssistant, seeded_assistant  # noqa: E402

from assistant.application.protocol import FrontendCore  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.tui.app import AssistantApp  # noqa: E402
from assistant.tui.widgets.chat_input import ChatInput  # noqa: E402

SNAPSHOT_SETTINGS = Settings(threads=4, user="sam")


class SnapshotApp(AssistantApp):
    """The chat app with a seeded fake; `fail` makes warm-up fail like a missing model does."""

    def __init__(self, *, fail: str | None = None) -> None:
        fake = seeded_assistant(SNAPSHOT_SETTINGS)
        fake.fail_warm_up = fail

        def factory(settings: Settings) -> FrontendCore:
            fake.settings = settings
            return fake

        super().__init__(SNAPSHOT_SETTINGS, factory)
        self.fake: FakeAssistant = fake

    def on_mount(self) -> None:
        # Textual runs AssistantApp.on_mount too (handlers run along the class hierarchy).
        # A blinking cursor would make the screenshots differ run to run.
        self.query_one(ChatInput).cursor_blink = False


def first_run_app() -> SnapshotApp:
    return SnapshotApp(fail="the bundled model 'smollm2-135m-instruct' is missing: reinstall the app")
