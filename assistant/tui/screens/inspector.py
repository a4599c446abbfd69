"""The context inspector: exactly what the model was given for one reply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Collapsible, DataTable, Footer, Header, Label, Static

if TYPE_CHECKING:
    from assistant.application.views import ContextTrace


class InspectorScreen(Screen[None]):
    BINDINGS = [Binding("escape,f3", "app.pop_screen", "Back")]

    def __init__(self, trace: ContextTrace) -> None:
        super().__init__()
        self.trace = trace

    def compose(self) -> ComposeResult:
        trace = self.trace
        yield Header(icon="◆")
        with VerticalScroll(id="inspector"):
            budget = f" of a {trace.budget}-token budget" if trace.budget else ""
            yield Label(
                f"The model was given {trace.total_tokens} tokens{budget} in {len(trace.sections)} sections.",
                id="inspector-summary",
            )
            yield Label("Memories used", classes="section-title")
            if trace.memories:
                yield DataTable(id="inspector-memories", cursor_type="row", zebra_stripes=True)
            else:
                yield Label("No memories were recalled for this reply.", classes="muted")
            yield Label("Sections, in the order the model saw them", classes="section-title")
            for index, section in enumerate(trace.sections):
                with Collapsible(title=f"{section.name} — {section.tokens} tokens", collapsed=index > 2):
                    yield Static(Text(section.text), classes="section-text")
        yield Footer()

    def on_mount(self) -> None:
        if not self.trace.memories:
            return
        table = self.query_one("#inspector-memories", DataTable)
        table.add_columns("score", "kind", "section", "memory")
        for memory in self.trace.memories:
            table.add_row(f"{memory.score:.3f}", str(memory.kind), memory.section, memory.text, key=memory.id)
