"""AssistantApp: the chat screen's frame, and the lifecycle of the headless core behind it.

The app loads the core in a thread worker (what the user types meanwhile waits in the chat
pane's outbox), hands it to the chat pane once ready, runs the core's scheduler (learning
from each exchange and maintenance, in its own thread), and opens the other screens. Every
call into the core runs in a thread worker (`call_core`) and reports back with a message,
so the screen never blocks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import Worker

from assistant.application.protocol import BackgroundJobs, FrontendCore
from assistant.config import Settings
from assistant.errors import AssistantError, ModelError
from assistant.memory.types import Conversation, Message
from assistant.tui.actions import CHAT_ACTIONS, CHAT_BINDINGS, chat_commands
from assistant.tui.background import BackgroundWork
from assistant.tui.chat_pane import ChatPane
from assistant.tui.core_calls import CoreCallingApp
from assistant.tui.core_swap import RetiredCore
from assistant.tui.internal_errors import log_bug
from assistant.tui.messages import AssistantReady, AssistantUnavailable, JobProgress, MemoriesChanged
from assistant.tui.widgets.chat_input import ChatInput
from assistant.tui.widgets.conversations import ConversationList
from assistant.tui.widgets.status_bar import StatusBar
from assistant.tui.widgets.transcript import NoticeBar

if TYPE_CHECKING:
    from assistant.application.views import ContextTrace

CoreFactory = Callable[[Settings], FrontendCore]


class AssistantApp(CoreCallingApp):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "assistant"

    BINDINGS = CHAT_BINDINGS
    CHAT_ACTIONS = CHAT_ACTIONS

    def __init__(self, settings: Settings, make_assistant: CoreFactory) -> None:
        super().__init__()
        self.settings = settings
        self._make_assistant = make_assistant
        self.assistant: FrontendCore | None = None
        self.ready = False
        self._core_outdated = False  # the settings changed during a reply: replace the core when it ends
        # Held, not queried: they are on the chat screen, and other screens may be on top of it.
        self.chat = ChatPane(id="chat")
        self.background = BackgroundWork(self, learning_to=self.chat)
        self._status = StatusBar(id="status")
        self.sub_title = settings.user

    # -- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with Horizontal(id="main"):
            yield ConversationList(id="conversations")
            yield self.chat
        yield self._status
        yield Footer()

    def on_mount(self) -> None:
        self.status.model_label = self.settings.model
        self.status.state = "loading model…"
        self.chat.show_welcome()
        self.query_one(ChatInput).focus()
        # Loading imports big libraries in a thread; starting it after the first frame keeps
        # it from competing with that frame for the interpreter.
        self.call_after_refresh(self.start_assistant)

    def on_unmount(self) -> None:
        self.background.closing = True
        # Learning not finished by then stays queued on disk: the next start finishes it.
        self.background.close(timeout=10)
        if self.assistant is not None:
            # Python waits for worker threads at exit: stop a background extraction at its next
            # token instead of letting it finish.
            self.assistant.cancel_background()
            # Flush batched reinforcement so what recall touched is written before exit.
            try:
                self.assistant.close()
            except AssistantError as error:
                log_bug(error)

    @property
    def status(self) -> StatusBar:
        return self._status

    # What the chat pane holds, under the names the app has always offered.
    @property
    def conversation_id(self) -> str | None:
        return self.chat.conversation_id

    @property
    def replying(self) -> bool:
        return self.chat.replying

    @property
    def outbox(self) -> deque[str]:
        return self.chat.outbox

    @property
    def scheduler(self) -> BackgroundJobs | None:
        """The core's scheduler (learning and maintenance), once the core is ready."""
        return self.background.jobs

    # -- the core's lifecycle ----------------------------------------------------------

    def start_assistant(self, retiring: RetiredCore | None = None) -> None:
        self.ready = False
        self.status.state = "loading model…"
        self.warm_up(retiring)

    @work(thread=True, exclusive=True, group="warm-up", exit_on_error=False)
    def warm_up(self, retiring: RetiredCore | None = None) -> None:
        if retiring is not None:
            retiring.close()  # first: two models at once may not fit in memory
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
        self.background.start(message.assistant)  # first: the chat queues its learning there
        self.chat.use_core(message.assistant)

    def on_assistant_unavailable(self, message: AssistantUnavailable) -> None:
        self.status.state = "unavailable"
        if message.needs_model:
            from assistant.tui.screens.setup import SetupScreen

            self.push_screen(SetupScreen(message.error), self._after_setup)
        else:
            self.notify(message.error, title="Cannot start", severity="error", timeout=15)

    def _after_setup(self, retry: bool | None) -> None:
        if retry and self._reload_settings():
            self.start_assistant()

    def _reload_settings(self) -> bool:
        """Read the settings again (the setup or settings screen changed them); False if they do not load."""
        from assistant.config import load_settings

        try:
            self.settings = load_settings(user=self.settings.user)
        except AssistantError as error:
            self.notify(str(error), severity="error")
            return False
        return True

    def _model_name(self) -> str:
        model = self.settings.model
        return Path(model).stem if model.endswith(".gguf") or "/" in model else model

    def action_maintain(self) -> None:
        if not self.background.request():
            self.notify("Maintenance starts once the model has loaded.", severity="warning")

    def on_job_progress(self, message: JobProgress) -> None:
        self.status.job = message.text

    # -- what the chat pane reports ----------------------------------------------------

    def on_chat_pane_turn_ended(self, message: ChatPane.TurnEnded) -> None:
        if self._core_outdated:
            self.replace_core()  # the new core lists the conversations and counts the memories once ready
            return
        if message.new_conversation:
            self.refresh_conversations()
        if message.recorded:
            self.refresh_memory_count()

    def on_memories_changed(self, message: MemoriesChanged) -> None:
        self.refresh_memory_count()
        self.refresh_conversations()

    def on_notice_bar_inspect_reply(self, message: NoticeBar.InspectReply) -> None:
        self.inspect(message.message_id)

    def refresh_memory_count(self) -> None:
        if self.assistant is None:
            return

        def show(count: int | None) -> None:
            self.status.memory_count = count

        self.call_core(self.assistant.count_memories, then=show, what="counting memories", quiet=True)

    def action_stop_reply(self) -> None:
        self.chat.stop_reply()

    def action_undo_learned(self) -> None:
        self.chat.undo_last_learned()

    def action_toggle_incognito(self) -> None:
        self.chat.incognito = not self.chat.incognito
        self.status.incognito = self.chat.incognito
        self.notify("Incognito: nothing from now on is learned." if self.chat.incognito else "Learning again.")

    def worker_failed(self, worker: Worker[Any]) -> None:
        if worker.group == "warm-up":
            self.status.state = "unavailable"

    # -- conversations -----------------------------------------------------------------

    def refresh_conversations(self) -> None:
        if self.assistant is None:
            return
        sidebar = self.query_one(ConversationList)

        def show(conversations: list[Conversation]) -> None:
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

        def show(messages: list[Message]) -> None:
            self.chat.show_conversation(conversation_id, messages)
            self.query_one(ConversationList).select_conversation(conversation_id)
            if focus_message is not None:
                self.call_after_refresh(self.chat.jump_to_message, focus_message)

        self.call_core(self.assistant.conversation_messages, conversation_id, then=show, what="opening the chat")

    def action_new_conversation(self) -> None:
        if self.replying:
            self.notify("Wait for the reply to finish (Esc stops it).")
            return
        self.chat.start_new()
        self.query_one(ConversationList).index = None

    def _target_conversation(self) -> Conversation | None:
        sidebar = self.query_one(ConversationList)
        conversation = sidebar.highlighted_conversation if sidebar.has_focus else None
        if conversation is None and self.conversation_id is not None:
            return sidebar.conversation(self.conversation_id)
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

        def deleted(_: None) -> None:
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

    # -- other screens -----------------------------------------------------------------

    def action_memories(self) -> None:
        if self.assistant is None:
            self.notify("The memory store opens once loading finishes.")
            return
        from assistant.tui.screens.memories import MemoryScreen

        if not isinstance(self.screen, MemoryScreen):
            self.push_screen(MemoryScreen(self.assistant))

    def action_inspect_last(self) -> None:
        if self.chat.last_reply_id is None:
            self.notify("No reply to inspect yet.")
            return
        self.inspect(self.chat.last_reply_id)

    def inspect(self, message_id: str) -> None:
        if self.assistant is None:
            return
        from assistant.tui.screens.inspector import InspectorScreen

        def show(trace: ContextTrace | None) -> None:
            if trace is None:
                self.notify("No context was recorded for that reply.")
            else:
                self.push_screen(InspectorScreen(trace))

        self.call_core(self.assistant.trace_for, message_id, then=show, what="loading the context")

    def action_settings(self) -> None:
        from assistant.tui.screens.settings import SettingsScreen

        self.push_screen(SettingsScreen(self.settings), self._after_settings)

    def action_models(self) -> None:
        from assistant.tui.screens.models import ModelsScreen

        def after(chosen: str | None) -> None:
            self._after_settings(["model"] if chosen else None)  # a new model: swap the core, as settings do

        self.push_screen(ModelsScreen(self.settings), after)

    def _after_settings(self, changed: list[str] | None) -> None:
        if not changed or not self._reload_settings():
            return
        if self.replying:
            self.notify("Settings saved; they apply after this reply.")
            self._core_outdated = True
        else:
            self.replace_core()

    def replace_core(self) -> None:
        """Close the core and the scheduler bound to it, and load a core for the current settings."""
        self._core_outdated = False
        retiring = RetiredCore(self.assistant, self.background.detach()) if self.assistant is not None else None
        self.assistant = None
        self.chat.use_core(None)
        self.status.model_label = self.settings.model
        self.start_assistant(retiring)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.CHAT_ACTIONS and len(self.screen_stack) > 1:
            return False
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from chat_commands(self)
