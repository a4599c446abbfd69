"""The service's own clock (service/watch.py) on a real backend: real model, embedder and LanceDB.

The backend is driven in-process, through the same `handle` a socket request goes through,
so the test can turn the clock and the machine's free memory by hand.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from assistant.config import load_settings
from assistant.llm.runner import ChatMessage, ModelRunner
from assistant.service.handlers import Backend
from assistant.service.memory_watch import MemoryWatch, available_memory_bytes

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


def test_short_memory_unloads_the_idle_model_and_the_next_chat_loads_it_again(backend: Backend) -> None:
    _chat(backend, "Hello there.")
    assert backend.loaded_runner() is not None
    (space,) = backend.open_spaces()
    assert space.jobs.wait_idle(timeout=120)
    free = 64 * GIB
    watch = MemoryWatch(backend, stopping=threading.Event(), available=lambda: free)
    watch.tick()
    assert watch.unloads == 0, "unloaded with plenty of memory"
    assert backend.loaded_runner() is not None

    free = 1 << 20
    watch.tick()
    assert watch.unloads == 1
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


def test_meminfo_reading(tmp_path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:    2048 kB\n")
    assert available_memory_bytes(meminfo) == 2048 * 1024
    meminfo.write_text("garbage\n")
    assert available_memory_bytes(meminfo) is None
    assert available_memory_bytes(tmp_path / "missing") is None
