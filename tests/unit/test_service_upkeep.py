"""The service's own clock (service/upkeep.py) on a real backend: real model, embedder and LanceDB.

The backend is driven in-process, through the same `handle` a socket request goes through,
so the test can turn the clock and the machine's free memory by hand.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assistant.config import load_settings
from assistant.llm.runner import ChatMessage, ModelRunner
from assistant.service.handlers import Backend
from assistant.service.upkeep import Upkeep, available_memory_bytes, maintenance_due

GIB = 1024**3


def _chat(backend: Backend, text: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    backend.handle({"op": "chat", "text": text, "new": True}, events.append)
    assert events[-1]["event"] == "done", events[-1]
    return events


@pytest.fixture
def backend():
    backend = Backend(load_settings(max_reply_tokens=24, seed=3))
    yield backend
    backend.close()


def _wait(condition, seconds: float = 120.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_maintenance_runs_when_due_and_not_again_within_its_interval(backend: Backend) -> None:
    _chat(backend, "I keep bees on my balcony.")
    (space,) = backend.open_spaces()
    assert space.jobs.last_maintenance_at is None
    upkeep = Upkeep(backend, stopping=threading.Event(), available=lambda: 64 * GIB)

    upkeep.tick()
    assert _wait(lambda: space.jobs.last_maintenance_at is not None), "the due pass never ran"
    assert space.jobs.wait_idle(timeout=120)
    first = space.jobs.last_maintenance_at

    upkeep.tick(now=first + timedelta(minutes=1))  # long before the next one is due
    assert not space.jobs.status.maintenance_pending
    assert space.jobs.last_maintenance_at == first

    upkeep.tick(now=first + upkeep.interval + timedelta(seconds=1))
    status = space.jobs.status
    assert status.maintenance_pending or space.jobs.last_maintenance_at != first, "the next due pass was not asked for"


def test_short_memory_unloads_the_idle_model_and_the_next_chat_loads_it_again(backend: Backend) -> None:
    _chat(backend, "Hello there.")
    assert backend.loaded_runner() is not None
    (space,) = backend.open_spaces()
    assert space.jobs.wait_idle(timeout=120)
    free = 64 * GIB
    upkeep = Upkeep(backend, stopping=threading.Event(), available=lambda: free)
    upkeep.tick()
    assert upkeep.unloads == 0, "unloaded with plenty of memory"
    assert backend.loaded_runner() is not None

    free = 1 << 20
    upkeep.tick()
    assert upkeep.unloads == 1
    assert backend.loaded_runner() is None
    assert backend.describe()["model_loaded"] is False

    reply = "".join(event["text"] for event in _chat(backend, "Say hi.") if event["event"] == "piece")
    assert reply.strip()
    assert backend.loaded_runner() is not None


def test_a_generating_model_is_not_unloaded_and_counting_works_while_unloaded(starter_model_path) -> None:
    runner = ModelRunner(starter_model_path, context_size=1024, threads=2, seed=1)
    counted = runner.count_tokens("peanuts make my throat swell")
    pieces = runner.stream_chat([ChatMessage("user", "Count to twenty.")], max_tokens=16)
    next(pieces)  # the generation holds the model now
    assert runner.unload() is False
    assert runner.loaded
    pieces.close()

    assert runner.unload() is True
    assert not runner.loaded
    assert runner.count_tokens("peanuts make my throat swell") == counted  # by the vocabulary alone
    assert runner.chat([ChatMessage("user", "Say hi.")], max_tokens=8).strip()
    assert runner.loaded


def test_due_and_meminfo_reading(tmp_path) -> None:
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert maintenance_due(None, now, timedelta(minutes=30))
    assert not maintenance_due(now - timedelta(minutes=29), now, timedelta(minutes=30))
    assert maintenance_due(now - timedelta(minutes=30), now, timedelta(minutes=30))
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:    2048 kB\n")
    assert available_memory_bytes(meminfo) == 2048 * 1024
    meminfo.write_text("garbage\n")
    assert available_memory_bytes(meminfo) is None
    assert available_memory_bytes(tmp_path / "missing") is None
