"""The TUI on the real core: real GGUF model, real embedder, real LanceDB in the test's data dir.

Few and targeted (each loads the models once). Assertions read the database through the
memory engine, not only the widgets.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from textual.message import Message
from textual.widgets import DataTable, Input

from assistant.application.frontend import AssistantFrontend
from assistant.config import load_settings
from assistant.memory.engine import MemoryEngine
from assistant.memory.types import Kind, Role, Status
from assistant.tui.app import AssistantApp
from assistant.tui.messages import AssistantReady, ReplyChunk, ReplyDone
from assistant.tui.screens.inspector import InspectorScreen
from assistant.tui.screens.memories import MemoryScreen
from assistant.tui.widgets.transcript import NoticeBar, ReplyMarkdown

pytestmark = pytest.mark.slow


def real_app(**overrides: object) -> AssistantApp:
    settings = load_settings(context_size=2048, **overrides)
    return AssistantApp(settings, AssistantFrontend.open)


async def wait_until(pilot, condition: Callable[[], bool], timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the app"
        await pilot.pause(0.1)


async def idle(app, pilot) -> None:
    await wait_until(pilot, lambda: not any(w.is_running for w in app.workers))
    await pilot.pause(0.1)
    await wait_until(pilot, lambda: not any(w.is_running for w in app.workers))


def facts(engine: MemoryEngine) -> list:
    return [m for m in engine.list() if m.kind != Kind.EPISODIC]


async def test_remember_undo_browse_search_forget_on_the_real_core() -> None:
    app = real_app(max_reply_tokens=48)
    seen: list[Message] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        # typed while the models load: kept, then sent once ready
        await pilot.press(*"remember that my sister is called Ana", "enter")
        await pilot.pause()
        if not app.ready:
            assert list(app.outbox) == ["remember that my sister is called Ana"]
        await wait_until(pilot, lambda: any(isinstance(m, ReplyDone) for m in seen))
        await idle(app, pilot)
        assert any(isinstance(m, AssistantReady) for m in seen)
        engine = app.assistant.core.engine
        [ana] = [m for m in facts(engine) if "Ana" in m.text]
        assert ana.sources == [app.assistant.last_turn.user_message_id]
        bar = app.query(NoticeBar).last()
        assert bar.learned_ids == [ana.id]
        # undo removes it from the database
        await pilot.click("#undo")
        await idle(app, pilot)
        assert engine.get(ana.id) is None
        assert not [m for m in facts(engine) if "Ana" in m.text]

        await pilot.press(*"remember that I am allergic to peanuts", "enter")
        await wait_until(pilot, lambda: sum(isinstance(m, ReplyDone) for m in seen) == 2)
        await idle(app, pilot)
        [peanuts] = [m for m in facts(engine) if "peanut" in m.text.lower()]
        assert app.status.memory_count == len([m for m in facts(engine) if m.status == "active"])

        # the memory panel finds it by recall, shows its source, and forgets it for good
        await pilot.press("f2")
        await idle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MemoryScreen)
        screen.query_one("#memory-search", Input).value = "what am I allergic to"
        screen.query_one("#memory-search", Input).focus()
        await pilot.press("enter")
        await idle(app, pilot)
        ids = [key.value for key in screen.query_one("#memory-table", DataTable).rows]
        assert ids and ids[0] == peanuts.id
        assert screen.detail is not None and [s.id for s in screen.detail.sources] == peanuts.sources
        await pilot.press("x")
        await pilot.pause()
        await pilot.click("#confirm")
        await idle(app, pilot)
        assert engine.get(peanuts.id) is None
        assert [e.action for e in engine.audit(peanuts.id)][-1] == "forget"
        await pilot.press("escape")
        await idle(app, pilot)


async def test_stream_cancel_and_inspect_on_the_real_core() -> None:
    app = real_app(max_reply_tokens=200, temperature=0.0, seed=7)
    seen: list[Message] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await wait_until(pilot, lambda: app.ready)
        await pilot.press(*"Say hello in one short sentence.", "enter")
        await wait_until(pilot, lambda: any(isinstance(m, ReplyDone) for m in seen))
        await idle(app, pilot)
        turn = app.assistant.last_turn
        chunks = "".join(m.text for m in seen if isinstance(m, ReplyChunk))
        assert turn.reply and chunks.strip() == turn.reply
        assert app.query(ReplyMarkdown).last().source.strip() == turn.reply
        stored = app.assistant.core.engine.messages(turn.conversation_id)
        assert [(m.role, m.content) for m in stored][-2:] == [
            (Role.USER, "Say hello in one short sentence."),
            (Role.ASSISTANT, turn.reply),
        ]
        # the inspector shows the exact sections and token counts of that reply
        await pilot.press("f3")
        await idle(app, pilot)
        assert isinstance(app.screen, InspectorScreen)
        trace = app.screen.trace
        assert trace is turn.trace and trace.sections and trace.total_tokens > 0
        assert sum(s.tokens for s in trace.sections) <= trace.total_tokens + len(trace.sections) * 8
        await pilot.press("escape")

        # Esc stops a long reply after its first pieces
        first_done = sum(isinstance(m, ReplyDone) for m in seen)
        await pilot.press(*"Write a very long story about a dragon who learns to cook.", "enter")
        await wait_until(pilot, lambda: sum(isinstance(m, ReplyChunk) for m in seen) > len(chunks.split()) + 3)
        await pilot.press("escape")
        await wait_until(pilot, lambda: sum(isinstance(m, ReplyDone) for m in seen) > first_done)
        done = [m for m in seen if isinstance(m, ReplyDone)][-1]
        assert done.stopped and done.turn.stopped
        assert done.turn.stats.completion_tokens < 200
        assert app.query(ReplyMarkdown).last().has_class("-stopped")
        await idle(app, pilot)


async def test_first_run_without_a_usable_model_shows_setup(tmp_path) -> None:
    not_a_model = tmp_path / "broken.gguf"
    not_a_model.write_bytes(b"this is not a GGUF file at all")
    app = real_app(model=str(not_a_model))
    async with app.run_test(size=(120, 40)) as pilot:
        await idle(app, pilot)
        from assistant.tui.screens.setup import SetupScreen

        assert isinstance(app.screen, SetupScreen)
        text = app.screen.query_one("#instructions").source
        assert "broken.gguf" in text and "assistant models add" in text
        assert not app.ready and app.status.state == "unavailable"


async def test_maintenance_runs_in_the_background_from_the_app() -> None:
    """The app starts the scheduler once ready; a maintenance pass runs off the UI thread."""
    from datetime import timedelta

    from assistant.memory.types import Message as ChatRecord
    from assistant.memory.types import Status, utcnow

    app = real_app(max_reply_tokens=16, compression_age_days=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.ready and app.scheduler is not None)
        engine = app.assistant.core.engine
        old = utcnow() - timedelta(days=60)
        conversation = engine.create_conversation("long ago").id
        engine.add_messages(
            [
                ChatRecord(
                    app.assistant.user,
                    Role.USER,
                    f"We talked about gardening tomatoes, day {n}",
                    conversation,
                    created_at=old + timedelta(minutes=n),
                )
                for n in range(6)
            ]
        )
        app.action_maintain()
        await wait_until(pilot, lambda: app.scheduler.wait_idle(timeout=0))
        summaries = engine.list(kinds=[Kind.SUMMARY])
        archived = [m for m in engine.list(kinds=[Kind.EPISODIC]) if m.status == Status.ARCHIVED]
        assert summaries and len(archived) == 6
        assert set(summaries[0].sources) == {m.sources[0] for m in archived}


async def test_new_settings_close_the_real_core_and_move_the_scheduler_to_the_new_one() -> None:
    """F4 → save: the old core is closed and its scheduler stopped before the new one loads, which sees the old data."""
    import threading

    from assistant.tui.screens.settings import SettingsScreen

    def schedulers_running() -> int:
        return sum(thread.name == "assistant-jobs" and thread.is_alive() for thread in threading.enumerate())

    app = real_app(max_reply_tokens=16)
    seen: list[Message] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await wait_until(pilot, lambda: app.ready and app.scheduler is not None)
        old_core, old_jobs = app.assistant, app.scheduler
        closed: list[bool] = []
        close_old_core = old_core.close

        def close() -> None:
            closed.append(schedulers_running() == 0)  # its scheduler already stopped
            close_old_core()

        old_core.close = close
        await pilot.press(*"remember that my sister is called Ana", "enter")
        await wait_until(pilot, lambda: any(isinstance(m, ReplyDone) for m in seen))
        await idle(app, pilot)
        assert schedulers_running() == 1

        await pilot.press("f4")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        app.screen.query_one("#field-max_reply_tokens", Input).value = "24"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.ready and app.assistant is not old_core and app.scheduler is not None)
        await idle(app, pilot)
        assert closed == [True]
        assert app.scheduler is not old_jobs and schedulers_running() == 1
        assert app.assistant.settings.max_reply_tokens == 24
        assert [m.text for m in app.assistant.core.memories.select() if "Ana" in m.text]
        assert app.status.memory_count == app.assistant.count_memories() >= 1


async def test_a_stated_fact_is_learned_through_the_scheduler_and_one_undo_removes_it() -> None:
    """The chat queues the exchange on the core's scheduler; the notice shows the fact, one Undo removes it all."""
    from assistant.application.job_state import JobFile, default_state_path
    from assistant.tui.messages import Learned

    app = real_app(max_reply_tokens=24)
    seen: list[Message] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await wait_until(pilot, lambda: app.ready and app.scheduler is not None)
        await pilot.press(*"I live in Lisbon and I restore old bicycles.", "enter")
        await wait_until(pilot, lambda: any(isinstance(m, Learned) and m.final for m in seen))
        await idle(app, pilot)
        learned = [m for m in seen if isinstance(m, Learned)]
        [job] = {m.job for m in learned}  # the stated part and the model's, of one queued job
        engine = app.assistant.core.engine
        [lisbon] = [m for m in facts(engine) if "Lisbon" in m.text]
        assert lisbon.sources == [app.assistant.last_turn.user_message_id]
        everything = learned[-1].saved_ids
        assert lisbon.id in everything
        assert not JobFile(default_state_path(app.assistant.user)).read().pending  # done, off the queue

        bar = app.query(NoticeBar).last()
        label = str(bar.query_one(".learned-line Label").render())
        assert label.startswith("Saved to memory: ") and "You live in Lisbon" in label
        assert bar.learned_ids == everything
        await pilot.click("#undo")
        await idle(app, pilot)
        assert [engine.get(memory_id) for memory_id in everything] == [None] * len(everything)
        assert not [m for m in facts(engine) if "Lisbon" in m.text]


