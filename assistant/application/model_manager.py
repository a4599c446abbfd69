"""The models a user can chat with, as the model manager shows them, and what it can do with them.

One list for every front end: the active model first, then what is ready here (bundled,
added or downloaded), then the catalog's recommendations still to download. Choosing a
model saves the setting (the front end swaps its core); downloading is the one networked
action, started by the user, with progress, cancel and resume.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from assistant.config import Settings, save_settings
from assistant.errors import AssistantError
from assistant.llm.catalog import available_path, installed_models, load_catalog
from assistant.llm.discovery import discover
from assistant.llm.pull import PullProgress, PullResult, pull_model

MIB = 1 << 20  # the catalog gives sizes in MiB; found files are shown the same way
ACTIVE, READY, FOUND, BROKEN, DOWNLOADABLE = "active", "ready", "on disk", "unusable", "to download"


@dataclass(frozen=True)
class ModelRow:
    """One model in the manager: what to call it, where it is, and what can be done with it."""

    name: str
    state: str  # ACTIVE, READY, FOUND (another tool's, used in place), BROKEN or DOWNLOADABLE
    size_mb: int | None
    description: str
    license: str = ""
    why: str = ""
    source: str = ""  # "bundled", "added", "catalog" or a path / address

    @property
    def can_use(self) -> bool:
        return self.state in (READY, FOUND)

    @property
    def can_download(self) -> bool:
        return self.state == DOWNLOADABLE


def model_rows(settings: Settings) -> list[ModelRow]:
    """Every model the manager shows, active first, then ready, then to download."""
    rows: dict[str, ModelRow] = {}
    try:
        catalog = load_catalog()
    except AssistantError:
        catalog = {}
    installed = installed_models()
    for name, entry in catalog.items():
        ready = available_path(entry) is not None
        rows[name] = ModelRow(
            name=name,
            state=READY if ready else DOWNLOADABLE,
            size_mb=entry.size_mb,
            description=entry.description,
            license=entry.license,
            why=entry.why,
            source="bundled" if entry.bundled else ("downloaded" if ready else "catalog"),
        )
    for name, path in installed.items():
        if name not in rows:
            size = path.stat().st_size // MIB if path.exists() else None
            rows[name] = ModelRow(name=name, state=READY, size_mb=size, description="added by you", source=str(path))
    for found in discover():  # other tools' models (Ollama, LM Studio, the HF cache…), used in place
        rows.setdefault(
            found.name,
            ModelRow(
                name=found.name,
                state=FOUND if found.usable else BROKEN,
                size_mb=found.size // MIB,
                description=found.problem or f"{found.architecture or 'unknown'} model from {found.source}",
                source=str(found.path),
            ),
        )
    active = settings.model
    current = rows.get(active)
    if current is not None:
        rows[active] = ModelRow(**{**current.__dict__, "state": ACTIVE})
    else:  # a path or a server address: shown as it is set
        rows[active] = ModelRow(name=active, state=ACTIVE, size_mb=None, description="set in the settings")
    order = {ACTIVE: 0, READY: 1, FOUND: 2, DOWNLOADABLE: 3, BROKEN: 4}
    return sorted(rows.values(), key=lambda row: (order[row.state], row.name))


def use_model(name: str) -> str:
    """Make `name` the active model (the caller swaps its core); returns where it was saved."""
    return str(save_settings({"model": name}))


def download_model(
    name: str, *, on_progress: PullProgress | None = None, cancel: threading.Event | None = None
) -> PullResult:
    """Download a catalog model, resuming what an earlier, stopped download left."""
    return pull_model(name, progress=False, on_progress=on_progress, cancel=cancel)
