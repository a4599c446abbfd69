"""The model's one lock, and its policy: the user's chat always comes first.

A chat turn takes the model and preempts a background turn (extraction, summaries), which is
cancelled at its next token and retried later by its job, so a reply never waits for
housekeeping. Background work that should not even start while the user chats waits with
`wait_until_free`. Every runner, local or remote, takes turns this way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class GenerationCancelled(Exception):
    """A generation was stopped by its caller or preempted by the user's chat."""


class TurnTaking:
    """Who holds the model now; a runner generates only inside `_turn`."""

    def __init__(self) -> None:
        self._model_lock = threading.Lock()
        self._user_waiting = threading.Event()
        self._background_cancel = threading.Event()
        # Notified whenever the model lock is released: what `wait_until_free` sleeps on.
        self._free = threading.Condition()

    @contextmanager
    def _turn(self, *, background: bool) -> Iterator[threading.Event]:
        """Hold the model. The user's turn preempts a running background turn."""
        if background:
            if self._user_waiting.is_set() or not self._model_lock.acquire(blocking=False):
                raise GenerationCancelled("the model is busy with the user's chat")
            self._background_cancel.clear()
            try:
                yield self._background_cancel
            finally:
                self._release()
            return
        self._user_waiting.set()
        self._background_cancel.set()
        try:
            self._model_lock.acquire()
        except BaseException:
            self._user_waiting.clear()
            self.wake_waiters()
            raise
        self._user_waiting.clear()
        try:
            yield threading.Event()
        finally:
            self._release()

    def _release(self) -> None:
        self._model_lock.release()
        self.wake_waiters()

    def cancel_background(self) -> None:
        """Stop a running background completion at its next token (e.g. when the app quits)."""
        self._background_cancel.set()

    @property
    def busy(self) -> bool:
        return self._model_lock.locked()

    @property
    def user_waiting(self) -> bool:
        return self._user_waiting.is_set()

    @property
    def free(self) -> bool:
        """No generation holds the model and no user's chat is waiting for it."""
        return not self._model_lock.locked() and not self._user_waiting.is_set()

    def wait_until_free(self, timeout: float | None = None, cancel: threading.Event | None = None) -> bool:
        """Block until the model is `free`: True then, False when `timeout` passed or `cancel` was set first.

        For background work, which should not even start while the user chats. Free is a moment,
        not a reservation: a background generation started after this still gives way (raises
        GenerationCancelled) when the user's chat arrives first. Wakes when the model is
        released; whoever sets `cancel` calls `wake_waiters()` so the wait ends at once.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._free:
            while True:
                if cancel is not None and cancel.is_set():
                    return False
                if self.free:
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._free.wait(remaining)

    def wake_waiters(self) -> None:
        """Make every `wait_until_free` look again (at the model, and at its `cancel`)."""
        with self._free:
            self._free.notify_all()