async def test_a_changed_job_is_shown_with_what_it_replaces() -> None:
    """The notice tells the user what a newer value ended, in their own words ("You …")."""
    from assistant.tui.messages import Learned

    app = real_app(max_reply_tokens=16)
    seen: list[Message] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await wait_until(pilot, lambda: app.ready and app.scheduler is not None)
        for text in ("I work as a nurse.", "I work as a pharmacist now."):
            finals = sum(isinstance(m, Learned) and m.final for m in seen)
            await pilot.press(*text, "enter")
            await wait_until(
                pilot, lambda finals=finals: sum(isinstance(m, Learned) and m.final for m in seen) > finals
            )
            await idle(app, pilot)
        label = str(app.query(NoticeBar).last().query_one(".learned-line Label").render())
        assert label.startswith("Saved to memory: ")
        assert "You work as a pharmacist (replaces: You work as a nurse)" in label
        current = [
            m.text for m in facts(app.assistant.core.engine) if "works as" in m.text and m.status == Status.ACTIVE
        ]
        assert current == ["User works as a pharmacist"]


async def test_learning_left_queued_when_the_app_closes_is_finished_by_the_next_start() -> None:
    """The scheduler's queue is on disk: the app closed mid-learning, the next app's scheduler finishes it."""
    import threading

    from assistant.application.job_state import JobFile, default_state_path
    from assistant.tui.messages import Learned

    app = real_app(max_reply_tokens=64)
    seen: list[Message] = []
    chat_holds_model, chat_may_end = threading.Event(), threading.Event()

    def another_chat(runner) -> None:
        # The model held as a user's chat holds it (the runner's own lock, user first): the
        # learning waits for it, as it would for the next message typed.
        with runner._turn(background=False):
            chat_holds_model.set()
            chat_may_end.wait(600)

    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await wait_until(pilot, lambda: app.ready and app.scheduler is not None)
        state = JobFile(default_state_path(app.assistant.user))
        await pilot.press(*"I live in Lisbon and I restore old bicycles.", "enter")
        await wait_until(pilot, lambda: any(isinstance(m, ReplyChunk) for m in seen))
        holder = threading.Thread(target=another_chat, args=(app.assistant.core.runner,), daemon=True)
        holder.start()  # it takes the model as soon as this reply lets go of it
        await wait_until(pilot, lambda: any(isinstance(m, ReplyDone) for m in seen))
        [first] = [m.turn for m in seen if isinstance(m, ReplyDone)]
        await wait_until(pilot, lambda: chat_holds_model.is_set() and bool(state.read().pending))
        await pilot.pause(0.5)
    chat_may_end.set()  # the app closed while its learning still waited for the model
    holder.join(10)
    [queued] = [record for record in state.read().pending if record["user_message_id"] == first.user_message_id]
    assert not [m for m in seen if isinstance(m, Learned) and m.final]

    again = real_app(max_reply_tokens=24)
    seen_again: list[Message] = []
    async with again.run_test(size=(120, 40), message_hook=seen_again.append) as pilot:
        await wait_until(pilot, lambda: again.ready and again.scheduler is not None)
        await wait_until(pilot, lambda: again.scheduler.wait_idle(timeout=0))
        await idle(again, pilot)
        assert not state.read().pending
        assert [m.job for m in seen_again if isinstance(m, Learned) and m.final] == [queued["job"]]
        engine = again.assistant.core.engine
        [lisbon] = [m for m in facts(engine) if "Lisbon" in m.text]  # once: a retry does not save it twice
        assert lisbon.sources == [first.user_message_id]
        assert again.status.memory_count == again.assistant.count_memories() >= 1
