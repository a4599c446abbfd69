"""The model manager (F6): the active model, what is ready here, and the catalog to download.

Use switches the chat model without restarting (the app swaps its core when this screen
returns the new name). Download is the app's one networked action, started here by the
user: a progress bar, Cancel, and a stopped download resumes where it stopped.
"""

from __future__ import annotations

import threading

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Label, ProgressBar, Static

from assistant.application.model_manager import ModelRow, download_model, model_rows, use_model
from assistant.config import Settings
from assistant.errors import AssistantError


def _size(row: ModelRow) -> str:
    if row.size_mb is None:
        return ""
    return f"{row.size_mb / 1000:.1f} GB" if row.size_mb >= 1000 else f"{row.size_mb} MB"


class ModelsScreen(Screen[str | None]):
    """Returns the newly chosen model's name, or None when the active model did not change."""

    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("u", "use", "Use"),
        Binding("d", "download", "Download"),
        Binding("x", "cancel_download", "Stop download"),
    ]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.rows: list[ModelRow] = []
        self.chosen: str | None = None
        self.downloading: str | None = None
        self._cancel = threading.Event()

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with Vertical(id="models"):
            yield DataTable(id="model-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="model-detail", markup=False)
            with Horizontal(id="pull-row"):
                yield ProgressBar(id="pull-progress", show_eta=True)
                yield Label("", id="pull-status", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Use", id="use", variant="primary")
                yield Button("Download", id="download")
                yield Button("Stop download", id="cancel-download", disabled=True)
                yield Button("Close", id="close")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Model", "State", "Size", "Licence", "About")
        self.query_one("#pull-row").display = False
        self.refresh_rows()
        table.focus()

    def refresh_rows(self) -> None:
        table = self.query_one(DataTable)
        selected = self.selected.name if self.rows and self.selected else None
        self.rows = model_rows(self.settings.model)
        table.clear()
        for row in self.rows:
            table.add_row(row.name, row.state, _size(row), row.license, row.description, key=row.name)
        names = [row.name for row in self.rows]
        if selected in names:
            table.move_cursor(row=names.index(selected))
        self.show_detail()

    @property
    def selected(self) -> ModelRow | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def show_detail(self) -> None:
        row = self.selected
        detail = self.query_one("#model-detail", Static)
        if row is None:
            detail.update("")
            return
        parts = [f"{row.name} — {row.state}", row.why, f"source: {row.source}" if row.source else ""]
        detail.update("\n".join(part for part in parts if part))
        self.query_one("#use", Button).disabled = not row.can_use
        self.query_one("#download", Button).disabled = not row.can_download or self.downloading is not None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_use()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {
            "use": self.action_use,
            "download": self.action_download,
            "cancel-download": self.action_cancel_download,
            "close": self.action_close,
        }
        if event.button.id in actions:
            actions[event.button.id]()

    # -- actions ---------------------------------------------------------------------------

    def action_use(self) -> None:
        row = self.selected
        if row is None or not row.can_use:
            if row is not None and row.can_download:
                self.notify(f"{row.name} is not downloaded yet: press d to download it.")
            return
        try:
            use_model(row.name)
        except AssistantError as error:
            self.notify(str(error), severity="error")
            return
        self.chosen = row.name
        self.settings = self.settings.model_copy(update={"model": row.name})
        self.notify(f"Now chatting with {row.name}.")
        self.refresh_rows()

    def action_download(self) -> None:
        row = self.selected
        if row is None or not row.can_download or self.downloading is not None:
            return
        self.downloading = row.name
        self._cancel.clear()
        self.query_one("#pull-row").display = True
        self.query_one("#pull-progress", ProgressBar).update(total=None, progress=0)
        self.query_one("#pull-status", Label).update(f"downloading {row.name}…")
        self.query_one("#cancel-download", Button).disabled = False
        self.show_detail()
        self.download(row.name)

    def action_cancel_download(self) -> None:
        if self.downloading is not None:
            self._cancel.set()

    def action_close(self) -> None:
        if self.downloading is not None:
            self._cancel.set()
            self.notify("Download stopped; it resumes where it stopped when you download again.")
        self.dismiss(self.chosen)

    # -- the download, in a thread ---------------------------------------------------------

    @work(thread=True, exclusive=True, group="model-download")
    def download(self, name: str) -> None:
        def progress(done: int, total: int | None) -> None:
            self.app.call_from_thread(self._progress, done, total)

        try:
            result = download_model(name, on_progress=progress, cancel=self._cancel)
        except AssistantError as error:
            self.app.call_from_thread(self._finished, name, str(error))
            return
        self.app.call_from_thread(self._finished, name, None, result.size)

    def _progress(self, done: int, total: int | None) -> None:
        try:
            bar = self.query_one("#pull-progress", ProgressBar)
        except NoMatches:  # the screen was closed; the download is stopping
            return
        bar.update(total=total, progress=done)
        shown = f"{done / 1e6:,.0f} MB" + (f" of {total / 1e6:,.0f} MB" if total else "")
        self.query_one("#pull-status", Label).update(f"downloading {self.downloading}: {shown}")

    def _finished(self, name: str, error: str | None, size: int = 0) -> None:
        self.downloading = None
        if not self.is_attached:
            return
        self.query_one("#cancel-download", Button).disabled = True
        status = self.query_one("#pull-status", Label)
        if error is None:
            status.update(f"{name} is ready ({size / 1e6:,.0f} MB): press u to use it")
            self.query_one("#pull-row").display = True
        else:
            status.update(error)
            self.notify(error, severity="warning" if self._cancel.is_set() else "error")
        self.refresh_rows()
