"""The TUI as a thin client of the warm service (real model, embedder and store), beside the CLI.

The app is built by the real factory (`assistant.tui.launch.build_app`): with the service
warm it gets a `RemoteFrontend`, chats, hears what the service learned from its turns,
inspects a reply's context and edits memories in the panel, while `assistant memory …`
commands in other processes see and change the same memories. One service per test, stopped
at teardown.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.message import Message
from textual.widgets import DataTable, Input

from assistant.application.frontend import AssistantFrontend
from assistant.config import load_settings
from assistant.service import client
from assistant.service.remote_frontend import RemoteFrontend, open_frontend
from assistant.tui.launch import build_app
from assistant.tui.messages import Learned, ReplyChunk, ReplyDone
from assistant.tui.screens.inspector import InspectorScreen
from assistant.tui.screens.memories import MemoryScreen
from assistant.tui.widgets.conversations import ConversationList
from assistant.tui.widgets.transcript import NoticeBar
from tests.conftest import run_cli
from tests.e2e.test_service import _stop_everything, light_service  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow

HEAVY = ("torch", "sentence_transformers", "transformers", "lancedb", "lance", "llama_cpp")


@pytest.fixture
def warm_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A warm service for this test's data dir (the app and the commands share its settings); its pid."""
    monkeypatch.setenv("ASSISTANT_SERVICE", "auto")
    monkeypatch.setenv("ASSISTANT_MODEL_EXTRACTION", "false")  # rules only: the same queue, quicker
    monkeypatch.setenv("ASSISTANT_TEMPERATURE", "0")
    monkeypatch.setenv("ASSISTANT_SEED", "0")
    monkeypatch.setenv("ASSISTANT_MAX_REPLY_TOKENS", "24")
    monkeypatch.setenv("ASSISTANT_CONTEXT_SIZE", "2048")
    try:
        with client.connect_or_start() as connection:
            pid = connection.pid
        deadline = time.monotonic() + 300
        while not (client.status() or {}).get("warm"):
            assert time.monotonic() < deadline, "the service did not warm up"
            time.sleep(0.2)
        yield pid
    finally:
        _stop_everything()


