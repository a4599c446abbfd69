"""Where the service's socket, locks and TCP token live: the user's runtime dir, one socket per data dir.

The socket's name carries a hash of the resolved data dir, so two data dirs (two test runs,
a portable install beside the usual one) never share a service. The folder is owner-only
and must belong to this user; the socket itself is made 0600 by the server.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import warnings
from pathlib import Path

import platformdirs

from assistant import locations
from assistant.errors import AssistantError

# sun_path holds 108 bytes on Linux, 104 on macOS: keep well inside both.
MAX_SOCKET_PATH = 100


def data_key() -> str:
    return hashlib.sha256(str(locations.data_dir().resolve()).encode("utf-8")).hexdigest()[:16]


def _runtime_candidates() -> list[Path]:
    with warnings.catch_warnings():  # without XDG_RUNTIME_DIR platformdirs warns and guesses; the checks below decide
        warnings.simplefilter("ignore")
        runtime = Path(platformdirs.user_runtime_dir(locations.APP_NAME, appauthor=False, ensure_exists=False))
    candidates = []
    if runtime.parent.is_dir() and os.access(runtime.parent, os.W_OK | os.X_OK):
        candidates.append(runtime)
    candidates.append(locations.data_dir() / "run")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    candidates.append(Path(tempfile.gettempdir()) / f"assistant-{uid}")
    return candidates


def _private(path: Path) -> Path:
    """Create `path` 0700, or check that an existing one is ours, a real dir and owner-only."""
    if path.is_relative_to(locations.data_dir()):
        locations.ensure_private_dir(path)
    else:
        path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        raise AssistantError(f"the service folder {path} is not a folder of this user: remove it")
    if info.st_mode & 0o077:
        path.chmod(0o700)
    return path


def service_dir() -> Path:
    key = data_key()
    for candidate in _runtime_candidates():
        if len(str(candidate / f"{key}.sock")) <= MAX_SOCKET_PATH:
            return _private(candidate)
    raise AssistantError("no folder for the service's socket has a short enough path")


def socket_path() -> Path:
    return service_dir() / f"{data_key()}.sock"


def lifetime_lock_path() -> Path:
    """Held by the running service for its whole life: a second one sees it and stops."""
    return service_dir() / f"{data_key()}.lock"


def start_lock_path() -> Path:
    """Held by a client while it starts the service: racing commands start one."""
    return service_dir() / f"{data_key()}.start"


def token_path() -> Path:
    """The running service's TCP token (0600), written only while it listens on TCP."""
    return service_dir() / f"{data_key()}.token"


def log_path() -> Path:
    return locations.ensure_private_dir(locations.log_dir()) / "service.log"
