"""Settings: every field of assistant.config.Settings with its docstring, saved to the config file."""

from __future__ import annotations

from typing import Any, cast

from pydantic import TypeAdapter, ValidationError
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Select, Switch

from assistant.config import Settings, field_docs, save_settings
from assistant.errors import AssistantError

# The fields people change most come first.
FIRST_FIELDS = (
    "model",
    "context_size",
    "threads",
    "memory_enabled",
    "token_budget",
    "decay_half_life_days",
    "compression_age_days",
)


def model_choices(current: str) -> list[tuple[str, str]]:
    """Catalog entries (marked when available here), installed models and usable models other tools
    downloaded (used in place), plus the current value: the model manager's listing, as choices."""
    from assistant.application.model_manager import TOOLS, model_listing

    choices: dict[str, str] = {}
    for entry in model_listing(current, need_catalog=False):
        name = entry["name"]
        if entry["source"] in ("bundled", "pulled", "catalog"):
            where = "ready" if entry["available"] else "not downloaded"
            choices[name] = f"{name} — {entry['description']} ({where})"
        elif entry["source"] == "added":
            choices.setdefault(name, f"{name} (added)")
        elif entry["source"] in TOOLS and entry["available"]:
            choices.setdefault(name, f"{name} (found by {entry['source']}, used in place)")
    choices.setdefault(current, current)
    return [(label, name) for name, label in choices.items()]


def ordered_fields() -> list[str]:
    rest = [name for name in Settings.model_fields if name not in FIRST_FIELDS]
    return [*FIRST_FIELDS, *rest]


class SettingsScreen(Screen[list[str] | None]):
    BINDINGS = [Binding("escape", "cancel", "Back"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def compose(self) -> ComposeResult:
        docs = field_docs()
        yield Header(icon="◆")
        with VerticalScroll(id="settings"):
            for name in ordered_fields():
                value = getattr(self.settings, name)
                with Vertical(classes="setting"):
                    yield Label(name.replace("_", " "), classes="setting-name")
                    yield Label(docs.get(name, ""), classes="setting-doc", markup=False)
                    if isinstance(value, bool):
                        yield Switch(value, id=f"field-{name}")
                    elif name == "model":
                        yield Select(model_choices(value), value=value, allow_blank=False, id=f"field-{name}")
                    else:
                        yield Input(str(value), id=f"field-{name}")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")
        yield Footer()

    def read_form(self) -> dict[str, Any]:
        """The values in the form, converted to each field's type; raises ValueError naming the field."""
        values: dict[str, Any] = {}
        for name, info in Settings.model_fields.items():
            widget = self.query_one(f"#field-{name}")
            raw: object = widget.value.strip() if isinstance(widget, Input) else getattr(widget, "value", None)
            try:
                values[name] = TypeAdapter[Any](cast(Any, info.annotation)).validate_python(raw)
            except ValidationError as error:
                raise ValueError(f"{name.replace('_', ' ')}: {error.errors()[0]['msg']}") from None
        try:
            Settings(**values)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"{where.replace('_', ' ')}: {first['msg']}") from None
        return values

    def changes(self) -> dict[str, Any]:
        values = self.read_form()
        return {name: value for name, value in values.items() if value != getattr(self.settings, name)}

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        try:
            changes = self.changes()
        except ValueError as error:
            self.notify(str(error), title="Not saved", severity="error")
            return
        if not changes:
            self.dismiss(None)
            return
        try:
            path = save_settings(changes)
        except AssistantError as error:
            self.notify(str(error), title="Not saved", severity="error")
            return
        self.notify(f"Saved {', '.join(changes)} to {path}")
        self.dismiss(sorted(changes))

    def action_cancel(self) -> None:
        self.dismiss(None)
