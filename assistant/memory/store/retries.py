"""Retrying writes: the TUI and a CLI process may commit to the same table at the same time."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def is_conflict(error: BaseException) -> bool:
    """An error another process's concurrent commit (or cleanup) caused: worth trying again."""
    text = str(error).lower()
    return any(marker in text for marker in ("conflict", "retryable", "concurrent", "was not found", "not found:"))


def with_retries(action: Callable[[], T], *, budget_seconds: float = 120.0) -> T:
    """Run a write, retrying with jittered backoff when another process committed first."""
    delay = 0.01
    deadline = time.monotonic() + budget_seconds
    while True:
        try:
            return action()
        except (OSError, RuntimeError, ValueError) as error:
            if time.monotonic() > deadline or not is_conflict(error):
                raise
            if "not found" in str(error).lower():
                # A file removed by another process's cleanup is gone for good on the next try;
                # one that stays missing is a damaged store, not a race worth two minutes.
                deadline = min(deadline, time.monotonic() + 5.0)
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)
