"""The sidebar: conversations to switch between."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import Label, ListItem, ListView

from assistant.memory.types import Conversation


class ConversationItem(ListItem):
    def __init__(self, conversation: Conversation) -> None:
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

    def show(self, conversations: list[Conversation], current_id: str | None) -> None:
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

    def conversation(self, conversation_id: str) -> Conversation | None:
        """The listed conversation with that id, if it is listed."""
        for item in self.children:
            if isinstance(item, ConversationItem) and item.conversation.id == conversation_id:
                return item.conversation
        return None

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
    def highlighted_conversation(self) -> Conversation | None:
        item = self.highlighted_child
        return item.conversation if isinstance(item, ConversationItem) else None
