"""LanceDB tables for memories, messages, conversations, profiles and the audit log.

One database in the data dir holds every user's space; each row carries an `owner` column.
Writes retry on commit conflicts, so the TUI and a CLI process can write at the same time.
Forgetting compacts the touched tables, rebuilds the full-text index and removes every old
version, so forgotten text survives in no file under the data dir.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa

from assistant.errors import StoreError
from assistant.locations import ensure_private_dir
from assistant.memory.types import (
    AuditEntry,
    Conversation,
    Kind,
    Memory,
    Message,
    Origin,
    Role,
    Status,
    aware,
)

if TYPE_CHECKING:
    import numpy as np
    from lancedb.db import DBConnection
    from lancedb.table import Table

SCHEMA_VERSION = 1
MEMORIES, MESSAGES, CONVERSATIONS, PROFILES, AUDIT, META = (
    "memories",
    "messages",
    "conversations",
    "profiles",
    "audit",
    "meta",
)
FTS_COLUMN = "search_text"
# LanceDB writes each file under a temporary name first; a writer killed part-way leaves it
# behind, holding a copy of the rows it was writing (text that may later be forgotten).
TEMP_PREFIX = ".tmp"
# A temporary file nobody has open and untouched this long belongs to a dead writer. Where
# open files cannot be listed (no /proc), only the age counts, with a longer wait.
TEMP_IDLE_SECONDS = 2.0
TEMP_IDLE_SECONDS_UNKNOWN_OWNER = 120.0
# Above this many rows, vector search uses an ANN index instead of scanning every vector.
VECTOR_INDEX_MIN_ROWS = 50_000
# tidy() compacts a table once it has this many fragments (a conversation turn adds several).
TIDY_FRAGMENTS = 24
# Held while a process checks and creates the tables. A table is listed as soon as its
# folder exists but opens only once its first version is written; without the lock a second
# process starting on a fresh data dir saw "meta" listed and failed to open it.
SCHEMA_LOCK_FILE = "schema.lock"

T = TypeVar("T")
TIMESTAMP = pa.timestamp("us", tz="UTC")


def quote(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_time(value: datetime) -> str:
    moment = value.astimezone(UTC).replace(tzinfo=None)
    return f"CAST({quote(moment.isoformat(sep=' ', timespec='microseconds'))} AS TIMESTAMP)"


def in_list(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(quote(v) for v in values)})"


def memory_schema(dimension: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("owner", pa.string(), nullable=False),
            pa.field("kind", pa.string(), nullable=False),
            pa.field("text", pa.string(), nullable=False),
            pa.field(FTS_COLUMN, pa.string()),
            pa.field("key", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dimension)),
            pa.field("created_at", TIMESTAMP),
            pa.field("updated_at", TIMESTAMP),
            pa.field("valid_from", TIMESTAMP),
            pa.field("valid_to", TIMESTAMP),
            pa.field("last_accessed", TIMESTAMP),
            pa.field("access_count", pa.int64()),
            pa.field("importance", pa.float64()),
            pa.field("strength", pa.float64()),
            pa.field("status", pa.string()),
            pa.field("pinned", pa.bool_()),
            pa.field("origin", pa.string()),
            pa.field("sources", pa.list_(pa.string())),
            pa.field("superseded_by", pa.string()),
            pa.field("speaker", pa.string()),
            pa.field("conversation_id", pa.string()),
            pa.field("context", pa.string()),
        ]
    )


MESSAGE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("owner", pa.string(), nullable=False),
        pa.field("conversation_id", pa.string()),
        pa.field("role", pa.string()),
        pa.field("speaker", pa.string()),
        pa.field("content", pa.string()),
        pa.field("created_at", TIMESTAMP),
    ]
)
CONVERSATION_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("owner", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("created_at", TIMESTAMP),
        pa.field("updated_at", TIMESTAMP),
    ]
)
PROFILE_SCHEMA = pa.schema(
    [
        pa.field("owner", pa.string(), nullable=False),
        pa.field("document", pa.string()),  # JSON object
        pa.field("updated_at", TIMESTAMP),
    ]
)
AUDIT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("owner", pa.string(), nullable=False),
        pa.field("memory_id", pa.string()),
        pa.field("action", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("at", TIMESTAMP),
        pa.field("detail", pa.string()),
    ]
)
META_SCHEMA = pa.schema([pa.field("key", pa.string(), nullable=False), pa.field("value", pa.string())])


def _is_vector_index(index_type: str) -> bool:
    name = index_type.upper().replace("_", "")
    return name.startswith("IVF") or "HNSW" in name


def _is_conflict(error: BaseException) -> bool:
    text = str(error).lower()
    return any(marker in text for marker in ("conflict", "retryable", "concurrent", "was not found", "not found:"))


def with_retries(action: Callable[[], T], *, budget_seconds: float = 120.0) -> T:
    """Run a write, retrying with jittered backoff when another process committed first."""
    delay = 0.01
    deadline = time.monotonic() + budget_seconds
    while True:
        try:
            return action()
        except (OSError, RuntimeError, ValueError) as error:
            if time.monotonic() > deadline or not _is_conflict(error):
                raise
            if "not found" in str(error).lower():
                # A file removed by another process's cleanup is gone for good on the next try;
                # one that stays missing is a damaged store, not a race worth two minutes.
                deadline = min(deadline, time.monotonic() + 5.0)
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an OS lock on `path` (created owner-only) against every other process; released on exit or death."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise StoreError(f"cannot open {path}: {error.strerror or error}") from None
    try:
        if os.name == "nt":
            import msvcrt

            while True:
                try:
                    msvcrt.locking(descriptor, msvcrt.LK_LOCK, 1)  # retries for 10 s, then raises
                    break
                except OSError:
                    continue
        else:
            import fcntl

            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


# Migrations: an ordered list; migration i brings the database from version i to i + 1.
def _migrate_create_tables(store: MemoryStore) -> None:
    store._create_if_missing(MEMORIES, memory_schema(store.dimension))
    store._create_if_missing(MESSAGES, MESSAGE_SCHEMA)
    store._create_if_missing(CONVERSATIONS, CONVERSATION_SCHEMA)
    store._create_if_missing(PROFILES, PROFILE_SCHEMA)
    store._create_if_missing(AUDIT, AUDIT_SCHEMA)


MIGRATIONS: list[Callable[[MemoryStore], None]] = [_migrate_create_tables]


def _ts(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return aware(value)


def memory_to_row(memory: Memory, vector: Sequence[float] | np.ndarray, search_text: str) -> dict[str, Any]:
    return {
        "id": memory.id,
        "owner": memory.user,
        "kind": str(memory.kind),
        "text": memory.text,
        FTS_COLUMN: search_text,
        "key": memory.key,
        "vector": vector,
        "created_at": _ts(memory.created_at),
        "updated_at": _ts(memory.updated_at),
        "valid_from": _ts(memory.valid_from),
        "valid_to": _ts(memory.valid_to),
        "last_accessed": _ts(memory.last_accessed),
        "access_count": int(memory.access_count),
        "importance": float(memory.importance),
        "strength": float(memory.strength),
        "status": str(memory.status),
        "pinned": bool(memory.pinned),
        "origin": str(memory.origin),
        "sources": list(memory.sources),
        "superseded_by": memory.superseded_by,
        "speaker": memory.speaker,
        "conversation_id": memory.conversation_id,
        "context": memory.context,
    }


def row_to_memory(row: dict[str, Any]) -> Memory:
    return Memory(
        user=row["owner"],
        kind=Kind(row["kind"]),
        text=row["text"],
        key=row.get("key"),
        id=row["id"],
        created_at=row["created_at"],
        updated_at=row.get("updated_at"),
        valid_from=row.get("valid_from"),
        valid_to=row.get("valid_to"),
        last_accessed=row.get("last_accessed"),
        access_count=int(row.get("access_count") or 0),
        importance=float(row.get("importance") if row.get("importance") is not None else 0.5),
        strength=float(row.get("strength") if row.get("strength") is not None else 1.0),
        status=Status(row.get("status") or Status.ACTIVE),
        pinned=bool(row.get("pinned")),
        origin=Origin(row.get("origin") or Origin.EXTRACTED),
        sources=list(row.get("sources") or []),
        superseded_by=row.get("superseded_by"),
        speaker=row.get("speaker"),
        conversation_id=row.get("conversation_id"),
        context=row.get("context"),
    )


def message_to_row(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "owner": message.user,
        "conversation_id": message.conversation_id,
        "role": str(message.role),
        "speaker": message.speaker,
        "content": message.content,
        "created_at": _ts(message.created_at),
    }


def row_to_message(row: dict[str, Any]) -> Message:
    return Message(
        user=row["owner"],
        role=Role(row["role"]),
        content=row["content"],
        conversation_id=row["conversation_id"],
        id=row["id"],
        speaker=row.get("speaker"),
        created_at=row["created_at"],
    )


def audit_to_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "owner": entry.user,
        "memory_id": entry.memory_id,
        "action": entry.action,
        "reason": entry.reason,
        "at": _ts(entry.at),
        "detail": entry.detail,
    }


def row_to_audit(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        user=row["owner"],
        memory_id=row["memory_id"],
        action=row["action"],
        reason=row["reason"],
        id=row["id"],
        at=row["at"],
        detail=row.get("detail") or "",
    )


class MemoryStore:
    """The LanceDB database: schema, migrations, reads, retrying writes and true deletion."""

    def __init__(self, path: Path, dimension: int) -> None:
        import lancedb

        self.path = ensure_private_dir(Path(path))
        self.dimension = dimension
        try:
            # Another process (the TUI, a CLI command) may write at any time: always read the latest version.
            self.db: DBConnection = lancedb.connect(str(self.path), read_consistency_interval=timedelta(0))
        except (OSError, RuntimeError, ValueError) as error:
            raise StoreError(f"cannot open the memory store at {self.path}: {error}") from None
        self._tables: dict[str, Table] = {}
        self._vector_index_seen: tuple[float, bool] = (-1e9, False)
        with _exclusive_lock(self.path / SCHEMA_LOCK_FILE):
            self._migrate()
        schema = self.table(MEMORIES).schema
        if "vector" not in schema.names:
            raise StoreError(
                "the memory store is damaged (the memories table has no vectors); run: assistant doctor --repair"
            )
        stored = schema.field("vector").type.list_size
        if stored != dimension:
            raise StoreError(
                f"the memory store holds {stored}-dimensional vectors but the embedder makes {dimension}; "
                "export with the old embedder, then import into a fresh data dir"
            )

    # --- schema -------------------------------------------------------------------------
    def _table_names(self) -> set[str]:
        listing = self.db.list_tables()
        names = getattr(listing, "tables", listing)
        return set(names)

    def _create_if_missing(self, name: str, schema: pa.Schema) -> None:
        try:
            self.db.create_table(name, schema=schema, exist_ok=True)
        except (OSError, RuntimeError, ValueError) as error:
            if name not in self._table_names():  # another process may have just created it
                raise StoreError(f"cannot create table {name}: {error}") from None

    def schema_version(self) -> int:
        if META not in self._table_names():
            return 0
        rows = self.table(META).search().where("key = 'schema_version'").to_list()
        return max((int(row["value"]) for row in rows), default=0)

    def _migrate(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the memory store has schema version {version}, newer than this app ({SCHEMA_VERSION}); upgrade"
            )
        if version == SCHEMA_VERSION:
            return
        self._create_if_missing(META, META_SCHEMA)
        for step in range(version, SCHEMA_VERSION):
            MIGRATIONS[step](self)
            meta = self.table(META)
            with_retries(
                lambda v=step + 1, meta=meta: (
                    meta.merge_insert("key")
                    .when_matched_update_all()
                    .when_not_matched_insert_all()
                    .execute([{"key": "schema_version", "value": str(v)}])
                )
            )

    def table(self, name: str) -> Table:
        table = self._tables.get(name)
        if table is None:
            try:
                table = self.db.open_table(name)
            except (OSError, RuntimeError, ValueError, FileNotFoundError) as error:
                raise StoreError(f"cannot open table {name} in {self.path}: {error}") from None
            self._tables[name] = table
        return table

    # --- generic reads and writes ---------------------------------------------------------
    def rows(
        self,
        name: str,
        where: str,
        *,
        columns: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        table = self.table(name)

        def read() -> list[dict[str, Any]]:
            table.checkout_latest()
            query = table.search().where(where)
            if columns is not None:
                query = query.select(list(columns))
            return query.limit(limit).to_arrow().to_pylist()  # a plain search with no limit returns every row

        return with_retries(read)

    def count(self, name: str, where: str | None = None) -> int:
        table = self.table(name)
        table.checkout_latest()
        return table.count_rows(where)

    def upsert(self, name: str, rows: list[dict[str, Any]] | pa.Table, *, on: Sequence[str] = ("owner", "id")) -> None:
        """Insert rows, replacing rows with the same key."""
        if len(rows) == 0:
            return
        table = self.table(name)
        with_retries(
            lambda: table.merge_insert(list(on)).when_matched_update_all().when_not_matched_insert_all().execute(rows)
        )

    def insert_new(
        self, name: str, rows: list[dict[str, Any]] | pa.Table, *, on: Sequence[str] = ("owner", "id")
    ) -> int:
        """Insert rows whose key is not stored yet; rows already there are left alone. Returns how many went in."""
        if len(rows) == 0:
            return 0
        table = self.table(name)
        result = with_retries(lambda: table.merge_insert(list(on)).when_not_matched_insert_all().execute(rows))
        return int(getattr(result, "num_inserted_rows", len(rows)))

    def append(self, name: str, rows: list[dict[str, Any]] | pa.Table) -> None:
        if len(rows) == 0:
            return
        table = self.table(name)
        with_retries(lambda: table.add(rows))

    def update(
        self, name: str, where: str, *, values: dict[str, Any] | None = None, values_sql: dict[str, str] | None = None
    ) -> None:
        table = self.table(name)
        if values is not None:
            with_retries(lambda: table.update(where=where, values=values))
        else:
            with_retries(lambda: table.update(where=where, values_sql=values_sql))

    def delete(self, name: str, where: str) -> None:
        table = self.table(name)
        with_retries(lambda: table.delete(where))

    def arrow(self, name: str, where: str) -> pa.Table:
        table = self.table(name)
        table.checkout_latest()
        return table.search().where(where).limit(None).to_arrow()

    # --- records ---------------------------------------------------------------------------
    def memories(self, where: str, *, limit: int | None = None) -> list[Memory]:
        columns = [name for name in memory_schema(self.dimension).names if name != "vector"]
        return [row_to_memory(row) for row in self.rows(MEMORIES, where, columns=columns, limit=limit)]

    def messages(self, where: str, *, limit: int | None = None) -> list[Message]:
        return [row_to_message(row) for row in self.rows(MESSAGES, where, limit=limit)]

    def audit_entries(self, where: str) -> list[AuditEntry]:
        entries = [row_to_audit(row) for row in self.rows(AUDIT, where)]
        return sorted(entries, key=lambda entry: entry.at)

    def conversations(self, where: str) -> list[Conversation]:
        return [
            Conversation(
                user=row["owner"],
                id=row["id"],
                title=row["title"],
                created_at=row["created_at"],
                updated_at=row["updated_at"],
            )
            for row in self.rows(CONVERSATIONS, where)
        ]

    def write_audit(self, entries: Sequence[AuditEntry]) -> None:
        self.append(AUDIT, [audit_to_row(entry) for entry in entries])

    # --- indexes ---------------------------------------------------------------------------
    def _index_names(self, name: str) -> dict[str, str]:
        return {index.name: index.index_type for index in self.table(name).list_indices()}

    def ensure_indexes(self) -> None:
        """Create the full-text and scalar indexes (and a vector index on big tables); fold new rows in."""
        from lancedb.index import FTS, BTree

        table = self.table(MEMORIES)
        table.checkout_latest()
        if not any(kind == "FTS" for kind in self._index_names(MEMORIES).values()):
            self._create_index_once(
                lambda: table.create_index(FTS_COLUMN, config=FTS(), replace=False),
                lambda: any(kind == "FTS" for kind in self._index_names(MEMORIES).values()),
            )
        if "owner_idx" not in self._index_names(MEMORIES):
            self._create_index_once(
                lambda: table.create_index("owner", config=BTree(), replace=False, name="owner_idx"),
                lambda: "owner_idx" in self._index_names(MEMORIES),
            )
        existing = self._index_names(MEMORIES)
        rows = table.count_rows()
        if rows >= VECTOR_INDEX_MIN_ROWS and not any(_is_vector_index(kind) for kind in existing.values()):
            self.build_vector_index(rows)
        for name in (MEMORIES, MESSAGES, AUDIT):
            target = self.table(name)
            with_retries(lambda target=target: target.optimize())

    def tidy(self, names: Sequence[str] = (MEMORIES, MESSAGES)) -> list[str]:
        """Compact the tables many small writes have fragmented, folding their new rows into the indexes.

        Every stored message, reinforcement and audit entry adds a fragment, and each query
        opens them all: after one 50-turn chat, recall took twice as long as on the compacted
        table. Cheap when there is nothing to do (one statistics read per table).
        """
        tidied = []
        for name in names:
            table = self.table(name)
            table.checkout_latest()
            if table.stats()["fragment_stats"]["num_fragments"] >= TIDY_FRAGMENTS:
                with_retries(lambda table=table: table.optimize())
                tidied.append(name)
        return tidied

    @staticmethod
    def _create_index_once(create: Callable[[], object], exists: Callable[[], bool]) -> None:
        """Create an index unless another process beats us to it."""

        def attempt() -> None:
            if exists():
                return
            try:
                create()
            except (OSError, RuntimeError, ValueError) as error:
                if not exists() and not _is_conflict(error):
                    raise
                if not exists():
                    raise

        with_retries(attempt)

    def build_vector_index(self, rows: int) -> None:
        from lancedb.index import HnswSq

        table = self.table(MEMORIES)
        partitions = max(1, min(512, rows // 4096))
        with_retries(
            lambda: table.create_index(
                "vector", config=HnswSq(distance_type="cosine", num_partitions=partitions), replace=True
            )
        )

    def has_vector_index(self) -> bool:
        return any(_is_vector_index(kind) for kind in self._index_names(MEMORIES).values())

    def has_vector_index_cached(self, max_age: float = 30.0) -> bool:
        checked_at, present = self._vector_index_seen
        if time.monotonic() - checked_at > max_age:
            present = self.has_vector_index()
            self._vector_index_seen = (time.monotonic(), present)
        return present

    # --- true deletion -----------------------------------------------------------------------
    def purge(self, names: Iterable[str]) -> None:
        """Rewrite `names` without deleted rows, rebuild the text index and drop old versions.

        Old versions and deletion-marked fragments still hold deleted text on disk; this removes
        them, and the temporary files writers killed part-way left behind. A reader still on an
        old version in another process re-opens the latest one.
        """
        from lancedb.index import FTS

        for name in names:
            table = self.table(name)
            table.checkout_latest()
            with_retries(lambda table=table: self._compact(table))
            table.checkout_latest()
            if name == MEMORIES and any(kind == "FTS" for kind in self._index_names(name).values()):
                with_retries(lambda table=table: table.create_index(FTS_COLUMN, config=FTS(), replace=True))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the warning is about other readers; see the docstring
                with_retries(
                    lambda table=table: table.optimize(cleanup_older_than=timedelta(0), delete_unverified=True)
                )
        remove_orphan_temporaries(self.path)

    @staticmethod
    def _compact(table: Table) -> None:
        try:
            dataset = table.to_lance()
        except ImportError as error:  # pylance is a dependency; without it deleted rows could linger
            raise StoreError(f"cannot compact the memory store: {error}") from None
        dataset.optimize.compact_files(materialize_deletions=True, materialize_deletions_threshold=0.0)
        table.checkout_latest()


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


def now_utc() -> datetime:
    return datetime.now(UTC)
