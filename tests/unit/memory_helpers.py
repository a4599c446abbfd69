"""Shared helpers for the memory engine tests: a controllable clock, engines on real LanceDB."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from assistant.memory.embed import SentenceTransformerEmbedder
from assistant.memory.engine import MemoryEngine
from assistant.memory.store import MemoryStore


class Clock:
    """A settable `now` for the engine: tests move time instead of sleeping."""

    def __init__(self, start: datetime = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


def open_engine(
    folder: Path, embedder: SentenceTransformerEmbedder, user: str = "alice", clock: Clock | None = None, **kw: object
) -> MemoryEngine:
    store = MemoryStore(folder, embedder.dimension)
    return MemoryEngine(store, embedder, user, now=clock or Clock(), **kw)  # type: ignore[arg-type]


def files_containing(folder: Path, needle: str) -> list[Path]:
    """Every file under `folder` whose bytes contain `needle` (in UTF-8 or UTF-16)."""
    patterns = [needle.encode("utf-8"), needle.encode("utf-16-le")]
    found = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            data = path.read_bytes()
            if any(pattern in data for pattern in patterns):
                found.append(path)
    return found
