"""`assistant memory maintain`: one pass of compression, decay and index upkeep."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.cli.common import add_json_option, add_user_option, print_json, settings_for


def register(actions: Any) -> None:
    """Registered under `assistant memory` by commands/memory.py."""
    parser: argparse.ArgumentParser = actions.add_parser(
        "maintain", help="compress old conversations, let unused memories decay, tidy the indexes"
    )
    add_user_option(parser)
    add_json_option(parser)
    parser.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")
    parser.add_argument(
        "--no-model", action="store_true", help="summarise extractively, without the chat model (faster)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from assistant.memory import maintenance
    from assistant.memory.engine import MemoryEngine

    settings = settings_for(args)
    runner = None
    if not args.no_model and not args.dry_run:
        from assistant.application.session import open_runner

        runner = open_runner(settings)
    with MemoryEngine.open(settings) as engine:
        report = maintenance.run_pass(engine, runner, settings, engine.now(), dry_run=args.dry_run)
    if args.json:
        print_json(report.as_dict())
    else:
        print(describe(report))
    return 0


def describe(report: Any) -> str:
    verb = "would" if report.dry_run else "did"
    compress, decay, indexes = report.compress, report.decay, report.indexes
    lines = [f"Maintenance ({'dry run' if report.dry_run else 'done'}):"]
    lines.append(
        f"  compression: {len(compress.summaries)} summaries {verb} replace {len(compress.archived)} old messages"
        + (f" ({compress.by_model} by the model, {compress.by_fallback} extractive)" if not report.dry_run else "")
        + (f"; finished {compress.resumed} interrupted groups" if compress.resumed else "")
    )
    lines.append(
        f"  decay: {len(decay.archived)} unused memories {verb} go to the archive; "
        f"{decay.updated} strengths {'would change' if report.dry_run else 'updated'}; {decay.exempt} exempt"
    )
    versions = sum(indexes.versions_before.values())
    if report.dry_run:
        lines.append(f"  indexes: {versions} table versions to clean up; store is {indexes.size_before:,} bytes")
    else:
        lines.append(
            f"  indexes: {versions} -> {sum(indexes.versions_after.values())} table versions; "
            f"store {indexes.size_before:,} -> {indexes.size_after:,} bytes"
        )
    return "\n".join(lines)
