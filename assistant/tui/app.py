"""AssistantApp: the chat screen, and the workers that drive the headless core.

Every call into the core runs in a thread worker and reports back with a message, so the
screen never blocks: the model loads in the background, and what the user types meanwhile
waits in an outbox that is sent once the model is ready.
"""

from __future__ import annotations

import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Markdown
from textual.widgets.markdown import MarkdownStream
from textual.worker import Worker, WorkerState, get_current_worker

from assistant import locations
from assistant.config import Settings
from assistant.errors import AssistantError, ModelError
from assistant.tui.messages import (
    AssistantReady,
    AssistantUnavailable,
    CoreCall,
    CoreFailed,
    CoreResult,
    JobProgress,
    Learned,
    MemoriesChanged,
    ReplyChunk,
    ReplyDone,
    ReplyFailed,
)
from assistant.tui.widgets.chat_input import ChatInput
from assistant.tui.widgets.conversations import ConversationList
from assistant.tui.widgets.status_bar import StatusBar
from assistant.tui.widgets.transcript import NoticeBar, ReplyMarkdown, Transcript, UserMessage

AssistantFactory = Callable[[Settings], Any]
# Learning yields the model to the user's chat and retries; give up after this many tries.
LEARN_ATTEMPTS = 5
LEARN_RETRY_POLL = 0.25
SAVED_PREFIX = "Saved to memory: "

WELCOME = (
    "Type a message and press **Enter** (Shift+Enter or Ctrl+J for a new line). "
    "Say *remember that …* to save something, *what do you know about me?* to see it. "
    "**F2** opens your memories, **Esc** stops a reply, **Ctrl+P** lists every action."
)


