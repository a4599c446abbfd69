"""The memory engine calls the TUI makes, in one place (all blocking: call them from workers)."""

from __future__ import annotations

from typing import Any


def count_memories(assistant: Any) -> int:
    return int(assistant.engine.count())
