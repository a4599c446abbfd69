"""`assistant memory import` of a ChatGPT or Claude data export: import, then learn (see history_import)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from assistant.cli.common import print_json, settings_for
from assistant.errors import AssistantError
from assistant.memory.redact import notice


def import_export_file(args: argparse.Namespace, source: Any, progress: Any) -> int:
    from assistant.application.history_import import HistoryReport, import_history, learn_imported
    from assistant.application.import_queue import ImportQueue
    from assistant.memory.engine import MemoryEngine

    settings = settings_for(args)
    queue = ImportQueue(settings.user)
    with MemoryEngine.open(settings) as engine:
        report = HistoryReport()
        if source is not None:
            try:
                report = import_history(engine, source, queue, progress=progress.stage)
            finally:
                progress.finish()
        learned = None
        if not args.no_learn:
            try:
                learned = learn_imported(engine, settings, queue, progress=progress.stage)
            finally:
                progress.finish()
    for entry in report.bad[:1]:
        print(f"{args.file}: {entry.where}: {entry.reason}", file=sys.stderr)
    if len(report.bad) > 1:
        print(f"{args.file}: {len(report.bad)} entries could not be read and were skipped", file=sys.stderr)
    if report.redacted:
        print(notice(list(report.redacted)), file=sys.stderr)
    for error in (learned.errors if learned else [])[:1]:
        print(f"could not learn from {error}", file=sys.stderr)
    kind = " and ".join(sorted(report.sources)) or "chat"
    if args.json:
        print_json(
            {
                "format": kind,
                "conversations": report.conversations,
                "imported": report.imported,
                "already_present": report.already_present,
                "bad_entries": len(report.bad),
                "learned_from": learned.messages if learned else 0,
                "memories_saved": learned.saved if learned else 0,
                "superseded": learned.superseded if learned else 0,
            }
        )
    elif source is None:
        print(
            f"learned {learned.saved} memories from {learned.messages} of your imported messages"
            if learned is not None and learned.messages
            else "nothing left to learn from earlier imports"
        )
    else:
        print(
            f"imported {report.imported} messages in {report.conversations} conversations from a {kind} export"
            + (f", {report.already_present} already present" if report.already_present else "")
            + (f", {len(report.bad)} bad entries skipped" if report.bad else "")
        )
        if learned is not None and learned.messages:
            print(
                f"learned {learned.saved} memories from {learned.messages} of your messages"
                + (
                    f" ({learned.superseded} earlier {_plural(learned.superseded, 'value')} superseded)"
                    if learned.superseded
                    else ""
                )
            )
        elif args.no_learn:
            print("learning is queued: it runs on your next `assistant memory import`")
    if report.conversations == 0 and report.bad:
        raise AssistantError(f"nothing imported from {args.file}: no entry could be read")
    return 0


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"
