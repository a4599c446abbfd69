"""The model catalog and the models installed in the data dir.

A model name resolves, in order, to: a model another tool downloaded ("ollama:qwen3:4b",
see discovery/), an existing file path, a model the user added or
pulled (`<data>/models/<name>.gguf`), or a catalog entry that ships inside a Python
package (the bundled starter). Bundled packages are located with `find_spec` and never
imported: the starter's package imports unrelated code at import time.
"""

from __future__ import annotations

import importlib.util
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from assistant import locations
from assistant.errors import ModelError
from assistant.llm.architectures import append_only_cache

GGUF_SUFFIX = ".gguf"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    description: str
    file: str
    size_mb: int
    license: str
    why: str
    repo: str | None = None
    package: str | None = None
    architecture: str | None = None

    @property
    def bundled(self) -> bool:
        return self.package is not None

    @property
    def append_only_cache(self) -> bool:
        """Hybrid or recurrent: llama.cpp reuses its prompt cache only when a prompt extends the last."""
        return append_only_cache(self.architecture)


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    path: Path


def catalog_path() -> Path:
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_catalog" / "catalog.toml", here.parent / "models" / "catalog.toml"):
        if candidate.exists():
            return candidate
    raise ModelError("the model catalog is missing from this installation; reinstall the app")


@cache
def load_catalog() -> dict[str, CatalogEntry]:
    data = tomllib.loads(catalog_path().read_text(encoding="utf-8"))
    return {name: CatalogEntry(name=name, **fields) for name, fields in data["models"].items()}


def package_file(package: str, file: str) -> Path | None:
    """Path of `file` inside an installed package, without importing the package."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / file
        if candidate.exists():
            return candidate
    return None


def installed_path(name: str) -> Path:
    return locations.models_dir() / f"{name}{GGUF_SUFFIX}"


def installed_models() -> dict[str, Path]:
    """Models the user added or pulled, by name."""
    folder = locations.models_dir()
    if not folder.is_dir():
        return {}
    return {path.stem: path for path in sorted(folder.glob(f"*{GGUF_SUFFIX}"))}


def available_path(entry: CatalogEntry) -> Path | None:
    if entry.package:
        return package_file(entry.package, entry.file)
    path = installed_path(entry.name)
    return path if path.exists() else None


def resolve_model(name_or_path: str) -> ResolvedModel:
    """Find the GGUF file for a model name or path, or say how to get it."""
    from assistant.llm.discovery import is_found_name, resolve_found

    if is_found_name(name_or_path):  # another tool's model, used where it lies
        found = resolve_found(name_or_path)
        return ResolvedModel(name=found.name, path=found.path)
    as_path = Path(name_or_path).expanduser()
    if name_or_path.endswith(GGUF_SUFFIX) or as_path.is_absolute() or "/" in name_or_path:
        if not as_path.exists():
            raise ModelError(f"model file not found: {as_path}")
        return ResolvedModel(name=as_path.stem, path=as_path)
    installed = installed_models()
    if name_or_path in installed:
        return ResolvedModel(name=name_or_path, path=installed[name_or_path])
    entry = load_catalog().get(name_or_path)
    if entry is None:
        raise ModelError(
            f"unknown model {name_or_path!r}; see `assistant models list` or add a file "
            "with `assistant models add PATH`"
        )
    path = available_path(entry)
    if path is None:
        if entry.package:
            raise ModelError(
                f"the bundled model {entry.name!r} is missing: its package "
                f"{entry.package.replace('_', '-')!r} is not installed; reinstall the app"
            )
        raise ModelError(f"model {entry.name!r} is not downloaded yet; run `assistant models pull {entry.name}`")
    return ResolvedModel(name=entry.name, path=path)
