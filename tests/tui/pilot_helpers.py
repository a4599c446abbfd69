"""What the pilot tests of the app share: waiting for it to finish its work, and an app whose
factory opens a new (fake) core each time, as the real one does."""

from __future__ import annotations

from fakes import FakeAssistant

from assistant.config import Settings
from assistant.tui.app import AssistantApp


async def settle(app: AssistantApp, pilot) -> None:  # type: ignore[no-untyped-def]
    """Let the app's workers finish and the screen catch up (three rounds: work starts work)."""
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def app_making_new_cores(made: list[FakeAssistant]) -> AssistantApp:
    """Like the real factory: every call opens a new core for the settings it is given."""

    def factory(settings: Settings) -> FakeAssistant:
        made.append(FakeAssistant(settings))
        return made[-1]

    return AssistantApp(Settings(), factory)
