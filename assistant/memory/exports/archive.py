"""Finding the conversations in a data export, and reading them one at a time.

An export arrives as the zip that was downloaded, the folder it unpacks to, or one
conversations file. ChatGPT writes `conversations.json` or, in newer exports, shards
`conversations-000.json`, `conversations-001.json`, …; Claude writes `conversations.json`.
Which of the two a file is, is decided by its first conversation, not by its name. Zip members
are read as streams, never unpacked to disk or memory.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from assistant.errors import ImportFileError
from assistant.memory.exports import chatgpt, claude
from assistant.memory.exports.model import BadEntry, ImportedConversation
from assistant.memory.exports.stream import ArrayReader, ArraySyntaxError

CONVERSATION_FILES = re.compile(r"^conversations(?:-\d+)?\.json$", re.IGNORECASE)
FORMATS = (chatgpt, claude)
# How many bytes of a lone file are read to tell a chat export from JSON Lines.
SNIFF_BYTES = 1 << 16

Progress = Callable[[int, int], None]  # bytes read, bytes in all


@dataclass
class ExportSource:
    """The conversations files of one export: a zip's members or files on disk."""

    path: Path
    members: list[str] = field(default_factory=list)  # names inside the zip, or paths of files
    zipped: bool = False
    total_bytes: int = 0

    def open(self, member: str, stack: ExitStack) -> IO[bytes]:
        if self.zipped:
            archive = stack.enter_context(zipfile.ZipFile(self.path))
            return stack.enter_context(archive.open(member))
        return stack.enter_context(open(member, "rb"))  # noqa: SIM115 - closed by the stack


def open_export(path: Path) -> ExportSource | None:
    """The export at `path`, or None when it is not a ChatGPT or Claude export (JSON Lines, say)."""
    path = Path(path).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if CONVERSATION_FILES.match(p.name))
        if not files:
            raise ImportFileError(f"{path} holds no conversations.json (is it a ChatGPT or Claude export?)")
        return ExportSource(path, [str(p) for p in files], total_bytes=sum(p.stat().st_size for p in files))
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                infos = [i for i in archive.infolist() if CONVERSATION_FILES.match(Path(i.filename).name)]
        except (zipfile.BadZipFile, OSError) as error:
            raise ImportFileError(f"cannot read the zip {path}: {error}") from None
        if not infos:
            raise ImportFileError(f"{path} holds no conversations.json (is it a ChatGPT or Claude export?)")
        infos.sort(key=lambda info: info.filename)
        return ExportSource(path, [i.filename for i in infos], zipped=True, total_bytes=sum(i.file_size for i in infos))
    try:
        with open(path, "rb") as handle:
            start = handle.read(SNIFF_BYTES).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError as error:
        raise ImportFileError(f"cannot read {path}: {error.strerror or error}") from None
    if not start.startswith(b"["):
        return None  # JSON Lines, or this app's own export: not for these readers
    return ExportSource(path, [str(path)], total_bytes=path.stat().st_size)


def read_export(
    source: ExportSource, bad: list[BadEntry], *, progress: Progress | None = None
) -> Iterator[ImportedConversation]:
    """Every conversation of the export, in file order; unreadable entries go to `bad` and are skipped."""
    done_before = 0
    for member in source.members:
        name = Path(member).name if not source.zipped else member
        with ExitStack() as stack:
            try:
                stream = source.open(member, stack)
            except (OSError, zipfile.BadZipFile, RuntimeError) as error:
                bad.append(BadEntry(name, f"cannot read it ({error})"))
                continue

            def read(count: int, before: int = done_before) -> None:
                if progress is not None:
                    progress(before + count, source.total_bytes)

            reader = ArrayReader(stream, on_read=read)
            yield from _conversations(reader, name, bad)
            done_before += reader.consumed


def _conversations(reader: ArrayReader, name: str, bad: list[BadEntry]) -> Iterator[ImportedConversation]:
    parser: Any = None
    number = 0
    try:
        for number, entry in enumerate(reader, start=1):
            if parser is None:
                parser = next((form for form in FORMATS if form.looks_like(entry)), None)
                if parser is None:
                    bad.append(BadEntry(name, "not a ChatGPT or Claude export (no 'mapping' or 'chat_messages')"))
                    return
            try:
                conversation = parser.parse(entry)
            except (ValueError, TypeError, KeyError, AttributeError) as error:
                bad.append(BadEntry(f"{name}: conversation {number}", str(error)))
                continue
            if conversation.skipped:
                bad.append(BadEntry(f"{name}: conversation {number}", f"{conversation.skipped} unreadable messages"))
            yield conversation
    except ArraySyntaxError as error:
        bad.append(BadEntry(f"{name}: after conversation {number}", f"{error}; the rest of this file is skipped"))
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        bad.append(BadEntry(f"{name}: after conversation {number}", f"cannot read on ({error})"))
