"""The chat screen's keys, and its entries in the command palette (Ctrl+P): every binding, and what has none."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.binding import Binding, BindingType

if TYPE_CHECKING:
    from assistant.tui.host import ChatActions


CHAT_BINDINGS: list[BindingType] = [
    Binding("escape", "stop_reply", "Stop", tooltip="Stop the reply being written"),
    Binding("ctrl+n", "new_conversation", "New chat"),
    Binding("f2", "memories", "Memories"),
    Binding("f3", "inspect_last", "Inspect"),
    Binding("f4", "settings", "Settings"),
    # priority: the chat input (a TextArea) binds F6 to "select line" for itself.
    Binding("f6", "models", "Models", priority=True),
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
        "models",
    }
)


def chat_commands(app: ChatActions) -> Iterator[SystemCommand]:
    yield SystemCommand("New chat (ctrl+n)", "Start a new conversation", app.action_new_conversation)
    yield SystemCommand("Memories (f2)", "Browse, search and edit what I remember", app.action_memories)
    yield SystemCommand("Inspect last reply (f3)", "Show the context the model was given", app.action_inspect_last)
    yield SystemCommand("Settings (f4)", "Model, context, memory and maintenance settings", app.action_settings)
    yield SystemCommand("Models (f6)", "Switch model, see what is here, download one", app.action_models)
    yield SystemCommand("Toggle chat list (ctrl+b)", "Show or hide the conversations", app.action_toggle_sidebar)
    yield SystemCommand("Rename chat (f5)", "Rename the current conversation", app.action_rename_conversation)
    yield SystemCommand("Delete chat (f8)", "Delete the current conversation", app.action_delete_conversation)
    yield SystemCommand("Undo last memory (ctrl+r)", "Remove what was just saved", app.action_undo_learned)
    yield SystemCommand("Incognito (f9)", "Stop or resume learning from this chat", app.action_toggle_incognito)
    yield SystemCommand("Stop reply (escape)", "Stop the reply being written", app.action_stop_reply)
    yield SystemCommand(
        "Run maintenance now", "Compress old conversations, let unused memories decay", app.action_maintain
    )
