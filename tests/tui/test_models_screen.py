"""The model manager (F6), driven with the pilot: the list, a download from a local stand-in
for the hub with progress, a stop midway and a resume, then switching to the new model
without restarting (the app swaps its core).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fake_hub import FakeHub, HubFile
from fakes import FakeAssistant
from pilot_helpers import app_making_new_cores, settle
from textual.widgets import DataTable, Label, ProgressBar

from assistant.config import Settings, load_settings
from assistant.llm.catalog import load_catalog
from assistant.llm.pull import partial_path
from assistant.tui.app import AssistantApp
from assistant.tui.screens.models import ModelsScreen


def _downloadable() -> str:
    return next(name for name, entry in load_catalog().items() if not entry.bundled and entry.repo)


async def _until(pilot, condition, seconds: float = 60.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out waiting for the screen")


def _select(screen: ModelsScreen, name: str) -> None:
    names = [row.name for row in screen.rows]
    screen.query_one(DataTable).move_cursor(row=names.index(name))


async def test_the_manager_lists_the_active_model_first_and_the_catalog_to_download() -> None:
    app = AssistantApp(Settings(), lambda settings: FakeAssistant(settings))
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("f6")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ModelsScreen)
        first = screen.rows[0]
        assert first.name == "smollm2-135m-instruct" and first.state == "active"
        assert any(row.state == "to download" and row.name == _downloadable() for row in screen.rows)
        table = screen.query_one(DataTable)
        assert table.row_count == len(screen.rows)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ModelsScreen)


async def test_download_shows_progress_stops_resumes_and_the_new_model_is_used_without_restart(
    hub: FakeHub, starter_model_path: Path, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _downloadable()
    entry = load_catalog()[name]
    content = starter_model_path.read_bytes()
    served = HubFile(content=content, etag=hashlib.sha256(content).hexdigest(), seconds_per_megabyte=0.05)
    hub.files[f"{entry.repo}/{entry.file}"] = served
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)

    made: list[FakeAssistant] = []
    app = app_making_new_cores(made)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("f6")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ModelsScreen)
        _select(screen, name)
        await pilot.press("d")
        bar = screen.query_one("#pull-progress", ProgressBar)
        await _until(pilot, lambda: (bar.progress or 0) > 0 and bar.total == len(content))
        await pilot.press("x")  # stop midway
        await _until(pilot, lambda: screen.downloading is None)
        status = str(screen.query_one("#pull-status", Label).render())
        assert "stopped" in status, status
        kept = partial_path(name)
        assert 0 < kept.stat().st_size < len(content), "what was fetched must stay for the resume"
        assert next(row for row in screen.rows if row.name == name).state == "to download"

        served.seconds_per_megabyte = 0.0
        _select(screen, name)
        await pilot.press("d")
        await _until(pilot, lambda: screen.downloading is None)
        assert any(request[2] for request in hub.gets()), "the second download did not resume with a range"
        assert next(row for row in screen.rows if row.name == name).state == "ready"

        _select(screen, name)
        await pilot.press("u")
        await pilot.pause()
        assert screen.rows[0].name == name and screen.rows[0].state == "active"
        await pilot.press("escape")
        await settle(app, pilot)
        await settle(app, pilot)
        assert load_settings().model == name
        assert made[-1].settings.model == name and len(made) == 2 and made[0].closed
