"""Files a killed writer left behind: LanceDB's half-written temporaries, which hold row text."""

from __future__ import annotations

import os
import time
from pathlib import Path

# LanceDB writes each file under a temporary name first; a writer killed part-way leaves it
# behind, holding a copy of the rows it was writing (text that may later be forgotten).
TEMP_PREFIX = ".tmp"
# A temporary file nobody has open and untouched this long belongs to a dead writer. Where
# open files cannot be listed (no /proc), only the age counts, with a longer wait.
TEMP_IDLE_SECONDS = 2.0
TEMP_IDLE_SECONDS_UNKNOWN_OWNER = 120.0


def _open_paths() -> set[str] | None:
    """Every file some process of this user has open (Linux /proc); None where that is unknown."""
    if not os.path.isdir("/proc/self/fd"):
        return None
    found: set[str] = set()
    for process in os.scandir("/proc"):
        if not process.name.isdigit():
            continue
        try:
            descriptors = list(os.scandir(f"/proc/{process.name}/fd"))
        except OSError:  # gone, or another user's (who cannot write in an owner-only store anyway)
            continue
        for descriptor in descriptors:
            try:
                found.add(os.readlink(descriptor.path))
            except OSError:
                continue
    return found


def remove_orphan_temporaries(folder: Path) -> list[Path]:
    """Delete the half-written files of killed writers under `folder`; a live writer's stay."""
    candidates = [
        Path(root) / name for root, _dirs, names in os.walk(folder) for name in names if name.startswith(TEMP_PREFIX)
    ]
    if not candidates:
        return []
    open_now = _open_paths()
    idle = TEMP_IDLE_SECONDS if open_now is not None else TEMP_IDLE_SECONDS_UNKNOWN_OWNER
    removed = []
    for path in candidates:
        try:
            if open_now is not None and os.path.realpath(path) in open_now:
                continue
            if time.time() - path.stat().st_mtime < idle:
                continue
            path.unlink()
        except OSError:  # renamed into place or removed meanwhile
            continue
        removed.append(path)
    return removed
