"""A process with no UI timer (the service) gets maintenance on its schedule from the scheduler itself."""

from __future__ import annotations

import time
from pathlib import Path

from memory_helpers import Clock, open_engine

from assistant.application.scheduler import Scheduler
from assistant.application.session import Assistant
from assistant.config import Settings
from assistant.memory.embed import SentenceTransformerEmbedder


def test_maintenance_runs_on_its_schedule_without_being_asked(tmp_path: Path, embedder_path: Path) -> None:
    clock = Clock()
    engine = open_engine(tmp_path / "store", SentenceTransformerEmbedder(embedder_path), user="default", clock=clock)
    assistant = Assistant(Settings(model="no-such-model"), engine=engine, clock=clock)
    scheduler = Scheduler(assistant, state_path=tmp_path / "jobs.json", use_model=False)
    scheduler.start()
    try:
        time.sleep(1.0)
        assert scheduler.last_maintenance_at is None, "nothing runs before it is scheduled"
        scheduler.schedule_maintenance(0.5)
        deadline = time.monotonic() + 120
        while scheduler.last_maintenance_at is None:
            assert time.monotonic() < deadline, "the scheduled pass never ran"
            time.sleep(0.05)
        first = scheduler.last_maintenance_at
        time.sleep(1.5)  # the clock stands still: the last pass is not old enough for another
        assert scheduler.last_maintenance_at == first
        clock.advance(seconds=1)
        deadline = time.monotonic() + 120
        while scheduler.last_maintenance_at == first:
            assert time.monotonic() < deadline, "the next pass never ran"
            time.sleep(0.05)
        assert scheduler.wait_idle(timeout=120)
    finally:
        scheduler.close()
    assert scheduler.last_maintenance_at is not None and scheduler.last_maintenance_at > first
