"""When the service's users are quiet: what its background learning waits for.

The model's extraction pass takes both cores (llama.cpp's threads) and the interpreter. Started
the moment a reply is done, it slows everything the user still waits for: the rules' pass, the
service sending the last event, the client printing it and exiting. So the scheduler starts it
only once no request has been answered for a short grace. A front end's long polls (its
learning notices, its idle check) are waits, not requests: they never keep learning waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# After the last answer, long enough for a command to read it and exit (a Python exit: ~0.1 s).
QUIET_GRACE_SECONDS = 0.4
# While a request is answered, how often a waiter looks again (it may end any moment).
ANSWERING_POLL_SECONDS = 0.1


class RequestActivity:
    """How many requests are being answered, and when the last one ended."""

    def __init__(self, grace_seconds: float = QUIET_GRACE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.grace_seconds = grace_seconds
        self._clock = clock
        self._guard = threading.Lock()
        self._answering = 0
        self._last_answered = clock() - grace_seconds  # a new service is quiet

    @contextmanager
    def answering(self) -> Iterator[None]:
        with self._guard:
            self._answering += 1
        try:
            yield
        finally:
            with self._guard:
                self._answering -= 1
                self._last_answered = self._clock()

    def seconds_until_quiet(self) -> float:
        """0.0 when no request is being answered and none ended within the grace; else how long
        to wait before asking again."""
        with self._guard:
            if self._answering:
                return ANSWERING_POLL_SECONDS
            return max(0.0, self._last_answered + self.grace_seconds - self._clock())
