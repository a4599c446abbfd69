"""Where the app keeps its files.

Defaults follow the platform conventions (platformdirs); `ASSISTANT_DATA_DIR` and
`ASSISTANT_CONFIG` override them. Every directory the app creates is owner-only, because
it holds the user's private life.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "assistant"

_PRIVATE_DIR_MODE = 0o700


def data_dir() -> Path:
    override = os.environ.get("ASSISTANT_DATA_DIR")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_file() -> Path:
    override = os.environ.get("ASSISTANT_CONFIG")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def log_dir() -> Path:
    # Logs live beside the data when the data dir is overridden, so a test or a portable
    # install never writes outside the directory it was given.
    override = os.environ.get("ASSISTANT_DATA_DIR")
    if override:
        return Path(override).expanduser() / "logs"
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """What can be computed again (e.g. a model file's control tokens): deleting it loses nothing."""
    override = os.environ.get("ASSISTANT_DATA_DIR")
    if override:
        return Path(override).expanduser() / "cache"
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def models_dir() -> Path:
    """Models added with `models add` or downloaded with `models pull`."""
    return data_dir() / "models"


def memory_dir() -> Path:
    """The LanceDB database with memories, messages, profiles and the audit log."""
    return data_dir() / "memory"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable by the owner only; tighten it if it exists."""
    data = data_dir()
    if path != data and path.is_relative_to(data):
        # mkdir(parents=True) gives missing parents the umask's mode, so the data dir
        # itself would end up world-readable when a subfolder is created first.
        ensure_private_dir(data)
    path.mkdir(parents=True, exist_ok=True, mode=_PRIVATE_DIR_MODE)
    if (path.stat().st_mode & 0o777) != _PRIVATE_DIR_MODE:
        path.chmod(_PRIVATE_DIR_MODE)
    return path
