"""Small helpers shared by the command modules."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from assistant.config import Settings, load_settings


def add_user_option(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS keeps a top-level `assistant --user U cmd` from being overwritten by the default.
    parser.add_argument("--user", default=argparse.SUPPRESS, help="memory space (default: 'default')")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def settings_for(args: argparse.Namespace, **overrides: Any) -> Settings:
    user = getattr(args, "user", None)
    return load_settings(user=user, **overrides)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=str))
    sys.stdout.write("\n")
    sys.stdout.flush()


@contextmanager
def memories_for(args: argparse.Namespace) -> Iterator[Any]:
    """The memory service for this command's user space, closed afterwards."""
    from assistant.application.memory_service import MemoryService
    from assistant.memory.engine import MemoryEngine

    with MemoryEngine.open(settings_for(args)) as engine:
        yield MemoryService(engine)
