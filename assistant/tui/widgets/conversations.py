"""The sidebar: conversations to switch between."""

from __future__ import annotations

from typing import Any

from textual.message import Message
from textual.widgets import Label, ListItem, ListView


class ConversationItem(ListItem):
    def __init__(self, conversation: Any) -> None:
        super().__init__(Label(conversation.title or "Untitled", markup=False))
        self.conversation = conversation


class ConversationList(ListView):
    DEFAULT_CSS = """
    ConversationList {
        width: 28;
        border-right: vkey $panel-lighten-1;
    }
    ConversationList ListItem Label {
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    class Chosen(Message):
        def __init__(self, conversation_id: str) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    def show(self, conversations: list[Any], current_id: str | None) -> None:
        self.clear()
        items = [ConversationItem(conversation) for conversation in conversations]
        if items:
            self.extend(items)
        for index, item in enumerate(items):
            if item.conversation.id == current_id:
                self.index = index
                break
        else:
            self.index = None

    def select_conversation(self, conversation_id: str | None) -> None:
        for index, item in enumerate(self.children):
            if isinstance(item, ConversationItem) and item.conversation.id == conversation_id:
                self.index = index
                return

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        if isinstance(event.item, ConversationItem):
            event.stop()
            self.post_message(self.Chosen(event.item.conversation.id))

    @property
    def highlighted_conversation(self) -> Any | None:
        item = self.highlighted_child
        return item.conversation if isinstance(item, ConversationItem) else None
