"""`assistant memory export` and `import`: move a whole memory space, or bring in messages."""

from __future__ import annotations

import argparse
import sys

from assistant.cli.common import memories_for, print_json
from assistant.errors import AssistantError, StoreError
from assistant.memory.redact import notice

# How each kind of exported record is counted in the summary line (one, several).
_RECORD_NAMES = {
    "conversation": ("conversation", "conversations"),
    "message": ("message", "messages"),
    "memory": ("memory", "memories"),
    "audit": ("audit entry", "audit entries"),
}


def counted(kind: str, count: int) -> str:
    one, several = _RECORD_NAMES.get(kind, (kind, f"{kind}s"))
    return f"{count} {one if count == 1 else several}"


def export(args: argparse.Namespace) -> int:
    with memories_for(args) as memories:
        try:
            counts = memories.export(args.file)
        except OSError as error:
            raise StoreError(f"cannot write {args.file}: {error.strerror or error}") from None
    if args.json:
        print_json({"file": str(args.file), "records": counts})
    else:
        total = ", ".join(counted(kind, count) for kind, count in counts.items()) or "nothing"
        print(f"exported {total} to {args.file}")
    return 0


class _Progress:
    """A one-line progress meter on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self._last = ""

    def __call__(self, done: int, total: int) -> None:
        self.stage("import", done, total)

    def stage(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage == "learn":
            line = f"learning from your messages… {done}/{total}"
        elif total:
            line = f"importing… {min(100, 100 * done // total):3d}%"
        else:
            line = f"importing… {done} lines"
        if line != self._last:  # a redraw per change, not per callback
            self._last = line
            sys.stderr.write(f"\r\033[K{line}")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def import_file(args: argparse.Namespace) -> int:
    from assistant.memory.exports import open_export

    if args.file is None and args.no_learn:
        raise AssistantError("nothing to do: give a file to import, or leave out --no-learn")
    source = open_export(args.file) if args.file is not None else None
    if source is not None or args.file is None:
        from assistant.cli.history import import_export_file

        return import_export_file(args, source, _Progress())
    progress = _Progress()
    with memories_for(args) as memories:
        try:
            report = memories.import_file(args.file, progress=progress)
        finally:
            progress.finish()
    for number, problem in report.bad_lines:
        where = f"line {number}" if number > 0 else "file"
        print(f"{args.file}:{where}: {problem}", file=sys.stderr)
    bad = len(report.bad_lines)
    if report.redacted:
        print(notice(list(report.redacted)), file=sys.stderr)
    if args.json:
        print_json(
            {
                "imported": report.imported,
                "already_present": report.already_present,
                "bad_lines": bad,
                "restored": report.restored,
                # Only an export can have been made with another embedder.
                **({"embedded_again": report.embedded_again} if report.restored else {}),
            }
        )
    elif report.restored:
        print(
            f"restored {', '.join(counted(kind, n) for kind, n in report.restored.items())} from {args.file}"
            + (f" ({bad} bad lines)" if bad else "")
            + (" (made with another embedder: every memory embedded again)" if report.embedded_again else "")
        )
    else:
        print(
            f"imported {report.imported} messages"
            + (f", {report.already_present} already present" if report.already_present else "")
            + (f", {bad} bad lines" if bad else "")
        )
    if report.imported == 0 and report.already_present == 0 and not report.restored and bad:
        raise AssistantError(f"nothing imported from {args.file}: every line was bad")
    return 0
