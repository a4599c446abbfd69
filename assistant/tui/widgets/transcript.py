"""The conversation as it scrolls by: user messages, Markdown replies and notices under them."""

from __future__ import annotations

from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Label, Markdown, Static


class UserMessage(Static):
    DEFAULT_CSS = """
    UserMessage {
        margin: 1 0 0 8;
        padding: 0 1;
        background: $boost;
        border-left: thick $accent;
    }
    UserMessage.-queued { color: $text-muted; }
    """

    def __init__(self, text: str, *, message_id: str | None = None, queued: bool = False) -> None:
        super().__init__(text, markup=False, classes="-queued" if queued else "")
        self.message_id = message_id


class ReplyMarkdown(Markdown):
    DEFAULT_CSS = """
    ReplyMarkdown {
        margin: 1 8 0 0;
        padding: 0 1;
        border-left: thick $primary;
    }
    ReplyMarkdown.-stopped { border-left: thick $warning; }
    ReplyMarkdown.-failed { border-left: thick $error; }
    """

    def __init__(self, text: str = "", *, message_id: str | None = None) -> None:
        super().__init__(text)
        self.message_id = message_id


class NoticeBar(Vertical):
    """Notices under a reply, one per line: what was learned (with undo) and how many memories were used."""

    DEFAULT_CSS = """
    NoticeBar {
        height: auto;
        margin: 0 8 0 0;
        padding: 0 1;
    }
    NoticeBar Label { color: $text-muted; }
    NoticeBar .learned-line { height: auto; }
    NoticeBar .learned-line Label { width: auto; max-width: 1fr; margin-right: 1; }
    NoticeBar Button { min-width: 0; height: 1; border: none; margin: 0 1 0 0; }
    """

    class UndoLearned(Message):
        def __init__(self, memory_ids: list[str], bar: NoticeBar) -> None:
            super().__init__()
            self.memory_ids = memory_ids
            self.bar = bar

    class InspectReply(Message):
        def __init__(self, message_id: str) -> None:
            super().__init__()
            self.message_id = message_id

    def __init__(self, *, reply_id: str | None) -> None:
        super().__init__()
        self.reply_id = reply_id
        self.learned_ids: list[str] = []
        self.learned_texts: list[str] = []

    @staticmethod
    def _button(label: str, button_id: str, variant: str = "default") -> Button:
        # Clicking a notice must not take focus from the message box (keys: ctrl+r undo, f3 inspect).
        button = Button(label, id=button_id, variant=variant, compact=True)  # type: ignore[arg-type]
        button.can_focus = False
        return button

    def add_text(self, text: str) -> None:
        self.mount(Label(text, markup=False))

    def add_used_memories(self, count: int) -> None:
        noun = "memory" if count == 1 else "memories"
        self.mount(self._button(f"Used {count} {noun} ›", "inspect"))

    def add_learned(self, texts: list[str], memory_ids: list[str]) -> None:
        """Show what was saved; `memory_ids` is all this exchange saved so far (what one Undo removes).

        Learning saves in two steps (what the user stated, then what the model found): one
        line and one undo for both. The ids are a union, not a sum: the scheduler reports
        them cumulatively, and a job resumed by a new scheduler reports only what it saved.
        """
        self.learned_texts += [text for text in texts if text not in self.learned_texts]
        self.learned_ids = list(dict.fromkeys([*self.learned_ids, *memory_ids]))
        text = f"Saved to memory: {'; '.join(self.learned_texts)}"
        existing = self.query(".learned-line Label")
        if existing:
            existing.first(Label).update(text)
            return
        line = Horizontal(
            Label(text, markup=False),
            self._button("Undo", "undo", variant="warning"),
            classes="learned-line",
        )
        self.mount(line)

    def mark_undone(self) -> None:
        for line in self.query(".learned-line"):
            line.remove()
        self.mount(Label("Removed from memory.", markup=False))
        self.learned_ids = []
        self.learned_texts = []

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "undo" and self.learned_ids:
            self.post_message(self.UndoLearned(self.learned_ids, self))
        elif event.button.id == "inspect" and self.reply_id:
            self.post_message(self.InspectReply(self.reply_id))


class Transcript(VerticalScroll, can_focus=False):
    """Scrolls with the mouse; never takes focus, so typing always goes to the message box."""

    DEFAULT_CSS = """
    Transcript {
        height: 1fr;
        padding: 0 1 1 1;
    }
    """

    def on_mount(self) -> None:
        self.anchor()
