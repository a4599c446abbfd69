"""`ModelRunner.wait_until_free`: background work waits on the runner's lock being released, not on a timer.

The real runner's lock, without loading a model (holding the lock needs none). Threads meet
through events and the runner's own condition, never through sleeps.
"""

from __future__ import annotations

import threading
from pathlib import Path

from assistant.llm.runner import ModelRunner


class SignallingCondition(threading.Condition):
    """The runner's condition, telling the test when a waiter is about to sleep on it."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        # Still holding the condition's lock: no notify can slip in before the wait begins.
        self.sleeping.set()
        return super().wait(timeout)


def runner_with_signalling_condition(tmp_path: Path) -> tuple[ModelRunner, SignallingCondition]:
    runner = ModelRunner(tmp_path / "never-loaded.gguf")
    condition = SignallingCondition()
    runner._free = condition
    return runner, condition


def wait_in_thread(runner: ModelRunner, **options) -> tuple[threading.Thread, list[bool]]:
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(runner.wait_until_free(**options)))
    thread.start()
    return thread, result


def test_a_free_runner_does_not_wait(tmp_path: Path) -> None:
    runner = ModelRunner(tmp_path / "never-loaded.gguf")
    assert runner.free
    assert runner.wait_until_free(timeout=0) is True


def test_the_waiter_wakes_when_the_users_turn_releases_the_model(tmp_path: Path) -> None:
    runner, condition = runner_with_signalling_condition(tmp_path)
    with runner._turn(background=False):
        assert not runner.free
        assert runner.wait_until_free(timeout=0) is False
        condition.sleeping.clear()
        thread, result = wait_in_thread(runner)
        assert condition.sleeping.wait(10), "the waiter never slept on the runner's condition"
        assert result == [], "it returned while the user's turn held the model"
    thread.join(10)
    assert result == [True]


def test_a_background_turn_also_makes_it_wait(tmp_path: Path) -> None:
    runner, condition = runner_with_signalling_condition(tmp_path)
    with runner._turn(background=True):
        thread, result = wait_in_thread(runner)
        assert condition.sleeping.wait(10)
        assert result == []
    thread.join(10)
    assert result == [True]


def test_cancel_ends_the_wait_while_the_model_stays_busy(tmp_path: Path) -> None:
    runner, condition = runner_with_signalling_condition(tmp_path)
    cancel = threading.Event()
    with runner._turn(background=False):
        thread, result = wait_in_thread(runner, cancel=cancel)
        assert condition.sleeping.wait(10)
        cancel.set()
        runner.wake_waiters()
        thread.join(10)
        assert result == [False]
        assert not runner.free


def test_timeout_ends_the_wait(tmp_path: Path) -> None:
    runner = ModelRunner(tmp_path / "never-loaded.gguf")
    with runner._turn(background=False):
        assert runner.wait_until_free(timeout=0.01) is False
