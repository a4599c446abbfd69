"""An unexpected exception in a worker is a bug: log it with its traceback, show one line, keep running."""

from __future__ import annotations

import traceback
from typing import Any

from textual.app import App
from textual.widget import Widget

from assistant import locations


def report_bug(node: App[Any] | Widget, error: BaseException) -> None:
    log_bug(error)
    node.notify(f"{type(error).__name__}: {error}", title="Internal error (logged)", severity="error", timeout=15)


def log_bug(error: BaseException) -> None:
    try:
        folder = locations.ensure_private_dir(locations.log_dir())
        with open(folder / "tui-errors.log", "a", encoding="utf-8") as log:
            log.write("".join(traceback.format_exception(error)))
    except OSError:
        pass
