"""First run: no usable chat model. Say exactly what to do, then retry."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Markdown

from assistant import locations

INSTRUCTIONS = """\
# No chat model is ready yet

**What went wrong:** {error}

The assistant runs a GGUF language model on this computer. Pick one of these, then press **Retry**:

1. **Use the bundled starter model** (tiny, works offline). It comes with the app; if it is
   missing, reinstall: `pipx reinstall assistant-remembers`, then `assistant models use smollm2-135m-instruct`.
2. **Download a better model** from the catalog (needs the internet once):
   `assistant models list` shows them, `assistant models pull NAME` downloads one,
   `assistant models use NAME` makes it active.
3. **Use a GGUF file you already have:** `assistant models add /path/to/model.gguf`, then
   `assistant models use NAME` (NAME is printed by `add`).

Run those in another terminal. You can also pick the model in **Settings** (F4).
`assistant doctor` checks everything and says how to fix what is broken.

- Config file: `{config}`
- Models folder: `{models}`
"""


class SetupScreen(Screen[bool]):
    BINDINGS = [
        Binding("r", "retry", "Retry"),
        Binding("f4", "settings", "Settings"),
        Binding("ctrl+q", "app.quit", "Quit"),
    ]

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        with VerticalScroll(id="setup"):
            yield Markdown(
                INSTRUCTIONS.format(error=self.error, config=locations.config_file(), models=locations.models_dir()),
                id="instructions",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Retry", id="retry", variant="primary")
                yield Button("Settings", id="settings")
                yield Button("Quit", id="quit", variant="error")
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "retry":
            self.action_retry()
        elif event.button.id == "settings":
            self.action_settings()
        else:
            self.app.exit(1)

    def action_retry(self) -> None:
        self.dismiss(True)

    def action_settings(self) -> None:
        from assistant.config import load_settings
        from assistant.errors import AssistantError
        from assistant.tui.screens.settings import SettingsScreen

        try:
            settings = load_settings()
        except AssistantError as error:
            self.notify(str(error), severity="error")
            return

        def saved(changed: list[str] | None) -> None:
            if changed:
                self.dismiss(True)

        self.app.push_screen(SettingsScreen(settings), saved)
