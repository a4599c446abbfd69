"""Keep llama.cpp's C-level output off the terminal.

llama.cpp and ggml write to file descriptor 2 directly, even with `verbose=False`, which
would garble the TUI and pollute CLI output. We point fd 2 at the log file once per
process and give Python's `sys.stderr` a private duplicate of the original terminal, so
our own one-line errors still reach the user.
"""

from __future__ import annotations

import io
import os
import sys
import threading
from pathlib import Path

from assistant import locations

_lock = threading.Lock()
_routed_to: Path | None = None


def native_log_path() -> Path:
    return locations.ensure_private_dir(locations.log_dir()) / "llama.log"


def route_native_stderr() -> Path:
    """Send fd 2 to the log file (idempotent); Python's sys.stderr keeps the terminal."""
    global _routed_to
    with _lock:
        if _routed_to is not None:
            return _routed_to
        path = native_log_path()
        try:
            sys.stderr.flush()
            terminal_fd = os.dup(2)
            log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError:
            return path  # no usable fd 2 (e.g. closed): nothing to protect
        sys.stderr = io.TextIOWrapper(
            os.fdopen(terminal_fd, "wb", buffering=0),
            encoding=getattr(sys.stderr, "encoding", None) or "utf-8",
            errors="backslashreplace",
            line_buffering=True,
        )
        os.dup2(log_fd, 2)
        os.close(log_fd)
        _routed_to = path
        return path
