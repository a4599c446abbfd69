"""The memory browser: every memory, searchable by recall, with its sources and history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Label, ListItem, ListView, Select, Static

from assistant.application.protocol import CoreMemories
from assistant.application.views import NOT_MESSAGES, MemoryDetail, MemoryRow
from assistant.memory.types import Kind, Memory, Message, Status
from assistant.tui.messages import MemoriesChanged
from assistant.tui.screens.dialogs import AskLineScreen, AskTextScreen, ConfirmScreen

KIND_CHOICES = [("all but messages", NOT_MESSAGES), ("all kinds", "")] + [(kind.value, kind.value) for kind in Kind]
STATUS_CHOICES = [(status.value, status.value) for status in Status] + [("any status", "")]
SORT_CHOICES = [("relevance", "relevance"), ("recency", "recency"), ("strength", "strength"), ("use", "use")]
FORGET_ALL_WORD = "DELETE"

if TYPE_CHECKING:
    from assistant.tui.host import PanelHost


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


class SourceItem(ListItem):
    def __init__(self, message: Message) -> None:
        first_line = message.content.strip().splitlines()[0] if message.content.strip() else ""
        super().__init__(Label(f"{when(message.created_at)} {message.role}: {first_line}", markup=False))
        self.message = message


class MemoryScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,f2", "close", "Back"),
        Binding("ctrl+f", "focus_search", "Search"),
        Binding("e", "edit", "Edit"),
        Binding("p", "toggle_pin", "Pin"),
        Binding("a", "toggle_archive", "Archive/restore"),
        Binding("delete,x", "forget", "Forget"),
        Binding("ctrl+o", "edit_profile", "Profile"),
        Binding("ctrl+l", "edit_rules", "Rules"),
        Binding("ctrl+e", "export", "Export"),
        Binding("ctrl+x", "forget_everything", "Forget all"),
    ]

    def __init__(self, memories: CoreMemories) -> None:
        super().__init__()
        self.memories = memories
        self.rows: dict[str, MemoryRow] = {}
        self.detail: MemoryDetail | None = None
        self.selected_id: str | None = None
        self._listings = 0  # listings asked for: only the latest one's rows are shown

    @property
    def host(self) -> PanelHost:
        """The app: it runs the core calls in its workers and opens conversations."""
        return cast("PanelHost", self.app)

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with Horizontal(id="memory-browser"):
            with Vertical(id="memory-list"):
                yield Input(placeholder="Search memories (recall)…", id="memory-search")
                with Horizontal(id="memory-filters"):
                    yield Select(KIND_CHOICES, value=NOT_MESSAGES, allow_blank=False, id="filter-kind")
                    yield Select(STATUS_CHOICES, value="active", allow_blank=False, id="filter-status")
                    yield Select(SORT_CHOICES, value="relevance", allow_blank=False, id="sort")
                yield DataTable(id="memory-table", cursor_type="row", zebra_stripes=True)
                yield Label("", id="memory-count", classes="muted")
            with VerticalScroll(id="memory-detail"):
                yield Static("Select a memory to see where it came from.", id="detail-text")
                yield Label("Sources (Enter jumps to the message)", classes="section-title")
                yield ListView(id="detail-sources")
                yield Label("History", classes="section-title")
                yield Static("", id="detail-history")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#memory-table", DataTable)
        table.add_column("kind", key="kind", width=10)
        table.add_column("memory", key="text", width=30)
        table.add_column("strength", key="strength", width=8)
        table.add_column("uses", key="uses", width=4)
        table.add_column("status", key="status", width=10)
        table.add_column("pin", key="pinned", width=3)
        table.focus()
        self.reload()

    # -- loading -----------------------------------------------------------------------

    @property
    def filters(self) -> dict[str, Any]:
        kind = self.query_one("#filter-kind", Select).value
        status = self.query_one("#filter-status", Select).value
        sort = self.query_one("#sort", Select).value
        return {
            "kind": kind or None if isinstance(kind, str) else None,
            "status": status or None if isinstance(status, str) else None,
            "sort": sort if isinstance(sort, str) else "relevance",
        }

    def reload(self) -> None:
        query = self.query_one("#memory-search", Input).value
        self._listings += 1
        listing = self._listings

        def show(rows: list[MemoryRow]) -> None:
            if listing == self._listings:  # an earlier search that came back late is not shown over this one
                self.show_rows(rows)

        self.host.call_core(self.memories.find_memories, query, **self.filters, then=show, what="loading memories")

    def show_rows(self, rows: list[MemoryRow]) -> None:
        table = self.query_one("#memory-table", DataTable)
        table.clear()
        self.rows = {row.memory.id: row for row in rows}
        for row in rows:
            memory = row.memory
            text = memory.text if memory.key is None else f"{memory.text}  [{memory.key}]"
            table.add_row(
                str(memory.kind),
                text,
                f"{memory.strength:.2f}",
                str(memory.access_count),
                str(memory.status),
                "yes" if memory.pinned else "",
                key=memory.id,
            )
        query = self.query_one("#memory-search", Input).value.strip()
        noun = "memory" if len(rows) == 1 else "memories"
        self.query_one("#memory-count", Label).update(
            f"{len(rows)} {noun}" + (f" recalled for “{query}”" if query else "")
        )
        if self.selected_id in self.rows:
            table.move_cursor(row=table.get_row_index(self.selected_id))
            self.load_detail(self.selected_id)
        elif rows:
            table.move_cursor(row=0)
        else:
            self.show_detail(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "memory-search":
            event.stop()
            self.reload()
            self.query_one("#memory-table", DataTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        # Clearing the box goes back to the full list without pressing Enter.
        if event.input.id == "memory-search" and not event.value:
            self.reload()

    def on_select_changed(self, event: Select.Changed) -> None:
        if self.is_mounted and self.query("#memory-table"):
            self.reload()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.selected_id = event.row_key.value
            self.load_detail(event.row_key.value)

    def load_detail(self, memory_id: str) -> None:
        def show(detail: MemoryDetail | None) -> None:
            # Calls run side by side (over the service, on connections of their own): the detail
            # of a row the cursor has since left may come back last, and must not replace the current one.
            if memory_id == self.selected_id:
                self.show_detail(detail)

        self.host.call_core(self.memories.memory_detail, memory_id, then=show, what="loading the memory")

    def show_detail(self, detail: MemoryDetail | None) -> None:
        self.detail = detail
        text_view = self.query_one("#detail-text", Static)
        sources = self.query_one("#detail-sources", ListView)
        history = self.query_one("#detail-history", Static)
        sources.clear()
        if detail is None:
            text_view.update("No memory selected.")
            history.update("")
            return
        memory = detail.memory
        text = Text()
        text.append(memory.text + "\n\n", style="bold")
        for label, value in (
            ("kind", str(memory.kind)),
            ("key", memory.key or "—"),
            ("status", str(memory.status) + ("  (pinned)" if memory.pinned else "")),
            ("origin", str(memory.origin)),
            ("created", when(memory.created_at)),
            ("updated", when(memory.updated_at)),
            ("valid", f"{when(memory.valid_from)} → {when(memory.valid_to) if memory.valid_to else 'now'}"),
            ("last used", when(memory.last_accessed)),
            ("strength", f"{memory.strength:.3f}"),
            ("importance", f"{memory.importance:.2f}"),
            ("uses", str(memory.access_count)),
            ("id", memory.id),
        ):
            text.append(f"{label:>10}  ", style="dim")
            text.append(value + "\n")
        text_view.update(text)
        if detail.sources:
            sources.extend(SourceItem(message) for message in detail.sources)
        else:
            sources.append(ListItem(Label("No source messages (added directly)."), disabled=True))
        lines = Text()
        for entry in detail.history:
            lines.append(f"{when(entry.at)}  ", style="dim")
            lines.append(f"{entry.action}", style="bold")
            lines.append(f"  {entry.reason}")
            if entry.detail:
                lines.append(f"  ({entry.detail})", style="dim")
            lines.append("\n")
        history.update(lines or Text("No history recorded.", style="dim"))

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        if isinstance(event.item, SourceItem):
            message = event.item.message
            self.dismiss()
            self.host.open_conversation(message.conversation_id, focus_message=message.id)

    # -- actions -----------------------------------------------------------------------

    def _current(self) -> Memory | None:
        if self.detail is None:
            self.notify("Select a memory first.")
            return None
        return self.detail.memory

    def _changed(self, note: str) -> Callable[[object], None]:
        def done(_: object) -> None:
            if note:
                self.notify(note)
            self.app.post_message(MemoriesChanged(note))
            self.reload()

        return done

    def _call(self, function: Callable[..., object], *args: Any, note: str, what: str) -> None:
        self.host.call_core(function, *args, then=self._changed(note), what=what)

    def action_close(self) -> None:
        self.dismiss()

    def action_focus_search(self) -> None:
        self.query_one("#memory-search", Input).focus()

    def action_edit(self) -> None:
        memory = self._current()
        if memory is None:
            return

        def save(text: str | None) -> None:
            if text and text.strip() and text.strip() != memory.text:
                self._call(self.memories.edit_memory, memory.id, text.strip(), note="Memory updated.", what="editing")

        self.app.push_screen(AskTextScreen("Edit this memory (Ctrl+S saves):", memory.text), save)

    def action_toggle_pin(self) -> None:
        memory = self._current()
        if memory is not None:
            if memory.pinned:
                self._call(self.memories.unpin_memory, memory.id, note="Unpinned.", what="pinning")
            else:
                self._call(self.memories.pin_memory, memory.id, note="Pinned: it will not decay.", what="pinning")

    def action_toggle_archive(self) -> None:
        memory = self._current()
        if memory is None:
            return
        if memory.status == Status.ACTIVE:
            self._call(self.memories.archive_memory, memory.id, note="Archived: no longer recalled.", what="archiving")
        else:
            self._call(self.memories.restore_memory, memory.id, note="Restored.", what="restoring")

    def action_forget(self) -> None:
        memory = self._current()
        if memory is None:
            return

        def forget(confirmed: bool | None) -> None:
            if confirmed:
                self.selected_id = None
                self._call(self.memories.forget_memory, memory.id, note="Forgotten for good.", what="forgetting")

        self.app.push_screen(
            ConfirmScreen(
                f"Forget “{memory.text}” for good? It is erased from disk, not archived.", confirm_label="Forget"
            ),
            forget,
        )

    def action_edit_profile(self) -> None:
        def edit(current: str) -> None:
            def save(text: str | None) -> None:
                if text is not None and text != current:
                    self._call(self.memories.save_profile, text, note="Profile saved.", what="saving the profile")

            self.app.push_screen(
                AskTextScreen("Your profile: what is always in context, one per line (Ctrl+S saves):", current), save
            )

        self.host.call_core(self.memories.profile_text, then=edit, what="loading the profile")

    def action_edit_rules(self) -> None:
        def edit(current: str) -> None:
            def save(text: str | None) -> None:
                if text is not None and text != current:
                    self._call(self.memories.save_rules, text, note="Rules saved.", what="saving the rules")

            self.app.push_screen(
                AskTextScreen("Rules the assistant follows, one per line (Ctrl+S saves):", current), save
            )

        self.host.call_core(self.memories.rules_text, then=edit, what="loading the rules")

    def action_export(self) -> None:
        default = str(Path.home() / f"assistant-export-{date.today().isoformat()}.jsonl")

        def export(path: str | None) -> None:
            if not path:
                return

            def done(counts: dict[str, int]) -> None:
                summary = ", ".join(f"{count} {name}" for name, count in counts.items())
                self.notify(f"Exported to {path}: {summary}", timeout=10)

            self.host.call_core(self.memories.export_memories, Path(path), then=done, what="exporting")

        self.app.push_screen(
            AskLineScreen("Export everything (memories, profile, messages, history) to:", default), export
        )

    def action_forget_everything(self) -> None:
        def forget(answer: str | None) -> None:
            if answer == FORGET_ALL_WORD:
                self.selected_id = None
                self._call(
                    self.memories.forget_everything, note="Everything was forgotten.", what="forgetting everything"
                )
            elif answer is not None:
                self.notify("Nothing was deleted.")

        self.app.push_screen(
            AskLineScreen(
                f"This erases every memory, message, conversation and the profile of “{self.memories.user}”, "
                f"for good. Type {FORGET_ALL_WORD} to confirm:"
            ),
            forget,
        )
