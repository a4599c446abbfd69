"""`assistant backup FILE` and `assistant restore FILE`: the whole memory store in one file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from assistant import locations
from assistant.cli.common import add_json_option, print_json


def register(subcommands: Any) -> None:
    backup: argparse.ArgumentParser = subcommands.add_parser(
        "backup", help="write every memory space (memories, messages, profiles, audit log) to one file"
    )
    backup.add_argument("file", type=Path)
    add_json_option(backup)
    backup.set_defaults(handler=run_backup)

    restore: argparse.ArgumentParser = subcommands.add_parser(
        "restore", help="replace the memory store with a backup file (checked before anything changes)"
    )
    restore.add_argument("file", type=Path)
    restore.add_argument("--force", action="store_true", help="replace a store that already holds memories")
    add_json_option(restore)
    restore.set_defaults(handler=run_restore)


def _describe(tables: dict[str, int]) -> str:
    shown = {name: rows for name, rows in tables.items() if name != "meta"}
    return ", ".join(f"{rows} {name}" for name, rows in sorted(shown.items()))


def run_backup(args: argparse.Namespace) -> int:
    from assistant.memory.backup import backup

    info = backup(locations.memory_dir(), args.file)
    if args.json:
        print_json({"file": str(info.path), "created_at": info.created_at, "tables": info.tables})
    else:
        print(f"backed up {_describe(info.tables)} to {info.path}")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from assistant.cli.remote import stop_running
    from assistant.memory.backup import restore

    stop_running()  # it holds the store open: it must not keep serving the replaced one
    info = restore(args.file, locations.memory_dir(), force=args.force)
    if args.json:
        print_json({"file": str(info.path), "created_at": info.created_at, "tables": info.tables})
    else:
        print(f"restored {_describe(info.tables)} from {info.path} (taken {info.created_at})")
    return 0
