"""kill -9 during a larger generated ChatGPT import, and again while it learns: a re-run loses nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from assistant.config import load_settings
from assistant.memory.engine import MemoryEngine
from assistant.memory.types import Status

CITIES = ["Porto", "Lisbon", "Bergen", "Oakridge", "Townsville", "Ghent", "Tartu", "Malmo", "Lyon", "Bologna", "Graz"]
COLOURS = ["green", "blue", "red", "yellow", "purple", "orange", "teal"]
CONVERSATIONS = 90
DAY = 86400.0
START = 1600000000.0  # 2020-09-13


def conversation(number: int) -> dict:
    at = START + number * DAY
    said = [
        ("user", f"I live in {CITIES[number % len(CITIES)]}. Conversation {number} is about trains."),
        ("assistant", f"Noted, trains it is ({number})."),
        ("user", f"My favourite colour is {COLOURS[number % len(COLOURS)]}."),
        ("assistant", "A fine colour."),
    ]
    mapping = {"root": {"id": "root", "message": None, "parent": None, "children": [f"n{number}-0"]}}
    for index, (role, text) in enumerate(said):
        node = f"n{number}-{index}"
        mapping[node] = {
            "id": node,
            "parent": "root" if index == 0 else f"n{number}-{index - 1}",
            "children": [f"n{number}-{index + 1}"] if index + 1 < len(said) else [],
            "message": {
                "id": node,
                "author": {"role": role, "name": None, "metadata": {}},
                "create_time": at + 10 * index,
                "content": {"content_type": "text", "parts": [text]},
                "metadata": {},
                "recipient": "all",
            },
        }
    return {
        "id": f"conv-{number:04d}",
        "title": f"Trains {number}",
        "create_time": at,
        "mapping": mapping,
        "current_node": f"n{number}-{len(said) - 1}",
    }


def start(path: Path, user: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "assistant", "memory", "import", str(path), "--user", user],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )


def kill_when(process: subprocess.Popen, ready, *, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, process.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline, "the import never reached the kill point"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL  # the kill landed while it was running


def lines(path: Path) -> int:
    try:
        return path.read_text(encoding="utf-8").count("\n")
    except FileNotFoundError:
        return 0


def test_kill_mid_import_and_mid_learning_loses_nothing(cli, tmp_path: Path, isolated_dirs: Path) -> None:
    numbers = list(range(CONVERSATIONS))
    random.Random(15).shuffle(numbers)  # the file's order is not the order things were said
    export = tmp_path / "conversations.json"
    export.write_text(json.dumps([conversation(n) for n in numbers]), encoding="utf-8")
    jobs = isolated_dirs / "jobs"
    queue, learned = jobs / "k.import-queue.jsonl", jobs / "k.import-learned.log"

    # 1. Killed while storing the first batch (its user messages are queued before it is stored).
    kill_when(start(export, "k"), lambda: lines(queue) > 0)
    with MemoryEngine.open(load_settings(user="k")) as engine:
        assert len(engine.messages()) < CONVERSATIONS * 4  # the kill cut the import short
    # 2. Killed again while learning, part way through.
    kill_when(start(export, "k"), lambda: lines(learned) >= 25)
    assert 0 < lines(learned) < CONVERSATIONS * 2
    # 3. The same command once more finishes the work.
    finished = cli("memory", "import", str(export), "--user", "k", "--json")
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout)["bad_entries"] == 0
    assert not queue.exists() and not learned.exists()  # nothing left to learn

    with MemoryEngine.open(load_settings(user="k")) as engine:
        messages = engine.messages()
        assert len(messages) == CONVERSATIONS * 4 == len({m.id for m in messages})
        titles = {c.id: c.title for c in engine.conversations()}
        assert titles == {f"conv-{n:04d}": f"Trains {n}" for n in range(CONVERSATIONS)}
        last = CONVERSATIONS - 1
        for key, expected in (
            ("user.home", f"User lives in {CITIES[last % len(CITIES)]}"),
            ("user.favourite.colour", f"User's favourite colour is {COLOURS[last % len(COLOURS)]}"),
        ):
            history = sorted(engine.with_key(key), key=lambda m: m.valid_from)
            assert [m.text for m in history if m.status == Status.ACTIVE] == [expected]
            # One value per conversation, in the order said: each ends when the next was said.
            assert len(history) == CONVERSATIONS
            for older, newer in zip(history, history[1:], strict=False):
                assert older.status == Status.SUPERSEDED and older.superseded_by == newer.id
                assert older.valid_to == newer.valid_from
