"""Settings changed while a service runs: the service takes them up (restarting in place), the clients stay thin.

The app's settings screen writes the config file; the running service read it when it
started. Asked to reload, it restarts itself on the same socket and pid (service/restart.py),
so the app and the commands are served again instead of working in their own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import Input

from assistant.cli import remote
from assistant.config import load_settings, save_settings
from assistant.locations import config_file
from assistant.service import client, paths
from assistant.service.remote_frontend import RemoteFrontend
from assistant.tui.launch import build_app
from assistant.tui.screens.settings import SettingsScreen
from tests.e2e.test_service import _alive, _start, light_service  # noqa: F401 (a fixture)
from tests.e2e.test_tui_service import idle, wait_until, warm_service  # noqa: F401 (a fixture)

CONNECT = """
from assistant.service import client
with client.connect_or_start() as connection:
    print(connection.pid)
"""


def _instance() -> str:
    with client.connect() as connection:
        return str(connection.welcome["instance"])


@pytest.mark.usefixtures("light_service")
def test_a_service_restarts_in_place_to_take_up_changed_settings() -> None:
    pid = _start()
    before = _instance()
    assert client.take_up_settings() is False  # nothing changed: it keeps running as it is
    assert _instance() == before

    save_settings({"recall_k": 3})
    # Commands arriving while it restarts wait in the socket's backlog: none starts a second service.
    racers = [
        subprocess.Popen([sys.executable, "-c", CONNECT], stdout=subprocess.PIPE, text=True, env=dict(os.environ))
        for _ in range(3)
    ]
    assert client.take_up_settings() is True
    assert {racer.communicate(timeout=120)[0].strip() for racer in racers} == {str(pid)}
    assert all(racer.returncode == 0 for racer in racers)

    status = client.status()
    assert status is not None and status["pid"] == pid and _instance() != before
    assert paths.lifetime_lock_path().read_text().strip() == str(pid)
    assert "its settings changed: recall_k" in paths.log_path().read_text()
    # It now serves the new settings, and answers the old ones with "fallback".
    served = remote.call(load_settings(), "memory.list", json=True)
    assert served is not None and json.loads(served["output"]) == []
    assert remote.call(load_settings(recall_k=8), "memory.list", json=True) is None
    assert client.take_up_settings() is False


@pytest.mark.usefixtures("light_service")
def test_a_config_file_that_no_longer_loads_leaves_the_service_as_it_is() -> None:
    pid = _start()
    before = _instance()
    Path(config_file()).write_text("recall_k = [not toml\n", encoding="utf-8")
    assert client.take_up_settings() is False
    assert _alive(pid) and _instance() == before


@pytest.mark.usefixtures("light_service")
def test_a_command_is_served_after_the_config_file_changed() -> None:
    from tests.conftest import run_cli

    pid = _start()
    save_settings({"recall_k": 4})
    listed = run_cli("memory", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    assert "working in this process" not in listed.stderr
    assert client.status()["pid"] == pid and "its settings changed: recall_k" in paths.log_path().read_text()


@pytest.mark.slow
async def test_settings_changed_in_the_app_reach_the_running_service(warm_service: int) -> None:  # noqa: F811
    app = build_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.ready)
        assert isinstance(app.assistant, RemoteFrontend)
        before = _instance()

        await pilot.press("f4")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        app.screen.query_one("#field-recall_k", Input).value = "3"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await wait_until(pilot, lambda: app.ready)
        # Still the service's thin client, of the same service, restarted with the new settings.
        assert isinstance(app.assistant, RemoteFrontend) and app.settings.recall_k == 3
        assert client.status()["pid"] == warm_service and _instance() != before

        await pilot.press(*"My cat is called Tofu.", "enter")
        await idle(app, pilot)
        conversation = app.conversation_id
        assert conversation is not None
        texts = [message.content for message in app.assistant.conversation_messages(conversation)]
        assert texts[0] == "My cat is called Tofu." and len(texts) == 2
    started = time.monotonic()
    while (client.status() or {}).get("pending_learning") and time.monotonic() - started < 60:
        time.sleep(0.2)
