"""ChatPane: the open conversation and the turn controller that drives it.

It owns the transcript and the message box, and everything about one turn: the outbox
(what the user typed while the model was loading or busy), streaming the reply into a
Markdown view, Esc to stop it, the notices under it, queueing the exchange's learning on
the core's scheduler and showing what it saved, and undoing what was learned.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any, cast

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownStream
from textual.worker import Worker, WorkerState, get_current_worker

from assistant.application.protocol import FrontendCore
from assistant.errors import AssistantError
from assistant.learning.schema import second_person
from assistant.memory.types import Memory
from assistant.memory.types import Message as ChatRecord
from assistant.tui.internal_errors import report_bug
from assistant.tui.messages import Learned, MemoriesChanged, ReplyChunk, ReplyDone, ReplyFailed
from assistant.tui.widgets.chat_input import ChatInput
from assistant.tui.widgets.transcript import NoticeBar, ReplyMarkdown, Transcript, UserMessage

if TYPE_CHECKING:
    from assistant.application.protocol import BackgroundJobs
    from assistant.application.views import Turn
    from assistant.tui.host import ChatHost
    from assistant.tui.widgets.status_bar import StatusBar

SAVED_PREFIX = "Saved to memory: "
# The next message waits for the facts the one before stated, but never longer than this:
# the scheduler may first have to finish an earlier turn's model pass.
STATED_WAIT_SECONDS = 3.0

WELCOME = (
    "Type a message and press **Enter** (Shift+Enter or Ctrl+J for a new line). "
    "Say *remember that …* to save something, *what do you know about me?* to see it. "
    "**F2** opens your memories, **Esc** stops a reply, **Ctrl+P** lists every action."
)


class ChatPane(Vertical):
    class TurnEnded(Message):
        """A reply finished, stopped or failed; `recorded` when the core gave its turn, `new_conversation`
        when that turn started a conversation."""

        def __init__(self, *, recorded: bool = False, new_conversation: bool = False) -> None:
            super().__init__()
            self.recorded = recorded
            self.new_conversation = new_conversation

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.core: FrontendCore | None = None  # None while the core loads
        self.conversation_id: str | None = None
        self.incognito = False
        self.outbox: deque[str] = deque()
        self.replying = False
        self.awaiting_stated: str | None = None  # the learning job whose stated facts the next message waits for
        self.last_reply_id: str | None = None
        self.last_notices: NoticeBar | None = None
        self._cancel: threading.Event | None = None
        self._stream: MarkdownStream | None = None
        self._reply_view: ReplyMarkdown | None = None
        self._reply_text: list[str] = []
        self._learning_bars: dict[str, NoticeBar] = {}  # by the scheduler's job id, until its learning ends

    def compose(self) -> ComposeResult:
        yield Transcript(id="transcript")
        yield ChatInput(id="input", placeholder="Message (Enter sends, Shift+Enter new line)")

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    @property
    def status(self) -> StatusBar:
        return self.host.status

    @property
    def host(self) -> ChatHost:
        return cast("ChatHost", self.app)

    def use_core(self, core: FrontendCore | None) -> None:
        """The core to send to (None while one loads); what waited in the outbox goes now."""
        self.core = core
        self.pump_outbox()

    # -- the conversation shown ----------------------------------------------------------

    def show_welcome(self) -> None:
        self.transcript.mount(Markdown(WELCOME, classes="welcome"))

    def start_new(self) -> None:
        self.conversation_id = None
        self.last_reply_id = None
        self.last_notices = None
        self.transcript.remove_children()
        self.show_welcome()
        self.query_one(ChatInput).focus()

    def show_conversation(self, conversation_id: str, messages: list[ChatRecord]) -> None:
        self.conversation_id = conversation_id
        self.transcript.remove_children()
        self.last_reply_id = None
        self.last_notices = None
        widgets: list[UserMessage | ReplyMarkdown] = []
        for message in messages:
            if str(message.role) == "user":
                widgets.append(UserMessage(message.content, message_id=message.id))
            else:
                widgets.append(ReplyMarkdown(message.content, message_id=message.id))
                self.last_reply_id = message.id
        if widgets:
            self.transcript.mount_all(widgets)
        self.transcript.scroll_end(animate=False)
        self.query_one(ChatInput).focus()

    def jump_to_message(self, message_id: str) -> None:
        """Scroll to a message shown in the transcript (used by the memory panel's sources)."""
        for view in self.transcript.query("UserMessage, ReplyMarkdown"):
            if getattr(view, "message_id", None) == message_id:
                self.transcript.scroll_to_widget(view, animate=False, top=True)
                view.add_class("-jumped")
                return

    # -- sending -------------------------------------------------------------------------

    def on_chat_input_submitted(self, message: ChatInput.Submitted) -> None:
        message.stop()
        self.send(message.text)

    def send(self, text: str) -> None:
        """Send `text` now if the core is free, else keep it until it is."""
        queued = self.core is None or self.replying
        self.transcript.mount(UserMessage(text, queued=queued))
        self.outbox.append(text)
        if queued and self.core is None:
            self.status.state = f"loading model… ({len(self.outbox)} waiting)"
        self.pump_outbox()

    def pump_outbox(self) -> None:
        # A message waits for the rules' facts from the exchange before it (about 0.1 s), so
        # "what do you know about me?" sent right after a reply already sees them.
        if self.core is None or self.replying or self.awaiting_stated is not None or not self.outbox:
            return
        text = self.outbox.popleft()
        for view in self.transcript.query(UserMessage).filter(".-queued"):
            view.remove_class("-queued")
            break
        self.replying = True
        self.status.state = "thinking…"
        self._reply_text = []
        self._reply_view = ReplyMarkdown()
        self.transcript.mount(self._reply_view)
        self.transcript.scroll_end(animate=False)
        self._stream = Markdown.get_stream(self._reply_view)
        self._cancel = threading.Event()
        self.stream_reply(self.core, text, self.conversation_id, self._cancel, self.incognito)

    def stop_reply(self) -> None:
        """Esc: stop the reply being written, or drop what waits for the model to load."""
        if self.replying and self._cancel is not None:
            self._cancel.set()
            self.status.state = "stopping…"
        elif self.outbox and self.core is None:
            self.outbox.clear()
            for view in self.transcript.query(UserMessage).filter(".-queued"):
                view.remove()
            self.notify("Dropped the messages waiting for the model.")

    @work(thread=True, exclusive=True, group="reply", exit_on_error=False)
    def stream_reply(
        self, core: FrontendCore, text: str, conversation_id: str | None, cancel: threading.Event, incognito: bool
    ) -> None:
        worker = get_current_worker()
        try:
            for piece in core.stream_reply(text, conversation_id=conversation_id, cancel=cancel, incognito=incognito):
                self.post_message(ReplyChunk(piece))
                if worker.is_cancelled:
                    cancel.set()
        except AssistantError as error:
            self.post_message(ReplyFailed(str(error)))
            return
        self.post_message(ReplyDone(core.last_turn, stopped=cancel.is_set()))

    async def on_reply_chunk(self, message: ReplyChunk) -> None:
        self._reply_text.append(message.text)
        if self._stream is not None:
            await self._stream.write(message.text)

    async def _finish_stream(self) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None

    async def on_reply_done(self, message: ReplyDone) -> None:
        await self._finish_stream()
        view = self._reply_view
        self.replying = False
        self.status.state = "stopped" if message.stopped else "ready"
        if view is not None and message.stopped:
            view.add_class("-stopped")
            if not self._reply_text:
                await view.update("*(stopped)*")
        new_conversation = False
        if message.turn is not None:
            new_conversation = message.turn.conversation_id != self.conversation_id
            self._after_turn(message.turn, view)
        self.post_message(self.TurnEnded(recorded=message.turn is not None, new_conversation=new_conversation))
        self.pump_outbox()

    async def on_reply_failed(self, message: ReplyFailed) -> None:
        await self._finish_stream()
        self.replying = False
        self.status.state = "ready"
        if self._reply_view is not None:
            self._reply_view.add_class("-failed")
            if not self._reply_text:
                await self._reply_view.update("*(no reply)*")
        self.notify(message.error, title="Reply failed", severity="error", timeout=10)
        self.post_message(self.TurnEnded())
        self.pump_outbox()

    # -- after the reply: notices and learning -------------------------------------------

    def _after_turn(self, turn: Turn, view: ReplyMarkdown | None) -> None:
        if turn.stats is not None:
            self.status.tokens_per_second = turn.stats.tokens_per_second
        reply_id = turn.assistant_message_id
        if view is not None:
            view.message_id = reply_id
        self.last_reply_id = reply_id or self.last_reply_id
        self.conversation_id = turn.conversation_id
        notices = NoticeBar(reply_id=reply_id)
        self.last_notices = notices
        self.transcript.mount(notices)
        saved_by_command = list(turn.saved_ids)
        for text in turn.notices:
            if saved_by_command and text.startswith(SAVED_PREFIX):
                continue  # shown with its undo button once the saved memories are read
            notices.add_text(text)
        if turn.trace.memories:
            notices.add_used_memories(len(turn.trace.memories))
        core, jobs = self.core, self.host.scheduler
        if core is None:
            return  # the settings changed during the reply: the core it came from is being closed
        if saved_by_command:
            self._show_saved(core, saved_by_command, notices)
        elif jobs is not None and core.settings.memory_enabled and not self.incognito and not turn.is_command:
            self._queue_learning(jobs, turn, notices)
        elif not self.incognito and turn.conversation_id:
            self.host.call_core(core.tidy, quiet=True)  # learning does this when memory is on

    def _show_saved(self, core: FrontendCore, memory_ids: list[str], notices: NoticeBar) -> None:
        """A "remember that …" command saved memories: offer the same undo as learning does."""

        def show(memories: list[Memory]) -> None:
            if memories and notices.is_attached:
                texts = [second_person(memory.text) for memory in memories]
                notices.add_learned(texts, [memory.id for memory in memories])
            self.post_message(MemoriesChanged("remembered"))

        self.host.call_core(core.memories_by_id, memory_ids, then=show, what="reading what was saved")

    def _queue_learning(self, jobs: BackgroundJobs, turn: Turn, notices: NoticeBar) -> None:
        """The scheduler learns from the turn in its thread; its results come back as Learned messages."""
        try:
            job = jobs.queue_learning(turn)  # a small file write: the queue survives the app being closed
        except (AssistantError, OSError) as error:
            self.notify(str(error), title="Could not queue learning", severity="error")
            return
        self._learning_bars[job] = notices
        self.status.job = "learning…"
        self.awaiting_stated = job
        self.set_timer(STATED_WAIT_SECONDS, lambda: self._release_outbox(job))

    def _release_outbox(self, job: str) -> None:
        """What the user sent after `job`'s exchange goes now (its stated facts are saved, or it waited enough)."""
        if self.awaiting_stated == job:
            self.awaiting_stated = None
            self.pump_outbox()

    def on_learned(self, message: Learned) -> None:
        # The stated part is only reported when a model pass follows: either message releases.
        self._release_outbox(message.job)
        report = message.report
        notices = self._learning_bars.get(message.job)
        if message.final:
            self._learning_bars.pop(message.job, None)
            if not self._learning_bars:
                self.status.job = ""
        # As the notices tell it ("You work as a pharmacist (replaces: You work as a nurse)"), else as saved.
        texts = [text[len(SAVED_PREFIX) :] for text in report.notices if text.startswith(SAVED_PREFIX)] or [
            second_person(memory.text) for memory in report.saved
        ]
        if notices is not None and notices.is_attached:
            if message.saved_ids:
                notices.add_learned(texts, message.saved_ids)
            for text in report.notices:
                if not text.startswith(SAVED_PREFIX):  # already shown above, with its undo button
                    notices.add_text(text)
        elif texts and notices is None:
            # Queued before the app last closed, finished now: no reply of this session to show it under.
            self.notify(SAVED_PREFIX + "; ".join(texts), title="Learned from an earlier chat")
        if report.error:
            self.log.warning(f"learning failed: {report.error}")
        if report.saved:
            self.post_message(MemoriesChanged("learned"))

    def on_notice_bar_undo_learned(self, message: NoticeBar.UndoLearned) -> None:
        message.stop()
        self.undo(message.memory_ids, message.bar)

    def undo_last_learned(self) -> None:
        bar = self.last_notices
        if bar is not None and bar.learned_ids:
            self.undo(bar.learned_ids, bar)
        else:
            self.notify("Nothing was just saved to memory.")

    def undo(self, memory_ids: list[str], bar: NoticeBar) -> None:
        if self.core is None:
            return

        def undone(_: None) -> None:
            bar.mark_undone()
            self.post_message(MemoriesChanged("undo"))
            self.notify("Removed from memory.")

        self.host.call_core(self.core.undo_learned, memory_ids, then=undone, what="undo")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker: Worker[Any] = event.worker
        if event.state != WorkerState.ERROR or worker.error is None:
            return
        report_bug(self, worker.error)
        if worker.group == "reply":
            self.post_message(ReplyFailed(f"{type(worker.error).__name__}: {worker.error}"))
