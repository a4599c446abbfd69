"""One line under the chat: model state, speed, memory count, background job."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class StatusBar(Widget):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    """

    model_label: reactive[str] = reactive("")
    state: reactive[str] = reactive("loading model…")
    tokens_per_second: reactive[float] = reactive(0.0)
    memory_count: reactive[int | None] = reactive(None)
    job: reactive[str] = reactive("")
    incognito: reactive[bool] = reactive(False)

    def render(self) -> Text:
        parts: list[tuple[str, str]] = []
        if self.model_label:
            parts.append((self.model_label, "bold"))
        parts.append((self.state, "italic"))
        if self.tokens_per_second > 0:
            parts.append((f"{self.tokens_per_second:.1f} tok/s", ""))
        if self.memory_count is not None:
            noun = "memory" if self.memory_count == 1 else "memories"
            parts.append((f"{self.memory_count} {noun}", ""))
        if self.incognito:
            parts.append(("incognito: not learning", "bold"))
        if self.job:
            parts.append((self.job, ""))
        text = Text()
        for index, (part, style) in enumerate(parts):
            if index:
                text.append("  ·  ")
            text.append(part, style=style)
        return text