class AssistantApp(App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "assistant"

    BINDINGS = [
        Binding("escape", "stop_reply", "Stop", tooltip="Stop the reply being written"),
        Binding("ctrl+n", "new_conversation", "New chat"),
        Binding("f2", "memories", "Memories"),
        Binding("f3", "inspect_last", "Inspect"),
        Binding("f4", "settings", "Settings"),
        Binding("ctrl+b", "toggle_sidebar", "Chats"),
        Binding("f5", "rename_conversation", "Rename"),
        Binding("f8", "delete_conversation", "Delete chat"),
        Binding("ctrl+r", "undo_learned", "Undo memory", show=False),
        Binding("f9", "toggle_incognito", "Incognito", show=False),
    ]

    # Actions of the chat screen; hidden from the footer and disabled while another screen is on top.
    CHAT_ACTIONS = frozenset(
        {
            "stop_reply",
            "new_conversation",
            "inspect_last",
            "toggle_sidebar",
            "rename_conversation",
            "delete_conversation",
            "undo_learned",
            "toggle_incognito",
            "memories",
            "settings",
        }
    )

    def __init__(self, settings: Settings, make_assistant: AssistantFactory) -> None:
        super().__init__()
        self.settings = settings
        self._make_assistant = make_assistant
        self.assistant: Any | None = None
        self.ready = False
        self.conversation_id: str | None = None
        self.incognito = False
        self.closing = False
        self.outbox: deque[str] = deque()
        self.saving_stated = False  # learning has not yet saved what the last message stated
        self.replying = False
        self._cancel: threading.Event | None = None
        self._stream: MarkdownStream | None = None
        self._reply_view: ReplyMarkdown | None = None
        self._reply_text: list[str] = []
        self._last_reply_id: str | None = None
        self._last_notices: NoticeBar | None = None
        self.scheduler: Any = None  # background maintenance, once the real core is ready
        self.sub_title = settings.user

    # -- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with Horizontal(id="main"):
            yield ConversationList(id="conversations")
            with Vertical(id="chat"):
                yield Transcript(id="transcript")
                yield ChatInput(id="input", placeholder="Message (Enter sends, Shift+Enter new line)")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.status.model_label = self.settings.model
        self.status.state = "loading model…"
        self.transcript.mount(Markdown(WELCOME, classes="welcome"))
        self.query_one(ChatInput).focus()
        # Loading imports big libraries in a thread; starting it after the first frame keeps
        # it from competing with that frame for the interpreter.
        self.call_after_refresh(self.start_assistant)

    def on_unmount(self) -> None:
        self.closing = True
        if self.scheduler is not None:
            self.scheduler.stop(timeout=10)
        # Python waits for worker threads at exit: stop a background extraction at its next
        # token instead of letting it finish.
        if self.assistant is not None and hasattr(self.assistant, "cancel_background"):
            self.assistant.cancel_background()
        # Flush batched reinforcement so what recall touched is written before exit.
        if self.assistant is not None and hasattr(self.assistant, "close"):
            try:
                self.assistant.close()
            except AssistantError as error:
                self._log_bug(error)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    # -- warm-up -----------------------------------------------------------------------

    def start_assistant(self) -> None:
        self.ready = False
        self.status.state = "loading model…"
        self.warm_up()

    @work(thread=True, exclusive=True, group="warm-up", exit_on_error=False)
    def warm_up(self) -> None:
        try:
            assistant = self._make_assistant(self.settings)
            assistant.warm_up()
        except ModelError as error:
            self.post_message(AssistantUnavailable(str(error), needs_model=True))
        except AssistantError as error:
            self.post_message(AssistantUnavailable(str(error), needs_model=False))
        else:
            self.post_message(AssistantReady(assistant))

    def on_assistant_ready(self, message: AssistantReady) -> None:
        self.assistant = message.assistant
        self.settings = message.assistant.settings
        self.ready = True
        self.status.model_label = self._model_name()
        self.status.state = "ready"
        self.refresh_conversations()
        self.refresh_memory_count()
        self.pump_outbox()
        self.start_maintenance()

    def start_maintenance(self) -> None:
        """Compression, decay and index upkeep on a timer, in the scheduler's own thread."""
        from assistant.application.session import Assistant

        if self.scheduler is not None or not isinstance(self.assistant, Assistant):
            return
        if not self.settings.memory_enabled:
            return
        from assistant.scheduler import Scheduler

        self.scheduler = Scheduler(self.assistant, on_progress=self._job_progress_from_thread)
        self.scheduler.start()
        self.set_interval(self.settings.maintenance_interval_minutes * 60, self.action_maintain)

    def _job_progress_from_thread(self, status: Any) -> None:
        # post_message never blocks the scheduler's thread (call_from_thread would wait for
        # the UI, which can deadlock while the app is stopping the scheduler).
        if self.closing:
            return
        counted = f" {status.done}/{status.total}" if status.job and status.total else ""
        self.post_message(JobProgress(f"{status.job}{counted}" if status.job else ""))

    def action_maintain(self) -> None:
        if self.scheduler is None:
            self.notify("Maintenance starts once the model has loaded.", severity="warning")
            return
        self.scheduler.request_maintenance()

    def on_assistant_unavailable(self, message: AssistantUnavailable) -> None:
        self.status.state = "unavailable"
        if message.needs_model:
            from assistant.tui.screens.setup import SetupScreen

            self.push_screen(SetupScreen(message.error), self._after_setup)
        else:
            self.notify(message.error, title="Cannot start", severity="error", timeout=15)

    def _after_setup(self, retry: bool | None) -> None:
        if retry:
            from assistant.config import load_settings

            try:
                self.settings = load_settings(user=self.settings.user)
            except AssistantError as error:
                self.notify(str(error), severity="error")
                return
            self.start_assistant()

    def _model_name(self) -> str:
        model = self.settings.model
        return Path(model).stem if model.endswith(".gguf") or "/" in model else model

    # -- sending -----------------------------------------------------------------------

    def on_chat_input_submitted(self, message: ChatInput.Submitted) -> None:
        self.send(message.text)

    def send(self, text: str) -> None:
        """Send `text` now if the assistant is free, else keep it until it is."""
        queued = not self.ready or self.replying
        self.transcript.mount(UserMessage(text, queued=queued))
        self.outbox.append(text)
        if queued and not self.ready:
            self.status.state = f"loading model… ({len(self.outbox)} waiting)"
        self.pump_outbox()

    def pump_outbox(self) -> None:
        # A message waits for the rules' facts from the exchange before it (about 0.1 s), so
        # "what do you know about me?" sent right after a reply already sees them.
        if not self.ready or self.replying or self.saving_stated or not self.outbox:
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
        self.stream_reply(text, self.conversation_id, self._cancel, self.incognito)

    @work(thread=True, exclusive=True, group="reply", exit_on_error=False)
    def stream_reply(self, text: str, conversation_id: str | None, cancel: threading.Event, incognito: bool) -> None:
        assistant = self.assistant
        assert assistant is not None
        worker = get_current_worker()
        options: dict[str, Any] = {"conversation_id": conversation_id, "cancel": cancel}
        if incognito:
            options["incognito"] = True
        try:
            for piece in assistant.stream_reply(text, **options):
                self.post_message(ReplyChunk(piece))
                if worker.is_cancelled:
                    cancel.set()
        except AssistantError as error:
            self.post_message(ReplyFailed(str(error)))
            return
        self.post_message(ReplyDone(getattr(assistant, "last_turn", None), stopped=cancel.is_set()))

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
        turn = message.turn
        self.replying = False
        self.status.state = "stopped" if message.stopped else "ready"
        if view is not None and message.stopped:
            view.add_class("-stopped")
            if not self._reply_text:
                await view.update("*(stopped)*")
        if turn is not None:
            self._after_turn(turn, view)
        self.pump_outbox()

    def _after_turn(self, turn: Any, view: ReplyMarkdown | None) -> None:
        stats = getattr(turn, "stats", None)
        if stats is not None:
            self.status.tokens_per_second = float(getattr(stats, "tokens_per_second", 0.0) or 0.0)
        reply_id = getattr(turn, "assistant_message_id", None)
        if view is not None:
            view.message_id = reply_id
        self._last_reply_id = reply_id or self._last_reply_id
        new_conversation = turn.conversation_id != self.conversation_id
        self.conversation_id = turn.conversation_id
        notices = NoticeBar(reply_id=reply_id)
        self._last_notices = notices
        self.transcript.mount(notices)
        saved_by_command = list(getattr(turn, "saved_ids", None) or [])
        for text in getattr(turn, "notices", None) or []:
            if saved_by_command and text.startswith(SAVED_PREFIX):
                continue  # shown with its undo button once the saved memories are read
            notices.add_text(text)
        trace = getattr(turn, "trace", None)
        if trace is not None and trace.memories:
            notices.add_used_memories(len(trace.memories))
        if new_conversation:
            self.refresh_conversations()
        if saved_by_command:
            self._show_saved(saved_by_command, notices)
        elif self.settings.memory_enabled and not self.incognito and not getattr(turn, "is_command", False):
            self.status.job = "learning…"
            self.saving_stated = True
            self.learn(turn, notices)
        elif not self.incognito and getattr(turn, "conversation_id", None):
            self.call_core(self.tidy_store, quiet=True)  # learn() does this when memory is on
        self.refresh_memory_count()

    def _show_saved(self, memory_ids: list[str], notices: NoticeBar) -> None:
        """A "remember that …" command saved memories: offer the same undo as learning does."""
        from assistant.tui import bridge

        def show(memories: list[Any]) -> None:
            if memories and notices.is_attached:
                notices.add_learned([memory.text for memory in memories], [memory.id for memory in memories])
            self.post_message(MemoriesChanged("remembered"))

        self.call_core(bridge.memories_by_id, self.assistant, memory_ids, then=show, what="reading what was saved")

    async def on_reply_failed(self, message: ReplyFailed) -> None:
        await self._finish_stream()
        self.replying = False
        self.status.state = "ready"
        if self._reply_view is not None:
            self._reply_view.add_class("-failed")
            if not self._reply_text:
                await self._reply_view.update("*(no reply)*")
        self.notify(message.error, title="Reply failed", severity="error", timeout=10)
        self.pump_outbox()

    def action_stop_reply(self) -> None:
        if self.replying and self._cancel is not None:
            self._cancel.set()
            self.status.state = "stopping…"
        elif self.outbox and not self.ready:
            self.outbox.clear()
            for view in self.transcript.query(UserMessage).filter(".-queued"):
                view.remove()
            self.notify("Dropped the messages waiting for the model.")

    # -- learning ----------------------------------------------------------------------

    @work(thread=True, group="learn", exit_on_error=False)
    def learn(self, turn: Any, notices: NoticeBar) -> None:
        from assistant.llm.runner import GenerationCancelled

        assistant = self.assistant
        assert assistant is not None
        worker = get_current_worker()

        def stated(report: Any) -> None:
            # Shown at once: with a big model, its own extraction can take a while longer.
            self.post_message(Learned(report, notices, final=False))

        for _attempt in range(LEARN_ATTEMPTS):
            try:
                report = assistant.learn(turn, on_stated=stated)
            except GenerationCancelled:
                # The user's next message took the model; learn again once it is free.
                while not self._stop_learning(worker) and (assistant.runner.busy or assistant.runner.user_waiting):
                    threading.Event().wait(LEARN_RETRY_POLL)
                if self._stop_learning(worker):
                    return
                continue
            except AssistantError as error:
                self.post_message(JobProgress(""))
                self.post_message(CoreFailed(CoreCall(what="learning from this exchange"), str(error)))
                return
            self.post_message(Learned(report, notices))
            return
        self.post_message(JobProgress(""))

    def tidy_store(self) -> None:
        from assistant.application.session import Assistant

        if isinstance(self.assistant, Assistant):
            self.assistant.engine.tidy()

    def _stop_learning(self, worker: Worker[Any]) -> bool:
        return worker.is_cancelled or self.closing

    def _stated_saved(self) -> None:
        if self.saving_stated:
            self.saving_stated = False
            self.pump_outbox()

    def on_learned(self, message: Learned) -> None:
        self._stated_saved()
        report = message.report
        if message.final:
            self.status.job = ""
        notices: NoticeBar | None = message.notices
        if notices is not None and notices.is_attached:
            if report.saved:
                notices.add_learned([memory.text for memory in report.saved], [memory.id for memory in report.saved])
            for text in report.notices:
                if not text.startswith(SAVED_PREFIX):  # already shown above, with its undo button
                    notices.add_text(text)
        if report.error:
            self.log.warning(f"learning failed: {report.error}")
        if report.saved:
            self.post_message(MemoriesChanged("learned"))

    def on_notice_bar_undo_learned(self, message: NoticeBar.UndoLearned) -> None:
        assistant = self.assistant
        if assistant is None:
            return
        bar = message.bar

        def undone(_: Any) -> None:
            bar.mark_undone()
            self.post_message(MemoriesChanged("undo"))
            self.notify("Removed from memory.")

        self.call_core(assistant.undo_learned, message.memory_ids, then=undone, what="undo")

    def action_undo_learned(self) -> None:
        bar = self._last_notices
        if bar is not None and bar.learned_ids:
            self.post_message(NoticeBar.UndoLearned(bar.learned_ids, bar))
        else:
            self.notify("Nothing was just saved to memory.")

    def on_notice_bar_inspect_reply(self, message: NoticeBar.InspectReply) -> None:
        self.inspect(message.message_id)

    def on_memories_changed(self, message: MemoriesChanged) -> None:
        self.refresh_memory_count()
        self.refresh_conversations()

    def on_job_progress(self, message: JobProgress) -> None:
        self.status.job = message.text

    def refresh_memory_count(self) -> None:
        if self.assistant is None:
            return
        from assistant.tui import bridge

        def show(count: int | None) -> None:
            self.status.memory_count = count

        self.call_core(bridge.count_memories, self.assistant, then=show, what="counting memories", quiet=True)

    # -- core calls --------------------------------------------------------------------

    def call_core(
        self,
        function: Callable[..., Any],
        *args: Any,
        then: Callable[[Any], None] | None = None,
        what: str = "",
        quiet: bool = False,
        **kwargs: Any,
    ) -> None:
        """Run a blocking core call in a thread; `then(result)` runs on the UI thread."""
        self._core_worker(CoreCall(then=then, what=what), quiet, function, args, kwargs)

    @work(thread=True, group="core", exit_on_error=False)
    def _core_worker(
        self, call: CoreCall, quiet: bool, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        try:
            value = function(*args, **kwargs)
        except AssistantError as error:
            if not quiet:
                self.post_message(CoreFailed(call, str(error)))
            return
        self.post_message(CoreResult(call, value))

    def on_core_result(self, message: CoreResult) -> None:
        if message.call.then is not None:
            message.call.then(message.value)

    def on_core_failed(self, message: CoreFailed) -> None:
        title = f"Failed: {message.call.what}" if message.call.what else "Failed"
        self.notify(message.error, title=title, severity="error", timeout=10)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "learn" and event.state in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            self._stated_saved()  # however learning ended, the next message is not held up
        # An unexpected exception is a bug: log it with its traceback, show one line, keep running.
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if error is None:
            return
        self._log_bug(error)
        self.notify(f"{type(error).__name__}: {error}", title="Internal error (logged)", severity="error", timeout=15)
        if event.worker.group == "reply":
            self.post_message(ReplyFailed(f"{type(error).__name__}: {error}"))
        elif event.worker.group == "warm-up":
            self.status.state = "unavailable"
        elif event.worker.group == "learn":
            self.status.job = ""

    def _log_bug(self, error: BaseException) -> None:
        try:
            folder = locations.ensure_private_dir(locations.log_dir())
            with open(folder / "tui-errors.log", "a", encoding="utf-8") as log:
                log.write("".join(traceback.format_exception(error)))
        except OSError:
            pass

    # -- conversations -----------------------------------------------------------------

    def refresh_conversations(self) -> None:
        if self.assistant is None:
            return
        sidebar = self.query_one(ConversationList)

        def show(conversations: list[Any]) -> None:
            known = {conversation.id for conversation in conversations}
            if self.conversation_id is not None and self.conversation_id not in known and not self.replying:
                # Deleted elsewhere (forget everything, or another process): start afresh.
                self.action_new_conversation()
            sidebar.show(conversations, self.conversation_id)

        self.call_core(self.assistant.list_conversations, then=show, what="listing conversations")

    def on_conversation_list_chosen(self, message: ConversationList.Chosen) -> None:
        self.open_conversation(message.conversation_id)

    def open_conversation(self, conversation_id: str, *, focus_message: str | None = None) -> None:
        if self.assistant is None or self.replying:
            if self.replying:
                self.notify("Wait for the reply to finish (Esc stops it).")
            return

        def show(messages: list[Any]) -> None:
            self.conversation_id = conversation_id
            self._show_messages(messages)
            self.query_one(ConversationList).select_conversation(conversation_id)
            if focus_message is not None:
                self.call_after_refresh(self.jump_to_message, focus_message)

        self.call_core(self.assistant.conversation_messages, conversation_id, then=show, what="opening the chat")

    def _show_messages(self, messages: list[Any]) -> None:
        self.transcript.remove_children()
        self._last_reply_id = None
        self._last_notices = None
        widgets = []
        for message in messages:
            if str(message.role) == "user":
                widgets.append(UserMessage(message.content, message_id=message.id))
            else:
                widgets.append(ReplyMarkdown(message.content, message_id=message.id))
                self._last_reply_id = message.id
        if widgets:
            self.transcript.mount_all(widgets)
        self.transcript.scroll_end(animate=False)
        self.query_one(ChatInput).focus()

    def action_new_conversation(self) -> None:
        if self.replying:
            self.notify("Wait for the reply to finish (Esc stops it).")
            return
        self.conversation_id = None
        self._last_reply_id = None
        self._last_notices = None
        self.transcript.remove_children()
        self.transcript.mount(Markdown(WELCOME, classes="welcome"))
        self.query_one(ConversationList).index = None
        self.query_one(ChatInput).focus()

    def _target_conversation(self) -> Any | None:
        sidebar = self.query_one(ConversationList)
        conversation = sidebar.highlighted_conversation if sidebar.has_focus else None
        if conversation is None and self.conversation_id is not None:
            for item in sidebar.children:
                candidate = getattr(item, "conversation", None)
                if candidate is not None and candidate.id == self.conversation_id:
                    return candidate
        return conversation

    def action_rename_conversation(self) -> None:
        from assistant.tui.screens.dialogs import AskLineScreen

        conversation = self._target_conversation()
        if conversation is None or self.assistant is None:
            self.notify("No conversation to rename yet.")
            return

        def rename(title: str | None) -> None:
            if title and self.assistant is not None:
                self.call_core(
                    self.assistant.rename_conversation,
                    conversation.id,
                    title,
                    then=lambda _: self.refresh_conversations(),
                    what="renaming",
                )

        self.push_screen(AskLineScreen("New name for this conversation:", conversation.title), rename)

    def action_delete_conversation(self) -> None:
        from assistant.tui.screens.dialogs import ConfirmScreen

        conversation = self._target_conversation()
        if conversation is None or self.assistant is None:
            self.notify("No conversation to delete.")
            return

        def deleted(_: Any) -> None:
            if conversation.id == self.conversation_id:
                self.action_new_conversation()
            self.refresh_conversations()
            self.notify(f"Deleted “{conversation.title}”.")

        def delete(confirmed: bool | None) -> None:
            if confirmed and self.assistant is not None:
                self.call_core(self.assistant.delete_conversation, conversation.id, then=deleted, what="deleting")

        self.push_screen(
            ConfirmScreen(f"Delete the conversation “{conversation.title}” and its messages?", confirm_label="Delete"),
            delete,
        )

    def action_toggle_sidebar(self) -> None:
        sidebar = self.query_one(ConversationList)
        sidebar.display = not sidebar.display

    def action_toggle_incognito(self) -> None:
        self.incognito = not self.incognito
        self.status.incognito = self.incognito
        self.notify("Incognito: nothing from now on is learned." if self.incognito else "Learning again.")

    # -- other screens -----------------------------------------------------------------

    def action_memories(self) -> None:
        if self.assistant is None:
            self.notify("The memory store opens once loading finishes.")
            return
        from assistant.tui.screens.memories import MemoryScreen

        if not isinstance(self.screen, MemoryScreen):
            self.push_screen(MemoryScreen(self.assistant))

    def action_inspect_last(self) -> None:
        if self._last_reply_id is None:
            self.notify("No reply to inspect yet.")
            return
        self.inspect(self._last_reply_id)

    def inspect(self, message_id: str) -> None:
        if self.assistant is None:
            return
        from assistant.tui.screens.inspector import InspectorScreen

        def show(trace: Any) -> None:
            if trace is None:
                self.notify("No context was recorded for that reply.")
            else:
                self.push_screen(InspectorScreen(trace))

        self.call_core(self.assistant.trace_for, message_id, then=show, what="loading the context")

    def action_settings(self) -> None:
        from assistant.tui.screens.settings import SettingsScreen

        self.push_screen(SettingsScreen(self.settings), self._after_settings)

    def _after_settings(self, changed: list[str] | None) -> None:
        if not changed:
            return
        from assistant.config import load_settings

        try:
            self.settings = load_settings(user=self.settings.user)
        except AssistantError as error:
            self.notify(str(error), severity="error")
            return
        if self.replying:
            self.notify("Settings saved; they apply after this reply.")
        self.assistant = None
        self.status.model_label = self.settings.model
        self.start_assistant()

    def jump_to_message(self, message_id: str) -> None:
        """Scroll to a message shown in the transcript (used by the memory panel's sources)."""
        for view in self.transcript.query("UserMessage, ReplyMarkdown"):
            if getattr(view, "message_id", None) == message_id:
                self.transcript.scroll_to_widget(view, animate=False, top=True)
                view.add_class("-jumped")
                return

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.CHAT_ACTIONS and len(self.screen_stack) > 1:
            return False
        return True

    # -- command palette ---------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("New chat (ctrl+n)", "Start a new conversation", self.action_new_conversation)
        yield SystemCommand("Memories (f2)", "Browse, search and edit what I remember", self.action_memories)
        yield SystemCommand("Inspect last reply (f3)", "Show the context the model was given", self.action_inspect_last)
        yield SystemCommand("Settings (f4)", "Model, context, memory and maintenance settings", self.action_settings)
        yield SystemCommand("Toggle chat list (ctrl+b)", "Show or hide the conversations", self.action_toggle_sidebar)
        yield SystemCommand("Rename chat (f5)", "Rename the current conversation", self.action_rename_conversation)
        yield SystemCommand("Delete chat (f8)", "Delete the current conversation", self.action_delete_conversation)
        yield SystemCommand("Undo last memory (ctrl+r)", "Remove what was just saved", self.action_undo_learned)
        yield SystemCommand("Incognito (f9)", "Stop or resume learning from this chat", self.action_toggle_incognito)
        yield SystemCommand("Stop reply (escape)", "Stop the reply being written", self.action_stop_reply)
        yield SystemCommand(
            "Run maintenance now", "Compress old conversations, let unused memories decay", self.action_maintain
        )
