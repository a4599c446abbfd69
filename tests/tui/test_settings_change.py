"""Changing the settings (F4) replaces the core: the old one is closed and its scheduler stopped first."""

from __future__ import annotations

import threading

from fakes import FakeAssistant
from pilot_helpers import app_making_new_cores, settle
from textual.widgets import Input

from assistant.config import load_settings
from assistant.tui.screens.settings import SettingsScreen


async def change_threads(app, pilot, threads: int) -> None:
    await pilot.press("f4")
    await pilot.pause()  # not settle(): a reply may be running
    assert isinstance(app.screen, SettingsScreen)
    app.screen.query_one("#field-threads", Input).value = str(threads)
    await pilot.press("ctrl+s")


async def test_new_settings_close_the_old_core_and_bind_the_scheduler_to_the_new_one() -> None:
    made: list[FakeAssistant] = []
    app = app_making_new_cores(made)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        [first] = made
        [first_jobs] = first.schedulers
        assert app.assistant is first and app.scheduler is first_jobs and first_jobs.started

        await change_threads(app, pilot, 3)
        await settle(app, pilot)
        assert len(made) == 2
        second = made[1]
        assert first.closed and first_jobs.stopped
        assert app.assistant is second and app.ready and not second.closed
        assert second.settings.threads == 3 == load_settings().threads
        [second_jobs] = second.schedulers
        assert app.scheduler is second_jobs and second_jobs.started and not second_jobs.stopped
        # the new core answers
        await pilot.press(*"hello", "enter")
        await settle(app, pilot)
        assert second.received == ["hello"] and first.received == []
    assert second.closed and second_jobs.stopped


async def test_settings_saved_during_a_reply_apply_when_the_reply_ends() -> None:
    made: list[FakeAssistant] = []
    app = app_making_new_cores(made)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        [first] = made
        first.reply_gate = threading.Event()
        await pilot.press(*"tell me a story", "enter")
        await pilot.pause()
        assert app.replying
        await change_threads(app, pilot, 5)
        await pilot.pause()
        assert len(made) == 1 and not first.closed and app.assistant is first
        first.reply_gate.set()
        await settle(app, pilot)
        await settle(app, pilot)
        assert first.last_turn is not None and first.last_turn.reply == first.reply_for("tell me a story")
        assert len(made) == 2 and first.closed and first.schedulers[0].stopped
        assert app.assistant is made[1] and app.ready and app.scheduler is made[1].schedulers[0]


async def test_learning_from_the_old_core_ends_before_it_is_closed() -> None:
    """Learning still running on the old core's scheduler is waited for, so close() never cuts a write short."""
    made: list[FakeAssistant] = []
    app = app_making_new_cores(made)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        [first] = made
        learning = threading.Event()
        may_finish = threading.Event()
        finished_before_close: list[bool] = []
        original_close = first.close

        def slow_learn(turn, *, on_stated=None):
            learning.set()
            may_finish.wait(10)
            return None  # preempted: the app must not retry on a core it let go of

        def close() -> None:
            finished_before_close.append(not first.schedulers[0].running)  # its scheduler's thread has ended
            original_close()

        first.learn = slow_learn
        first.close = close
        await pilot.press(*"I live in Lisbon", "enter")
        for _ in range(100):
            await pilot.pause(0.05)
            if learning.is_set():
                break
        assert learning.is_set()
        await change_threads(app, pilot, 3)
        await pilot.pause(0.3)
        assert not first.closed  # waiting for learning
        may_finish.set()
        await settle(app, pilot)
        assert first.closed and finished_before_close == [True]
        assert app.assistant is made[1] and app.ready
