"""Chat screen flows on the fake core: send, stream, queue while loading, cancel, learn/undo, conversations."""

from __future__ import annotations

import asyncio
import threading
import time

from fakes import FakeAssistant, FakeLearnReport
from textual.message import Message

from assistant.tui.messages import AssistantReady, Learned, MemoriesChanged, ReplyChunk, ReplyDone
from assistant.tui.widgets.chat_input import ChatInput
from assistant.tui.widgets.conversations import ConversationList
from assistant.tui.widgets.status_bar import StatusBar
from assistant.tui.widgets.transcript import NoticeBar, ReplyMarkdown, UserMessage


async def wait_idle(app, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    if app.scheduler is not None:  # learning runs in the scheduler's thread, not in a worker
        await asyncio.to_thread(app.scheduler.wait_idle, 10)
        await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_send_streams_markdown_reply_and_records_turn(make_app) -> None:
    fake = FakeAssistant()
    app = make_app(fake)
    seen: list[Message] = []
    async with app.run_test(size=(100, 30), message_hook=seen.append) as pilot:
        await wait_idle(app, pilot)
        await pilot.press(*"hello there", "enter")
        await wait_idle(app, pilot)
        assert fake.received == ["hello there"]
        chunks = [m.text for m in seen if isinstance(m, ReplyChunk)]
        assert len(chunks) > 3 and "".join(chunks) == fake.last_turn.reply
        done = [m for m in seen if isinstance(m, ReplyDone)]
        assert len(done) == 1 and not done[0].stopped
        reply = app.query_one(ReplyMarkdown)
        assert reply.source == fake.last_turn.reply
        assert reply.message_id == fake.last_turn.assistant_message_id
        assert app.conversation_id == fake.last_turn.conversation_id
        assert app.query_one(StatusBar).tokens_per_second == 42.0
        # the new conversation shows up in the sidebar
        sidebar = app.query_one(ConversationList)
        assert [item.conversation.id for item in sidebar.children] == [fake.last_turn.conversation_id]
        # a second message continues the same conversation
        await pilot.press(*"again", "enter")
        await wait_idle(app, pilot)
        assert len(fake.messages[app.conversation_id]) == 4


async def test_text_typed_while_loading_is_kept_and_sent_when_ready(make_app) -> None:
    gate = threading.Event()
    fake = FakeAssistant(warm_up_gate=gate)
    app = make_app(fake)
    seen: list[Message] = []
    async with app.run_test(size=(100, 30), message_hook=seen.append) as pilot:
        await pilot.pause()
        assert app.query_one(StatusBar).state.startswith("loading model")
        await pilot.press(*"first", "enter", *"second", "enter")
        await pilot.pause()
        assert fake.received == []
        assert len(app.query(UserMessage).filter(".-queued")) == 2
        assert list(app.outbox) == ["first", "second"]
        gate.set()
        await wait_idle(app, pilot)
        await wait_idle(app, pilot)
        assert any(isinstance(m, AssistantReady) for m in seen)
        assert fake.received == ["first", "second"]
        assert len(app.query(ReplyMarkdown)) == 2
        assert not app.query(UserMessage).filter(".-queued")


async def test_escape_stops_the_reply(make_app) -> None:
    fake = FakeAssistant()
    fake.reply_gate = threading.Event()
    app = make_app(fake)
    seen: list[Message] = []
    async with app.run_test(size=(100, 30), message_hook=seen.append) as pilot:
        await wait_idle(app, pilot)
        await pilot.press(*"tell me a long story", "enter")
        await pilot.pause()
        assert app.replying
        await pilot.press("escape")
        fake.reply_gate.set()
        await wait_idle(app, pilot)
        done = [m for m in seen if isinstance(m, ReplyDone)]
        assert len(done) == 1 and done[0].stopped
        full = fake.reply_for("tell me a long story")
        assert len(fake.last_turn.reply) < len(full)
        assert app.query_one(ReplyMarkdown).has_class("-stopped")
        assert not app.replying and app.query_one(StatusBar).state == "stopped"


async def test_remember_shows_notice_and_undo_forgets(make_app) -> None:
    fake = FakeAssistant()
    app = make_app(fake)
    seen: list[Message] = []
    async with app.run_test(size=(110, 30), message_hook=seen.append) as pilot:
        await wait_idle(app, pilot)
        await pilot.press(*"remember that my cat is called Miso", "enter")
        await wait_idle(app, pilot)
        assert any(isinstance(m, Learned) and m.report.saved for m in seen)
        assert any(isinstance(m, MemoriesChanged) for m in seen)
        [memory] = fake.engine.memories.values()
        assert memory.text == "User: my cat is called Miso"
        assert memory.sources == [fake.last_turn.user_message_id]
        bar = app.query_one(NoticeBar)
        assert bar.learned_ids == [memory.id]
        assert app.query_one(StatusBar).memory_count == 1
        await pilot.click("#undo")
        await wait_idle(app, pilot)
        assert fake.engine.memories == {}
        assert bar.learned_ids == []
        assert app.query_one(StatusBar).memory_count == 0


class SlowModelExtraction(FakeAssistant):
    """Learning like the real core with a slow model: the stated fact first, the model's later."""

    def __init__(self) -> None:
        super().__init__()
        self.model_done = threading.Event()
        self.memories_at_reply: list[int] = []
        self.first_reply_may_end = threading.Event()
        self.first_reply_may_end.set()

    def stream_reply(self, text, **options):
        self.memories_at_reply.append(len(self.engine.memories))
        self.first_reply_may_end.wait(30)
        yield from super().stream_reply(text, **options)

    def learn(self, turn, *, use_model=None, on_stated=None):
        if self.engine.memories:
            return FakeLearnReport()
        time.sleep(0.3)  # the rules, the embedder and the store
        stated = self.engine.add("User lives in Lisbon", sources=[turn.user_message_id])
        on_stated(FakeLearnReport(saved=[stated]))
        self.model_done.wait(30)
        found = self.engine.add("User restores old bicycles", sources=[turn.user_message_id])
        return FakeLearnReport(saved=[found])


async def test_what_the_user_stated_shows_before_the_model_finishes_and_one_undo_takes_both(make_app) -> None:
    fake = SlowModelExtraction()
    app = make_app(fake)
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_idle(app, pilot)
        await pilot.press(*"I live in Lisbon and restore old bicycles", "enter")
        bar = None
        for _ in range(200):
            await pilot.pause(0.05)
            bars = app.query(NoticeBar)
            if bars and bars.first().learned_ids:
                bar = bars.first()
                break
        assert bar is not None, "the stated fact was not shown while the model was still working"
        assert str(bar.query_one(".learned-line Label").render()) == "Saved to memory: You live in Lisbon"
        assert app.query_one(StatusBar).job == "learning…"

        fake.model_done.set()
        await wait_idle(app, pilot)
        assert len(bar.query(".learned-line")) == 1
        assert str(bar.query_one(".learned-line Label").render()) == (
            "Saved to memory: You live in Lisbon; You restore old bicycles"
        )
        assert app.query_one(StatusBar).job == ""
        await pilot.click("#undo")
        await wait_idle(app, pilot)
        assert fake.engine.memories == {}


async def test_a_message_sent_right_after_a_reply_sees_what_the_one_before_stated(make_app) -> None:
    fake = SlowModelExtraction()
    app = make_app(fake)
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_idle(app, pilot)
        fake.first_reply_may_end.clear()
        await pilot.press(*"I live in Lisbon", "enter")
        await pilot.press(*"what do you know about me?", "enter")
        assert list(app.outbox) == ["what do you know about me?"]  # waiting for the reply
        fake.first_reply_may_end.set()
        for _ in range(200):
            await pilot.pause(0.05)
            if len(fake.memories_at_reply) == 2:
                break
        assert fake.memories_at_reply == [0, 1]
        fake.model_done.set()
        await wait_idle(app, pilot)


async def test_input_history_and_multiline(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_idle(app, pilot)
        await pilot.press(*"one", "enter")
        await wait_idle(app, pilot)
        await pilot.press(*"two", "enter")
        await wait_idle(app, pilot)
        chat_input = app.query_one(ChatInput)
        await pilot.press(*"draft")
        await pilot.press("up")
        assert chat_input.text == "two"
        await pilot.press("up")
        assert chat_input.text == "one"
        await pilot.press("down", "down")
        assert chat_input.text == "draft"
        chat_input.clear()
        await pilot.press(*"line a", "ctrl+j", *"line b")
        assert chat_input.text == "line a\nline b"


async def test_conversations_new_switch_rename_delete(make_app) -> None:
    fake = FakeAssistant()
    app = make_app(fake)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_idle(app, pilot)
        await pilot.press(*"first chat", "enter")
        await wait_idle(app, pilot)
        first = app.conversation_id
        await pilot.press("ctrl+n")
        await pilot.press(*"second chat", "enter")
        await wait_idle(app, pilot)
        second = app.conversation_id
        assert first != second and set(fake.conversations) == {first, second}
        # switch back by selecting it in the sidebar
        sidebar = app.query_one(ConversationList)
        index = [item.conversation.id for item in sidebar.children].index(first)
        sidebar.focus()
        sidebar.index = index
        await pilot.press("enter")
        await wait_idle(app, pilot)
        assert app.conversation_id == first
        assert [v.message_id for v in app.query(UserMessage)] == [fake.messages[first][0].id]
        # rename
        await pilot.press("f5")
        await pilot.pause()
        app.screen.query_one("Input").value = "Renamed"
        await pilot.press("enter")
        await wait_idle(app, pilot)
        assert fake.conversations[first].title == "Renamed"
        assert any(item.conversation.title == "Renamed" for item in app.query_one(ConversationList).children)
        # delete (with confirmation)
        await pilot.press("f8")
        await pilot.pause()
        await pilot.click("#confirm")
        await wait_idle(app, pilot)
        assert set(fake.conversations) == {second}
        assert app.conversation_id is None


async def test_model_error_opens_setup_screen_without_traceback(make_app) -> None:
    fake = FakeAssistant(fail_warm_up="model file not found: /nowhere/model.gguf")
    app = make_app(fake)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_idle(app, pilot)
        from assistant.tui.screens.setup import SetupScreen

        assert isinstance(app.screen, SetupScreen)
        text = app.screen.query_one("#instructions").source
        assert "model file not found: /nowhere/model.gguf" in text
        assert "assistant models pull" in text and "assistant models add" in text
        fake.fail_warm_up = None
        await pilot.press("r")
        await wait_idle(app, pilot)
        assert app.ready and fake.warmed
