"""The TUI and CLI imports writing to one data dir at the same time lose nothing.

The real app (real model, embedder and LanceDB, driven with Textual's pilot) stores chat
turns, "remember that ..." memories and what it learns, while `assistant memory import`
processes import files into the same store. Then the store is reopened from scratch: every
imported message and everything the TUI stored is there exactly once, and the store needs
no repair. (Two CLI imports at once: tests/e2e/test_memory_cli.py.) Processes starting on a
fresh data dir at once all open it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from kill_campaign import cli_command, read_table, store_problems
from textual.message import Message
from trust_helpers import write_messages

from assistant.application.frontend import AssistantFrontend
from assistant.config import load_settings
from assistant.memory.store import (
    AUDIT,
    CONVERSATIONS,
    MEMORIES,
    MESSAGES,
    META,
    PROFILES,
    SCHEMA_LOCK_FILE,
    SCHEMA_VERSION,
    MemoryStore,
    _exclusive_lock,
)
from assistant.tui.app import AssistantApp
from assistant.tui.messages import CoreFailed, Learned, ReplyDone, ReplyFailed

pytestmark = pytest.mark.slow

IMPORTS = 3  # import processes, one after another, while the TUI keeps chatting
PER_IMPORT = 150
MIN_TURNS = 4


def turn_text(number: int) -> str:
    if number % 2 == 0:
        return f"remember that my locker number {number} is {100 + number}"
    return f"I planted {number + 3} tomato seedlings in pot {number} today."


async def wait_until(pilot, condition: Callable[[], bool], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the app"
        await pilot.pause(0.05)


async def test_the_tui_and_cli_imports_write_at_once_and_lose_nothing(tmp_path: Path, isolated_dirs: Path) -> None:
    files = [
        write_messages(
            tmp_path / f"import-{n}.jsonl", PER_IMPORT, seed=n, prefix=f"cc{n}-", sessions=5, session_prefix=f"cc{n}-s"
        )
        for n in range(IMPORTS)
    ]
    imported = [json.loads(line)["id"] for path in files for line in path.read_text(encoding="utf-8").splitlines()]
    settings = load_settings(context_size=2048, max_reply_tokens=16, temperature=0.0, seed=7, model_extraction=False)
    app = AssistantApp(settings, AssistantFrontend.open)
    seen: list[Message] = []
    alerts: list[str] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        notify = app.notify

        def record(message: str, *args, severity: str = "information", **kwargs) -> None:
            if severity == "error":
                alerts.append(str(message))
            notify(message, *args, severity=severity, **kwargs)

        app.notify = record  # type: ignore[method-assign]
        await wait_until(pilot, lambda: app.ready)

        turns, overlapping, results = 0, 0, []
        pending = list(files)
        importer: subprocess.Popen | None = None
        while pending or importer is not None or turns < MIN_TURNS:
            if importer is not None and importer.poll() is not None:
                out, err = importer.communicate()
                results.append((importer.returncode, out, err))
                importer = None
            if importer is None and pending:
                importer = subprocess.Popen(
                    cli_command("memory", "import", str(pending.pop(0))),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            await pilot.press(*turn_text(turns), "enter")
            await wait_until(pilot, lambda done=turns: sum(isinstance(m, ReplyDone) for m in seen) > done)
            turns += 1
            if importer is not None and importer.poll() is None:
                overlapping += 1
        await wait_until(pilot, lambda: not any(w.is_running for w in app.workers))
        await pilot.pause(0.2)
        await wait_until(pilot, lambda: not any(w.is_running for w in app.workers))

    for returncode, _out, err in results:
        assert returncode == 0, err
        assert "Traceback" not in err and "error" not in err, err
    assert len(results) == IMPORTS
    assert overlapping >= 2, "the TUI's turns did not overlap the imports"
    failures = [m for m in seen if isinstance(m, ReplyFailed | CoreFailed)]
    assert failures == [] and alerts == [], (failures, alerts)
    assert not (isolated_dirs / "logs" / "tui-errors.log").exists(), "the TUI logged an internal error"

    # What the TUI stored, as it told the user.
    finished = [m.turn for m in seen if isinstance(m, ReplyDone)]
    assert len(finished) == turns and all(turn is not None and not turn.stopped for turn in finished)
    tui_messages = [i for turn in finished for i in (turn.user_message_id, turn.assistant_message_id)]
    assert all(tui_messages), "a turn was not stored"
    saved = [i for turn in finished for i in turn.saved_ids]
    saved += [memory.id for m in seen if isinstance(m, Learned) for memory in m.report.saved]
    assert len(saved) >= turns // 2, "the remember commands saved nothing"

    # Reopened from disk, by a fresh reader: everything is there once, and the store is sound.
    memory_dir = isolated_dirs / "memory"
    assert store_problems(memory_dir) == []
    messages = Counter(row["id"] for row in read_table(memory_dir, "messages"))
    memories = Counter(row["id"] for row in read_table(memory_dir, "memories"))
    assert {i: messages[i] for i in imported + tui_messages if messages[i] != 1} == {}
    assert {i: memories[f"ep-{i}"] for i in imported + tui_messages if memories[f"ep-{i}"] != 1} == {}
    assert {i: memories[i] for i in saved if memories[i] != 1} == {}
    assert len(messages) == len(imported) + len(tui_messages)
    user_texts = Counter(row["content"] for row in read_table(memory_dir, "messages") if row["role"] == "user")
    assert all(user_texts[turn_text(n)] == 1 for n in range(turns))
    conversations = {row["id"] for row in read_table(memory_dir, "conversations")}
    assert {turn.conversation_id for turn in finished} <= conversations


OPEN_STORE = """
import sys, time
from pathlib import Path
from assistant.memory.store import MemoryStore
start_at = float(sys.argv[2])
time.sleep(max(0.0, start_at - time.time()))
MemoryStore(Path(sys.argv[1]), 384)
"""


def open_store_processes(path: Path, count: int, start_at: float) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_STORE, str(path), str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]


def test_processes_starting_on_a_fresh_data_dir_at_once_all_open_it(tmp_path: Path) -> None:
    # A CLI command and the TUI started together on a new machine: each creates the tables it
    # finds missing. Before the schema lock, about one round in ten had a process fail with
    # "cannot open table meta" (listed while another process was still creating it).
    for round_number in range(4):
        path = tmp_path / f"round-{round_number}" / "memory"
        processes = open_store_processes(path, 5, start_at=time.time() + 3.0)
        for process in processes:
            _out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
        store = MemoryStore(path, 384)
        assert store.schema_version() == SCHEMA_VERSION
        assert len(store.rows(META, "key = 'schema_version'")) == 1
        assert {MEMORIES, MESSAGES, CONVERSATIONS, PROFILES, AUDIT, META} <= store._table_names()


def test_a_process_opening_the_store_waits_while_another_holds_the_schema_lock(tmp_path: Path) -> None:
    path = tmp_path / "memory"
    path.mkdir(mode=0o700)
    with _exclusive_lock(path / SCHEMA_LOCK_FILE):
        (process,) = open_store_processes(path, 1, start_at=0.0)
        time.sleep(8.0)  # ample for the child to import lancedb and reach the lock
        assert process.poll() is None, process.communicate()[1]
        assert not list(path.glob("*.lance")), "tables were created while the lock was held"
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert MemoryStore(path, 384).schema_version() == SCHEMA_VERSION
