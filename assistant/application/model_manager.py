"""The models a user can chat with, as the model manager shows them, and what it can do with them.

One list for every front end: the active model first, then what is ready here (bundled,
added or downloaded), then the catalog's recommendations still to download. Choosing a
model saves the setting (the front end swaps its core); downloading is the one networked
action, started by the user, with progress, cancel and resume.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import save_settings
from assistant.errors import AssistantError
from assistant.llm.architectures import append_only_cache
from assistant.llm.catalog import available_path, installed_models, load_catalog
from assistant.llm.discovery import FoundModel, discover
from assistant.llm.pull import PullProgress, PullResult, pull_model

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
    source: str = ""  # where its file is, or "catalog" for one still to download

    @property
    def can_use(self) -> bool:
        return self.state in (READY, FOUND)

    @property
    def can_download(self) -> bool:
        return self.state == DOWNLOADABLE


def model_rows(active: str) -> list[ModelRow]:
    """The listing as the model manager shows it: active first, then ready, on disk, to download."""
    rows = [_row(entry) for entry in model_listing(active, need_catalog=False)]
    order = {ACTIVE: 0, READY: 1, FOUND: 2, DOWNLOADABLE: 3, BROKEN: 4}
    return sorted(rows, key=lambda row: (order[row.state], row.name))


def _row(entry: dict[str, Any]) -> ModelRow:
    found = entry["source"] in TOOLS
    if entry["active"]:
        state = ACTIVE
    elif entry["source"] == "catalog":
        state = DOWNLOADABLE
    elif not entry["available"]:
        state = BROKEN
    else:
        state = FOUND if found else READY
    return ModelRow(
        name=entry["name"],
        state=state,
        size_mb=entry["size_mb"],
        description=entry.get("problem") or entry["description"],
        license=entry["license"] or "",
        why=entry["why"] or "",
        source=entry["path"] or entry["source"],
    )


def use_model(name: str) -> str:
    """Make `name` the active model (the caller swaps its core); returns where it was saved."""
    return str(save_settings({"model": name}))


def download_model(
    name: str, *, on_progress: PullProgress | None = None, cancel: threading.Event | None = None
) -> PullResult:
    """Download a catalog model, resuming what an earlier, stopped download left."""
    return pull_model(name, progress=False, on_progress=on_progress, cancel=cancel)


def megabytes(size_bytes: int) -> int:
    return round(size_bytes / 1_000_000)


def model_listing(active: str, *, need_catalog: bool = True) -> list[dict[str, Any]]:
    """Every catalog entry, installed model and model other tools keep, as plain dicts.

    The one listing: `models list --json` prints it as it is, and the app's model manager and
    settings screen show it. A missing catalog (a damaged install) is an error for the CLI;
    with `need_catalog=False` the app still lists every other model.
    """
    installed = installed_models()
    rows: list[dict[str, Any]] = []
    try:
        catalog = load_catalog()
    except AssistantError:
        if need_catalog:
            raise
        catalog = {}
    for entry in catalog.values():
        path = installed.get(entry.name) or available_path(entry)
        rows.append(
            {
                "name": entry.name,
                "description": entry.description,
                "source": "bundled" if entry.bundled else ("pulled" if path else "catalog"),
                "available": path is not None,
                "active": entry.name == active,
                "path": str(path) if path else None,
                "size_mb": megabytes(path.stat().st_size) if path else entry.size_mb,
                "license": entry.license,
                "why": entry.why,
                "repo": entry.repo,
                "file": entry.file,
                "architecture": entry.architecture,
                "append_only_cache": entry.append_only_cache,
            }
        )
    for name, path in installed.items():
        if name in catalog:
            continue
        exists = path.exists()  # a dangling symlink from `add --link` is listed, not available
        rows.append(
            {
                "name": name,
                "description": f"added from {os.readlink(path)}" if path.is_symlink() else "added",
                "source": "added",
                "available": exists,
                "active": name == active or (str(path) == active),
                "path": str(path),
                "size_mb": megabytes(path.stat().st_size) if exists else None,
                "license": None,
                "why": None,
                "repo": None,
                "file": path.name,
            }
        )
    rows.extend(_found_row(model, active) for model in discover())
    if not any(row["active"] for row in rows):
        rows.append(
            {
                "name": active,
                "description": "active model set by path",
                "source": "path",
                "available": Path(active).expanduser().is_file(),
                "active": True,
                "path": str(Path(active).expanduser()),
                "size_mb": None,
                "license": None,
                "why": None,
                "repo": None,
                "file": Path(active).name,
            }
        )
    return rows


TOOLS = {
    "ollama": "Ollama",
    "lmstudio": "LM Studio",
    "hf": "the Hugging Face cache",
    "gpt4all": "GPT4All",
    "jan": "Jan",
    "llamacpp": "llama.cpp's cache",
}


def _found_row(model: FoundModel, active: str) -> dict[str, Any]:
    """A model another tool downloaded, used in place."""
    return {
        "name": model.name,
        "description": f"found in {TOOLS.get(model.source, model.source)}, used in place",
        "source": model.source,
        "available": model.usable,
        "active": model.name == active,
        "path": str(model.path),
        "size_mb": megabytes(model.size) if model.size else None,
        "license": None,
        "why": None,
        "repo": None,
        "file": model.path.name,
        "architecture": model.architecture,
        "context_length": model.context_length,
        "chat_template": model.chat_template,
        "append_only_cache": append_only_cache(model.architecture),
        "parts": model.parts,
        "problem": model.problem,
    }
