"""Snapshot tests: one per screen, all on the deterministic app in snapshot_app.py.

Update after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`
and look at the SVGs in __snapshots__ before committing them.
"""

from __future__ import annotations

import pytest
from snapshot_app import SnapshotApp, first_run_app
from textual.pilot import Pilot

SIZE = (120, 36)


@pytest.fixture(autouse=True)
def fixed_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    # The setup screen shows these paths; keep them the same on every machine.
    monkeypatch.setenv("ASSISTANT_CONFIG", "/home/sam/.config/assistant/config.toml")
    monkeypatch.setenv("ASSISTANT_DATA_DIR", "/home/sam/.local/share/assistant")


async def settle(pilot: Pilot) -> None:
    # Workers finish, then their messages start more work (counts, lists): wait out a few rounds.
    for _ in range(6):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)


async def exchange(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press(*"remember that I love hiking", "enter")
    await settle(pilot)
    await pilot.press(*"Where do I live?", "enter")
    await settle(pilot)


def test_chat_screen(snap_compare) -> None:
    assert snap_compare("snapshot_app.py:SnapshotApp", terminal_size=SIZE, run_before=exchange)


def test_memory_panel(snap_compare) -> None:
    async def open_panel(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)

    assert snap_compare(SnapshotApp(), terminal_size=SIZE, run_before=open_panel)


def test_inspector(snap_compare) -> None:
    async def inspect(pilot: Pilot) -> None:
        await exchange(pilot)
        await pilot.press("f3")
        await settle(pilot)

    assert snap_compare(SnapshotApp(), terminal_size=SIZE, run_before=inspect)


def test_settings(snap_compare) -> None:
    async def open_settings(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)

    assert snap_compare(SnapshotApp(), terminal_size=SIZE, run_before=open_settings)


def test_first_run(snap_compare) -> None:
    assert snap_compare(first_run_app(), terminal_size=SIZE, run_before=settle)


def test_forget_confirmation(snap_compare) -> None:
    async def ask(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)

    assert snap_compare(SnapshotApp(), terminal_size=SIZE, run_before=ask)
