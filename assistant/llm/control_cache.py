"""A model file's control tokens, remembered between processes.

Finding them takes one native call per vocabulary entry (two for the few that qualify): tens
of thousands of calls, ~30 ms on an idle core but half a second or more while another thread
of the process imports modules, as a starting service's does (each call gives up the
interpreter lock and waits to get it back). The list depends only on the model file and on
llama.cpp's reading of it, so it is kept in the user's cache dir, keyed by the file's
resolved path, size and modification time and by llama-cpp-python's version: a changed or
replaced file, or another llama.cpp, is read afresh. The cache is a convenience: whatever
goes wrong reading or writing it, the tokens come from the vocabulary, as without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from assistant import locations

FORMAT = 1


def _folder() -> Path:
    return locations.cache_dir() / "control-tokens"


def _key(model_path: Path, engine: str) -> dict[str, Any] | None:
    try:
        resolved = model_path.resolve()
        stat = resolved.stat()
    except OSError:
        return None
    return {
        "format": FORMAT,
        "path": str(resolved),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "engine": engine,
    }


def _entry_path(key: dict[str, Any]) -> Path:
    return _folder() / (hashlib.sha256(key["path"].encode()).hexdigest()[:32] + ".json")


def load(model_path: Path, engine: str) -> list[str] | None:
    """The cached control tokens of `model_path` as llama.cpp `engine` reads it; None when not known."""
    key = _key(model_path, engine)
    if key is None:
        return None
    try:
        entry = json.loads(_entry_path(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    texts = entry.get("texts")
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        return None
    return texts


def save(model_path: Path, engine: str, texts: list[str]) -> None:
    """Remember `texts` for this file as it is now (written whole or not at all; failures ignored)."""
    key = _key(model_path, engine)
    if key is None:
        return
    target = _entry_path(key)
    try:
        locations.ensure_private_dir(target.parent)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".control-", suffix=".json")
    except OSError:
        return
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump({"key": key, "texts": sorted(texts)}, file, ensure_ascii=False)
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
