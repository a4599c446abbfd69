"""A whole memory store in one file, and back.

A backup is a tar file: `backup.json` (format, table list, row counts, SHA-256 of each
member) and one Arrow IPC file per table, every table read at the version that was latest
when the backup started. Old versions are not copied, so a forgotten memory never lives on
in a backup taken after the forget. Restore checks the whole file before touching the
store, builds the new store beside the old one and swaps the folders, so a failed restore
leaves the old store as it was.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from assistant.errors import StoreError
from assistant.locations import ensure_private_dir
from assistant.memory.repair import describe_error
from assistant.memory.store.lancedb_import import import_lancedb

BACKUP_FORMAT = "assistant-backup"
BACKUP_VERSION = 1
MANIFEST = "backup.json"


@dataclass
class BackupInfo:
    path: Path
    created_at: str
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ipc_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _read_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_file(pa.BufferReader(data)).read_all()


def _snapshot(memory_dir: Path) -> dict[str, pa.Table]:
    lancedb = import_lancedb()

    try:
        db = lancedb.connect(str(memory_dir))
        names = list(getattr(db.list_tables(), "tables", None) or db.table_names())
        # Pin every table's latest version first, then read: each table is one committed state.
        tables = {name: db.open_table(name) for name in names}
        versions = {name: table.version for name, table in tables.items()}
        snapshot: dict[str, pa.Table] = {}
        for name, table in tables.items():
            table.checkout(versions[name])
            snapshot[name] = table.to_arrow()
    except (OSError, RuntimeError, ValueError) as error:
        raise StoreError(
            f"cannot read the memory store for a backup ({describe_error(error)}); run: assistant doctor --repair"
        ) from None
    return snapshot


def backup(memory_dir: Path, destination: Path) -> BackupInfo:
    """Write the whole store (every user's space) to `destination`, atomically and owner-only."""
    if not memory_dir.is_dir() or not any(memory_dir.glob("*.lance")):
        raise StoreError(f"there is no memory store to back up at {memory_dir}")
    snapshot = _snapshot(memory_dir)
    created_at = datetime.now(UTC).isoformat(timespec="seconds")
    members = {f"{name}.arrow": _ipc_bytes(table) for name, table in snapshot.items()}
    manifest = {
        "format": BACKUP_FORMAT,
        "version": BACKUP_VERSION,
        "created_at": created_at,
        "tables": {
            name: {"file": f"{name}.arrow", "rows": table.num_rows, "sha256": _sha256(members[f"{name}.arrow"])}
            for name, table in snapshot.items()
        },
    }
    destination = Path(destination)
    partial = destination.with_name(destination.name + ".partial")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle, tarfile.open(fileobj=handle, mode="w:gz", compresslevel=3) as tar:
            for member, data in [(MANIFEST, json.dumps(manifest, indent=1).encode()), *members.items()]:
                info = tarfile.TarInfo(member)
                info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
                tar.addfile(info, io.BytesIO(data))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, destination)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise StoreError(f"cannot write the backup {destination}: {error.strerror or error}") from None
    return BackupInfo(destination, created_at, {name: table.num_rows for name, table in snapshot.items()})


def read_backup(path: Path) -> tuple[BackupInfo, dict[str, pa.Table]]:
    """Open and check a backup completely; raises StoreError with one line when anything is off."""
    path = Path(path)
    bad = f"{path} is not a usable assistant backup"
    try:
        with tarfile.open(path, mode="r:*") as tar:
            contents: dict[str, bytes] = {}
            for member in tar.getmembers():
                if not member.isfile() or member.size > 2**40:
                    raise StoreError(f"{bad}: unexpected entry {member.name!r}")
                handle = tar.extractfile(member)
                if handle is None:
                    raise StoreError(f"{bad}: cannot read {member.name!r}")
                contents[member.name] = handle.read()
    except FileNotFoundError:
        raise StoreError(f"no such backup file: {path}") from None
    except IsADirectoryError:
        raise StoreError(f"{path} is a folder, not a backup file") from None
    except PermissionError:
        raise StoreError(f"cannot read {path}: permission denied") from None
    except (tarfile.TarError, EOFError, OSError, UnicodeError, zlib.error):
        raise StoreError(f"{bad}: it is not a complete backup archive") from None
    try:
        manifest = json.loads(contents[MANIFEST])
        if manifest.get("format") != BACKUP_FORMAT:
            raise StoreError(f"{bad}: it was not written by `assistant backup`")
        if manifest.get("version") != BACKUP_VERSION:
            raise StoreError(f"{bad}: backup format version {manifest.get('version')!r} is not supported")
        tables: dict[str, pa.Table] = {}
        for name, entry in manifest["tables"].items():
            data = contents[entry["file"]]
            if _sha256(data) != entry["sha256"]:
                raise StoreError(f"{bad}: table {name} is damaged (checksum mismatch)")
            table = _read_ipc(data)
            if table.num_rows != int(entry["rows"]):
                raise StoreError(f"{bad}: table {name} has {table.num_rows} rows, expected {entry['rows']}")
            tables[name] = table
    except KeyError as error:
        raise StoreError(f"{bad}: missing {error}") from None
    except (ValueError, TypeError, AttributeError, pa.ArrowException) as error:
        raise StoreError(f"{bad} ({describe_error(error)})") from None
    if "memories" not in tables:
        raise StoreError(f"{bad}: it holds no memories table")
    info = BackupInfo(path, str(manifest.get("created_at", "")), {n: t.num_rows for n, t in tables.items()})
    return info, tables


def store_rows(memory_dir: Path) -> int | None:
    """Rows in the store, or None when it cannot be read (a damaged store counts as not empty)."""
    lancedb = import_lancedb()

    if not memory_dir.is_dir():
        return 0
    try:
        db = lancedb.connect(str(memory_dir))
        names = list(getattr(db.list_tables(), "tables", None) or db.table_names())
        rows: int = sum(db.open_table(name).count_rows() for name in names if name != "meta")
        return rows
    except (OSError, RuntimeError, ValueError):
        return None


def restore(source: Path, memory_dir: Path, *, force: bool = False) -> BackupInfo:
    """Replace the store at `memory_dir` with the backup's contents."""
    lancedb = import_lancedb()

    from assistant.memory.store import MEMORIES, MemoryStore

    info, tables = read_backup(source)
    existing = store_rows(memory_dir)
    if not force and existing != 0:
        what = "a damaged memory store" if existing is None else f"a memory store with {existing} rows"
        raise StoreError(f"{memory_dir} holds {what}; add --force to replace it with the backup")
    parent = ensure_private_dir(memory_dir.parent)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=parent))
    try:
        db = lancedb.connect(str(staging))
        for name, table in tables.items():
            db.create_table(name, data=table, schema=table.schema)
        dimension = db.open_table(MEMORIES).schema.field("vector").type.list_size
        MemoryStore(staging, dimension).ensure_indexes()
        if memory_dir.exists():
            retired = parent / f".replaced-{os.getpid()}-{int(time.time())}"
            os.replace(memory_dir, retired)
            os.replace(staging, memory_dir)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, memory_dir)
    except (OSError, RuntimeError, ValueError) as error:
        raise StoreError(f"cannot restore into {memory_dir}: {describe_error(error)}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return info