async def wait_until(pilot, condition: Callable[[], bool], timeout: float = 240.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the app"
        await pilot.pause(0.1)


async def idle(app, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        await wait_until(pilot, lambda: not any(worker.is_running for worker in app.workers))
        await pilot.pause(0.1)


def listed() -> dict[str, dict[str, object]]:
    """`assistant memory list --json`, through the service, by id."""
    result = run_cli("memory", "list", "--json")
    assert result.returncode == 0, result.stderr
    return {row["id"]: row for row in json.loads(result.stdout)}


async def test_the_tui_and_the_cli_share_memories_and_prompts_through_one_service(warm_service: int) -> None:
    added = run_cli("memory", "add", "--raw", "The spare key is under the blue pot", "--json")
    assert added.returncode == 0, added.stderr
    key_id = json.loads(added.stdout)["id"]

    app = build_app()
    seen: list[Message] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await wait_until(pilot, lambda: app.ready)
        assert isinstance(app.assistant, RemoteFrontend)

        # A chat turn: streamed from the service, and what it states is learned there and told to the TUI.
        await pilot.press(*"I am allergic to peanuts.", "enter")
        await wait_until(pilot, lambda: any(isinstance(m, Learned) and m.final for m in seen))
        await idle(app, pilot)
        turn = app.assistant.last_turn
        assert turn is not None and turn.reply
        assert "".join(m.text for m in seen if isinstance(m, ReplyChunk)).strip() == turn.reply.strip()
        assert not [m for m in seen if isinstance(m, ReplyDone)][-1].stopped
        bar = app.query(NoticeBar).last()
        assert bar.learned_ids, "the learning notice (with its undo) is under the reply"
        [peanuts_id] = [memory_id for memory_id in bar.learned_ids if "peanut" in str(listed()[memory_id]["text"])]
        remembered = [row for row in listed().values() if row["kind"] != "episodic" and row["status"] == "active"]
        assert app.status.memory_count == len(remembered)

        # The CLI continues the TUI's conversation: the TUI's turn and its memory are in the CLI's prompt.
        shown = run_cli("chat", "--conversation", str(turn.conversation_id), "--show-context", "What am I allergic to?")
        assert shown.returncode == 0, shown.stderr
        assert "I am allergic to peanuts." in shown.stdout  # the TUI's turn is in the CLI's prompt
        assert "peanut" in shown.stdout.split("--- context:")[1].lower()

        # The context inspector, over the service: the exact prompt of the TUI's reply, though the CLI chatted since.
        await pilot.press("f3")
        await idle(app, pilot)
        assert isinstance(app.screen, InspectorScreen)
        trace = app.screen.trace
        assert trace.sections and 0 < trace.total_tokens <= trace.budget < 2048
        assert "I am allergic to peanuts." in trace.sections[-1].text
        await pilot.press("escape")
        await idle(app, pilot)

        # The memory panel lists what the CLI added; a search finds it; pin and forget reach the store.
        await pilot.press("f2")
        await idle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MemoryScreen)
        assert {key_id, peanuts_id} <= set(screen.rows)
        search = screen.query_one("#memory-search", Input)
        search.value = "where is the spare key"
        search.focus()
        await pilot.press("enter")
        await idle(app, pilot)
        table = screen.query_one("#memory-table", DataTable)
        assert [row.value for row in table.rows][0] == key_id
        table.move_cursor(row=0)  # the panel keeps the row chosen before the search: choose the key
        await idle(app, pilot)
        assert screen.detail is not None and screen.detail.memory.id == key_id
        assert [entry.action for entry in screen.detail.history][:1] == ["add"]
        await pilot.press("p")
        await idle(app, pilot)
        assert listed()[key_id]["pinned"] is True

        search.value = "peanuts"
        search.focus()
        await pilot.press("enter")
        await idle(app, pilot)
        table.move_cursor(row=table.get_row_index(peanuts_id))
        await idle(app, pilot)
        assert screen.selected_id == peanuts_id
        await pilot.press("x")
        await pilot.pause()
        await pilot.click("#confirm")
        await idle(app, pilot)
        assert peanuts_id not in listed()
        await pilot.press("escape")
        await idle(app, pilot)

        # A memory the CLI adds while the app is open is in the panel the next time it opens.
        again = run_cli("memory", "add", "--raw", "My bike is the green one", "--json")
        bike_id = json.loads(again.stdout)["id"]
        await pilot.press("f2")
        await idle(app, pilot)
        assert bike_id in app.screen.rows
        await pilot.press("escape")

        sidebar = app.query_one(ConversationList)
        assert sidebar.conversation(str(turn.conversation_id)) is not None

        # "remember that …" saves through the service; its Undo removes it there.
        bars = len(app.query(NoticeBar))
        await pilot.press(*"remember that my locker code is in the red notebook", "enter")
        await wait_until(
            pilot, lambda: len(app.query(NoticeBar)) > bars and bool(app.query(NoticeBar).last().learned_ids)
        )
        [locker_id] = app.query(NoticeBar).last().learned_ids
        assert "red notebook" in str(listed()[locker_id]["text"])
        await pilot.press("ctrl+r")  # undo what was just saved
        await idle(app, pilot)
        assert locker_id not in listed()
    assert client.status()["pid"] == warm_service  # the app and every command used the one service


THIN_TUI = f"""
import asyncio, sys, time
from assistant.tui.launch import build_app
from assistant.tui.messages import Learned

async def main():
    app = build_app()
    seen = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        deadline = time.monotonic() + 120
        while not app.ready:
            assert time.monotonic() < deadline
            await pilot.pause(0.05)
        print("READY", round(time.monotonic() - STARTED, 2), type(app.assistant).__name__, flush=True)
        await pilot.press(*"My sister is called Ana.", "enter")
        while not any(isinstance(m, Learned) and m.final for m in seen):
            assert time.monotonic() < deadline
            await pilot.pause(0.05)
        await pilot.press("f2")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        print("ROWS", len(app.screen.rows), flush=True)
    print("HEAVY", sorted(name for name in sys.modules if name.split(".")[0] in {HEAVY!r}))

STARTED = time.monotonic()
asyncio.run(main())
"""


def test_the_tui_with_a_warm_service_imports_nothing_heavy(warm_service: int) -> None:
    thin = subprocess.run(
        [sys.executable, "-c", THIN_TUI], capture_output=True, text=True, env=dict(os.environ), timeout=300
    )
    assert thin.returncode == 0, thin.stderr
    lines = thin.stdout.splitlines()
    assert lines[0].split()[-1] == "RemoteFrontend", thin.stdout
    assert int(lines[1].split()[-1]) >= 1, thin.stdout  # the panel lists what the chat taught the service
    assert lines[-1] == "HEAVY []", thin.stdout


def test_the_tui_works_in_process_when_the_service_serves_other_settings(
    warm_service: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    served = open_frontend(load_settings())
    assert isinstance(served, RemoteFrontend)
    run_cli("memory", "add", "--raw", "The spare key is under the blue pot")
    # Another context size than the service's: the service answers "fallback", the app works here.
    other = open_frontend(load_settings(context_size=1024))
    assert isinstance(other, AssistantFrontend)
    monkeypatch.setenv("ASSISTANT_SERVICE", "off")
    assert isinstance(open_frontend(load_settings()), AssistantFrontend)

    # A reply stopped before it starts (Esc) ends at once, and is kept as stopped, as in-process.
    stop = threading.Event()
    stop.set()
    pieces = list(served.stream_reply("Write a long story about a dragon.", cancel=stop))
    stopped = served.last_turn
    assert stopped is not None and stopped.stopped and len(pieces) <= 2
    assert stopped.stats is not None and stopped.stats.completion_tokens < 24

    # ...with the same results as the service gives (reads only: the service is the store's writer).
    local = AssistantFrontend.open(load_settings())
    try:
        for query in ("", "spare key"):
            remote_rows = [(row.memory, row.score) for row in served.find_memories(query, kind="-episodic")]
            local_rows = [(row.memory, row.score) for row in local.find_memories(query, kind="-episodic")]
            assert [memory.id for memory, _ in remote_rows] == [memory.id for memory, _ in local_rows]
            assert [memory.text for memory, _ in remote_rows] == [memory.text for memory, _ in local_rows]
        [row] = served.find_memories(kind="-episodic")
        assert served.memory_detail(row.memory.id) == local.memory_detail(row.memory.id)
        assert served.count_memories() == local.count_memories() == 1
        assert served.profile_text() == local.profile_text()
        assert served.list_conversations() == local.list_conversations()
        # The panel's export: the service writes the file the app names, as the app would.
        served_file, local_file = tmp_path / "served.jsonl", tmp_path / "local.jsonl"
        assert served.export_memories(served_file) == local.export_memories(local_file)
        assert served_file.read_text().count("spare key") == local_file.read_text().count("spare key") > 0
    finally:
        local.close()


@pytest.mark.usefixtures("light_service")  # a service that loads nothing until asked: started by the test
def test_the_tui_works_in_process_when_no_service_of_its_version_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_SERVICE", "running")  # use one only if it already runs: none does yet
    assert isinstance(open_frontend(load_settings()), AssistantFrontend)
    assert client.status() is None  # and none was started
    monkeypatch.setenv("ASSISTANT_SERVICE", "auto")
    assert isinstance(open_frontend(load_settings()), RemoteFrontend)  # started on demand
    import assistant.service.protocol as protocol

    monkeypatch.setattr(protocol, "PROTOCOL", 999)  # this app now speaks another protocol than the service
    assert isinstance(open_frontend(load_settings()), AssistantFrontend)
