"""Import and export: JSON Lines messages in, and a whole space out and back in.

    assistant memory import chat.jsonl     {"role": "user", "content": "...", "timestamp": "..."}
    assistant memory export space.jsonl    a header, then one record per row, vectors included

An import is idempotent (by message id, or a stable id made from the line), reports bad lines
by number and imports the rest. Restoring an export into a space that holds it changes nothing.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.errors import ImportFileError
from assistant.memory.embed import embed_array
from assistant.memory.formats import embedding_text_for, iso, parse_time, search_text_for, stable_id
from assistant.memory.message_log import Carried, MessageLog, restored_episode_vectors
from assistant.memory.redacting import redacted_record
from assistant.memory.space import Space
from assistant.memory.store import AUDIT, CONVERSATIONS, MEMORIES, MESSAGES, PROFILES, SCHEMA_VERSION, row_to_memory
from assistant.memory.types import Message, Origin, Role

EXPORT_FORMAT = "assistant-export"
EXPORT_VERSION = 1
IMPORT_CHUNK = 1024
DEFAULT_CONVERSATION = "imported"
# Export record types and their tables, in the order an export writes them (and the sort key of each).
RECORD_TABLES = {
    "profile": (PROFILES, "owner"),
    "conversation": (CONVERSATIONS, "id"),
    "message": (MESSAGES, "id"),
    "memory": (MEMORIES, "id"),
    "audit": (AUDIT, "id"),
}

ProgressCallback = Callable[[int, int], None]
# Marks, until its batch is written, a restored memory row whose text redaction changed.
_REDACTED = "_redacted"


@dataclass
class ImportReport:
    """What an import did: counts, and the bad lines by number with the reason."""

    imported: int = 0
    already_present: int = 0
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    restored: dict[str, int] = field(default_factory=dict)  # for export files: records per type
    redacted: Counter[str] = field(default_factory=Counter)  # secrets taken out, by kind (see redact.notice)
    embedded_again: int = 0  # memories of an export made with another embedder, given this one's vectors

    @property
    def kind(self) -> str:
        return "export" if self.restored else "messages"


class ImportExport:
    """Moves one space's data in and out of files."""

    def __init__(self, space: Space, log: MessageLog) -> None:
        self.space = space
        self.log = log

    def import_file(self, path: Path, *, progress: ProgressCallback | None = None) -> ImportReport:
        """Import JSON Lines messages, or restore an `assistant memory export` file."""
        try:
            # Invalid bytes become lone surrogates, so one bad line is reported and the rest imported.
            handle = open(path, encoding="utf-8", errors="surrogateescape")  # noqa: SIM115 - closed below
        except OSError as error:
            raise ImportFileError(f"cannot read {path}: {error.strerror or error}") from None
        with handle:
            try:
                first = handle.readline()
            except UnicodeDecodeError:
                raise ImportFileError(f"{path} is not UTF-8 text") from None
            header = export_header(first)
            handle.seek(0)
            if header is not None:
                return self.import_export(handle, progress=progress)
            return self.import_jsonl(handle, total_bytes=_size(path), progress=progress)

    def import_jsonl(
        self, lines: Iterable[str], *, total_bytes: int = 0, progress: ProgressCallback | None = None
    ) -> ImportReport:
        report = ImportReport()
        carried: Carried = {}
        batch: list[Message] = []
        done_bytes = 0

        def flush() -> None:
            fresh = self.log.unseen(batch)
            report.already_present += len(batch) - len(fresh)
            if fresh:
                self.log.store_messages(
                    fresh, Origin.IMPORTED, "imported from a file", carried, redacted=report.redacted
                )
                report.imported += len(fresh)
            batch.clear()
            if len(carried) > 4 * IMPORT_CHUNK:
                for key in list(carried)[: len(carried) - IMPORT_CHUNK]:
                    del carried[key]
            if progress:
                progress(done_bytes, total_bytes)

        try:
            for number, line in enumerate(lines, start=1):
                done_bytes += len(line.encode("utf-8", "surrogateescape"))
                if not line.strip():
                    continue
                try:
                    batch.append(self._parse_message(line, number))
                except ValueError as error:
                    report.bad_lines.append((number, str(error)))
                    continue
                if len(batch) >= IMPORT_CHUNK:
                    flush()
        except UnicodeDecodeError as error:
            report.bad_lines.append((-1, f"the rest of the file is not UTF-8 text ({error.reason})"))
        if batch:
            flush()
        self.space.store.ensure_indexes()
        return report

    def _parse_message(self, line: str, number: int) -> Message:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"not valid JSON ({error.msg})") from None
        try:
            line.encode("utf-8")
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("not UTF-8 text (invalid bytes or a lone surrogate escape)") from None
        if not isinstance(record, dict):
            raise ValueError("expected a JSON object")
        role = record.get("role")
        if role not in ("user", "assistant"):
            raise ValueError('\'role\' must be "user" or "assistant"')
        content = record.get("content")
        if not isinstance(content, str) or not content.strip():
            raise ValueError("'content' must be a non-empty string")
        for name in ("id", "session_id", "speaker", "timestamp"):
            value = record.get(name)
            if value is not None and not isinstance(value, str | int):
                raise ValueError(f"{name!r} must be a string")
        raw_time = record.get("timestamp")
        try:
            created_at = parse_time(str(raw_time)) if raw_time is not None else self.space.now()
        except ValueError:
            raise ValueError(f"'timestamp' is not ISO-8601: {raw_time!r}") from None
        session = str(record["session_id"]) if record.get("session_id") is not None else DEFAULT_CONVERSATION
        message_id = record.get("id")
        if message_id is None or str(message_id) == "":
            message_id = stable_id(session, str(number), role, content, str(raw_time or ""))
        speaker = record.get("speaker")
        return Message(
            user=self.space.user,
            role=Role(role),
            content=content,
            conversation_id=session,
            id=str(message_id),
            speaker=str(speaker) if speaker else None,
            created_at=created_at,
        )

    def export(self, path: Path) -> dict[str, int]:
        """Write the whole space as JSON Lines: a header, then one record per row (vectors included)."""
        space = self.space
        counts: dict[str, int] = {}
        path = Path(path)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            header = {
                "format": EXPORT_FORMAT,
                "version": EXPORT_VERSION,
                "schema_version": SCHEMA_VERSION,
                "user": space.user,
                "exported_at": iso(space.now()),
                "dimension": space.store.dimension,
                "embedder": str(getattr(space.embedder, "path", type(space.embedder).__name__)),
            }
            handle.write(json.dumps(header, ensure_ascii=False) + "\n")
            for record_type, record in self._export_records():
                counts[record_type] = counts.get(record_type, 0) + 1
                handle.write(json.dumps({"type": record_type, **record}, ensure_ascii=False) + "\n")
        return counts

    def _export_records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for record_type, (name, order) in RECORD_TABLES.items():
            rows = self.space.store.arrow(name, self.space.owner).to_pylist()
            rows.sort(key=lambda row, order=order: str(row[order]))
            for row in rows:
                row.pop("owner", None)
                row.pop("_rowid", None)
                yield record_type, {key: _json_value(value) for key, value in row.items()}

    def import_export(self, lines: Iterable[str], *, progress: ProgressCallback | None = None) -> ImportReport:
        """Restore an export file into this space (as this user); re-running it changes nothing."""
        store = self.space.store
        report = ImportReport()
        iterator = iter(lines)
        header = export_header(next(iterator, ""))
        if header is None:
            raise ImportFileError("not an assistant export file")
        if header.get("version") != EXPORT_VERSION:
            raise ImportFileError(f"unsupported export version {header.get('version')!r}")
        # Made with another embedder (its vectors have another length): its vectors mean nothing
        # here, so every memory is embedded again, all at once at the end, as the blend of a
        # message with its neighbours needs them all (message_log.restored_episode_vectors).
        try:
            reembed = int(header.get("dimension", store.dimension)) != store.dimension
        except (TypeError, ValueError):
            raise ImportFileError(f"the export's header is damaged (dimension {header.get('dimension')!r})") from None
        held: list[dict[str, Any]] = []
        pending: dict[str, list[dict[str, Any]]] = {kind: [] for kind in RECORD_TABLES}
        schemas = {kind: store.table(name).schema for kind, (name, _order) in RECORD_TABLES.items()}

        def write(kind: str, rows: list[dict[str, Any]]) -> None:
            import pyarrow as pa

            table = pa.Table.from_pylist(rows, schema=schemas[kind])
            store.upsert(RECORD_TABLES[kind][0], table, on=("owner",) if kind == "profile" else ("owner", "id"))
            report.restored[kind] = report.restored.get(kind, 0) + len(rows)

        def flush(kind: str) -> None:
            rows = pending[kind]
            if not rows:
                return
            if kind == "memory" and reembed:
                for row in rows:
                    row["vector"] = None  # another embedder's: held until the end, it would only take memory
                held.extend(rows)
            else:
                if kind == "memory":
                    self._embed_redacted(rows)
                write(kind, rows)
            rows.clear()

        for number, line in enumerate(iterator, start=2):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                kind = record.pop("type")
                if kind not in RECORD_TABLES:
                    raise ValueError(f"unknown record type {kind!r}")
                row = _restore_row(record, schemas[kind], self.space.user)
                cleaned = redacted_record(kind, row, report.redacted)
                if kind == "memory" and cleaned != row:
                    cleaned[_REDACTED] = True
                pending[kind].append(cleaned)
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                report.bad_lines.append((number, f"bad export record ({error})"))
                continue
            if len(pending[kind]) >= IMPORT_CHUNK:
                flush(kind)
                if progress:
                    progress(number, 0)
        for kind in RECORD_TABLES:
            flush(kind)
        if held:
            self._embed_again(held, progress)
            report.embedded_again = len(held)
            for start in range(0, len(held), IMPORT_CHUNK):
                write("memory", held[start : start + IMPORT_CHUNK])
        report.imported = report.restored.get("memory", 0)
        store.ensure_indexes()
        return report

    def _embed_again(self, rows: list[dict[str, Any]], progress: ProgressCallback | None) -> None:
        """This embedder's vectors for restored memory rows (redacted ones from their redacted text).

        Embedded a chunk at a time with `progress` (memories done, of all): a long history takes
        minutes with a large embedder, and the import must not look stuck meanwhile.
        """
        import numpy as np

        for row in rows:
            row.pop(_REDACTED, None)
        memories = [row_to_memory(row) for row in rows]
        texts = [embedding_text_for(memory) for memory in memories]
        chunks = []
        for start in range(0, len(texts), IMPORT_CHUNK):
            chunks.append(embed_array(self.space.embedder, texts[start : start + IMPORT_CHUNK]))
            if progress:
                progress(start + len(chunks[-1]), len(texts))
        vectors = restored_episode_vectors(memories, np.concatenate(chunks))
        for row, memory, vector in zip(rows, memories, vectors, strict=True):
            row["vector"] = [float(value) for value in vector]
            row["search_text"] = search_text_for(memory)

    def _embed_redacted(self, rows: list[dict[str, Any]]) -> None:
        """A restored memory that held a secret gets the vector (and search text) of its redacted text."""
        marked = [row for row in rows if row.pop(_REDACTED, False)]
        if not marked:
            return
        memories = [row_to_memory(row) for row in marked]
        vectors = embed_array(self.space.embedder, [embedding_text_for(memory) for memory in memories])
        for row, memory, vector in zip(marked, memories, vectors, strict=True):
            row["vector"] = [float(value) for value in vector]
            row["search_text"] = search_text_for(memory)


def export_header(line: str) -> dict[str, Any] | None:
    """The header of an export file, or None for any other first line."""
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, TypeError):
        return None
    if isinstance(record, dict) and record.get("format") == EXPORT_FORMAT:
        return record
    return None


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    return value


def _restore_row(record: dict[str, Any], schema: Any, owner: str) -> dict[str, Any]:
    import pyarrow as pa

    row: dict[str, Any] = {"owner": owner}
    for name in schema.names:
        if name == "owner":
            continue
        value = record.get(name)
        if value is not None and pa.types.is_timestamp(schema.field(name).type):
            value = parse_time(value)
        row[name] = value
    return row


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
