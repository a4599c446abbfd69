"""Inspector, settings and first-run screens on the fake core."""

from __future__ import annotations

import tomllib

from fakes import FakeAssistant, seeded_assistant
from pilot_helpers import settle
from textual.widgets import Collapsible, DataTable, Input, Switch

from assistant import locations
from assistant.config import load_settings
from assistant.tui.screens.inspector import InspectorScreen
from assistant.tui.screens.settings import SettingsScreen
from assistant.tui.screens.setup import SetupScreen


async def test_used_memories_notice_opens_the_inspector(make_app) -> None:
    fake = seeded_assistant()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press(*"where do I live", "enter")
        await settle(app, pilot)
        trace = fake.last_turn.trace
        assert len(trace.memories) == 3
        await pilot.click("#inspect")
        await settle(app, pilot)
        assert isinstance(app.screen, InspectorScreen)
        table = app.screen.query_one("#inspector-memories", DataTable)
        assert [key.value for key in table.rows] == [m.id for m in trace.memories]
        titles = [c.title for c in app.screen.query(Collapsible)]
        assert titles == [f"{s.name} — {s.tokens} tokens" for s in trace.sections]
        assert "40 tokens of a 3000-token budget" in str(app.screen.query_one("#inspector-summary").render())
        await pilot.press("escape")
        await pilot.press("f3")
        await settle(app, pilot)
        assert isinstance(app.screen, InspectorScreen) and app.screen.trace is trace


async def test_settings_are_validated_and_saved_to_the_config_file(make_app) -> None:
    fake = FakeAssistant()
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("f4")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        screen.query_one("#field-context_size", Input).value = "100"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        assert not locations.config_file().exists()
        screen.query_one("#field-context_size", Input).value = "2048"
        screen.query_one("#field-memory_enabled", Switch).value = False
        screen.query_one("#field-decay_half_life_days", Input).value = "45.5"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert not isinstance(app.screen, SettingsScreen)
        saved = tomllib.loads(locations.config_file().read_text())
        assert saved == {"context_size": 2048, "memory_enabled": False, "decay_half_life_days": 45.5}
        assert load_settings().context_size == 2048
        assert app.settings.context_size == 2048 and app.ready


async def test_first_run_setup_then_settings_then_ready(make_app) -> None:
    fake = FakeAssistant(fail_warm_up="the bundled model 'smollm2-135m-instruct' is missing")
    app = make_app(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, SetupScreen)
        assert not app.ready
        await pilot.press("f4")
        await settle(app, pilot)
        assert isinstance(app.screen, SettingsScreen)
        fake.fail_warm_up = None
        app.screen.query_one("#field-threads", Input).value = "3"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.ready and fake.warmed
        assert not isinstance(app.screen, SetupScreen | SettingsScreen)
        assert load_settings().threads == 3


async def test_every_chat_action_is_in_the_palette_and_themes_apply(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for binding in app.BINDINGS:
            key = binding.key.split(",")[0]
            assert any(f"({key})" in title for title in titles), f"{binding.action} is not in the palette"
        shown = {binding.key for binding in app.BINDINGS if binding.show}
        assert {"escape", "ctrl+n", "f2", "f3", "f4"} <= shown
        status = app.query_one("#status")
        dark_background = status.styles.background
        app.theme = "textual-light"
        await pilot.pause()
        assert status.styles.background != dark_background
