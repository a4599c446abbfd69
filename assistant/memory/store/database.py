"""MemoryStore: the LanceDB database every user's space lives in.

One database in the data dir holds every user's space; each row carries an `owner` column.
Writes retry on commit conflicts, so the TUI and a CLI process can write at the same time.
Forgetting compacts the touched tables, rebuilds the full-text index and removes every old
version, so forgotten text survives in no file under the data dir. Reads and writes take a
filter built with `query` (a plain SQL string is accepted too, for tests and tools).
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from assistant.errors import StoreError
from assistant.locations import ensure_private_dir
from assistant.memory.store import vector_index
from assistant.memory.store.file_format import FILE_FORMAT, settle_file_format
from assistant.memory.store.files import remove_orphan_temporaries
from assistant.memory.store.query import Where, eq, literal, sql
from assistant.memory.store.retries import is_conflict, with_retries
from assistant.memory.store.rows import audit_to_row, row_to_audit, row_to_memory, row_to_message
from assistant.memory.store.schema import (
    AUDIT,
    CONVERSATIONS,
    FTS_COLUMN,
    MEMORIES,
    MESSAGES,
    META,
    META_SCHEMA,
    MIGRATIONS,
    SCHEMA_LOCK_FILE,
    SCHEMA_VERSION,
    exclusive_lock,
    memory_schema,
)
from assistant.memory.types import AuditEntry, Conversation, Memory, Message

if TYPE_CHECKING:
    from lancedb.db import DBConnection
    from lancedb.table import Table

# tidy() compacts a table once it has this many fragments (a conversation turn adds several).
TIDY_FRAGMENTS = 24

Filter = Where | str


class MemoryStore:
    """The LanceDB database: schema, migrations, reads, retrying writes and true deletion."""

    def __init__(self, path: Path, dimension: int) -> None:
        from assistant.memory.store.lancedb_import import import_lancedb

        lancedb = import_lancedb()
        self.path = ensure_private_dir(Path(path))
        self.dimension = dimension
        try:
            # Another process (the TUI, a CLI command) may write at any time: always read the latest version.
            self.db: DBConnection = lancedb.connect(str(self.path), read_consistency_interval=timedelta(0))
        except (OSError, RuntimeError, ValueError) as error:
            raise StoreError(f"cannot open the memory store at {self.path}: {error}") from None
        self._tables: dict[str, Table] = {}
        self._vector_index_seen: tuple[float, int] = (-1e9, 0)
        with exclusive_lock(self.path / SCHEMA_LOCK_FILE):
            self._migrate()
            if settle_file_format(self.table(MEMORIES)):
                self.ensure_indexes()  # the rewrite left the table without them
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
            options = {"new_table_data_storage_version": FILE_FORMAT}
            self.db.create_table(name, schema=schema, exist_ok=True, storage_options=options)
        except (OSError, RuntimeError, ValueError) as error:
            if name not in self._table_names():  # another process may have just created it
                raise StoreError(f"cannot create table {name}: {error}") from None

    def schema_version(self) -> int:
        if META not in self._table_names():
            return 0
        rows = self.table(META).search().where(sql(eq("key", "schema_version"))).to_list()
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
            self._record_schema_version(step + 1)

    def _record_schema_version(self, version: int) -> None:
        self._set_meta("schema_version", str(version))

    def _set_meta(self, key: str, value: str) -> None:
        meta = self.table(META)

        def record() -> None:
            meta.merge_insert("key").when_matched_update_all().when_not_matched_insert_all().execute(
                [{"key": key, "value": value}]
            )

        with_retries(record)

    def _meta_value(self, key: str) -> str | None:
        rows = self.rows(META, eq("key", key), limit=1)
        return str(rows[0]["value"]) if rows else None

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
        where: Filter,
        *,
        columns: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        table = self.table(name)

        def read() -> list[dict[str, Any]]:
            table.checkout_latest()
            query = table.search().where(sql(where))
            if columns is not None:
                query = query.select(list(columns))
            # A plain search with no limit returns every row.
            rows: list[dict[str, Any]] = query.limit(limit).to_arrow().to_pylist()
            return rows

        return with_retries(read)

    def count(self, name: str, where: Filter | None = None) -> int:
        table = self.table(name)
        table.checkout_latest()
        rows: int = table.count_rows(sql(where) if where is not None else None)
        return rows

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
        # Messages stored while the embedder loads have no vector yet (null, filled in later);
        # lancedb takes a null vector for a bad one unless told it is meant.
        bad = (
            "null"
            if isinstance(rows, pa.Table) and "vector" in rows.column_names and rows["vector"].null_count
            else "error"
        )
        merge = table.merge_insert(list(on)).when_not_matched_insert_all()
        result = with_retries(lambda: merge.execute(rows, on_bad_vectors=bad))
        return int(getattr(result, "num_inserted_rows", len(rows)))

    def append(self, name: str, rows: list[dict[str, Any]] | pa.Table) -> None:
        if len(rows) == 0:
            return
        table = self.table(name)
        with_retries(lambda: table.add(rows))

    def update(
        self,
        name: str,
        where: Filter,
        *,
        values: dict[str, Any] | None = None,
        values_sql: dict[str, str] | None = None,
    ) -> None:
        table = self.table(name)
        where = sql(where)
        if values is not None:
            with_retries(lambda: table.update(where=where, values=values))
        else:
            with_retries(lambda: table.update(where=where, values_sql=values_sql))

    def delete(self, name: str, where: Filter) -> None:
        table = self.table(name)
        with_retries(lambda: table.delete(sql(where)))

    def count_uses(self, where: Filter, uses: int, at: datetime) -> None:
        """Add `uses` to the access count of the memories `where` selects, last used `at`."""
        self.update(
            MEMORIES, where, values_sql={"access_count": f"access_count + {int(uses)}", "last_accessed": literal(at)}
        )

    def arrow(self, name: str, where: Filter) -> pa.Table:
        table = self.table(name)
        table.checkout_latest()
        return table.search().where(sql(where)).limit(None).to_arrow()

    # --- records ---------------------------------------------------------------------------
    def memories(self, where: Filter, *, limit: int | None = None) -> list[Memory]:
        columns = [name for name in memory_schema(self.dimension).names if name != "vector"]
        return [row_to_memory(row) for row in self.rows(MEMORIES, where, columns=columns, limit=limit)]

    def messages(self, where: Filter, *, limit: int | None = None) -> list[Message]:
        return [row_to_message(row) for row in self.rows(MESSAGES, where, limit=limit)]

    def audit_entries(self, where: Filter) -> list[AuditEntry]:
        entries = [row_to_audit(row) for row in self.rows(AUDIT, where)]
        return sorted(entries, key=lambda entry: entry.at)

    def conversations(self, where: Filter) -> list[Conversation]:
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

    def _is_bitmap(self, name: str) -> bool:
        return self._index_names(MEMORIES).get(name) == "Bitmap"

    def ensure_indexes(self) -> None:
        """Create the full-text and scalar indexes (and a vector index on big tables); fold new rows in."""
        from lancedb.index import FTS, Bitmap

        table = self.table(MEMORIES)
        table.checkout_latest()
        if not any(kind == "FTS" for kind in self._index_names(MEMORIES).values()):
            self._create_index_once(
                lambda: table.create_index(FTS_COLUMN, config=FTS(), replace=False),
                lambda: any(kind == "FTS" for kind in self._index_names(MEMORIES).values()),
            )
        # Recall's filter reads these bitmaps, not every row (100k rows, vector search 16 -> 12 ms;
        # owner's as a B-tree: text 8.5 vs 5.5 ms, vector 14 vs 11); speaker: who speaks (recall.py).
        for column in ("owner", "status", "kind", "origin", "speaker"):
            name = f"{column}_idx"
            if not self._is_bitmap(name):
                self._create_index_once(
                    functools.partial(table.create_index, column, config=Bitmap(), replace=True, name=name),
                    functools.partial(self._is_bitmap, name),
                )
        rows = table.count_rows()
        built_on = self._meta_value(vector_index.ROWS_KEY) if self.has_vector_index() else "0"
        if rows >= vector_index.VECTOR_INDEX_MIN_ROWS and vector_index.due(rows, built_on):
            self.build_vector_index(rows)
        for name in (MEMORIES, MESSAGES, AUDIT):
            self._optimize(self.table(name))

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
                self._optimize(table)
                tidied.append(name)
        return tidied

    @staticmethod
    def _optimize(table: Table, **options: Any) -> None:
        """Compact `table` and fold its new rows into the indexes (retried on commit conflicts)."""

        def optimize() -> None:
            table.optimize(**options)

        with_retries(optimize)

    @staticmethod
    def _create_index_once(create: Callable[[], object], exists: Callable[[], bool]) -> None:
        """Create an index unless another process beats us to it."""

        def attempt() -> None:
            if exists():
                return
            try:
                create()
            except (OSError, RuntimeError, ValueError) as error:
                if not exists() and not is_conflict(error):
                    raise
                if not exists():
                    raise

        with_retries(attempt)

    def build_vector_index(self, rows: int) -> None:
        """The vector index (vector_index.py) for a table of `rows` rows, replacing any."""
        from lancedb.index import IvfSq

        table = self.table(MEMORIES)
        config = IvfSq(distance_type="cosine", num_partitions=vector_index.partitions_for(rows))
        with_retries(lambda: table.create_index("vector", config=config, replace=True))
        self._set_meta(vector_index.ROWS_KEY, str(rows))
        self._vector_index_seen = (-1e9, 0)  # looked up again by the next search

    def has_vector_index(self) -> bool:
        return any(vector_index.is_vector_index(kind) for kind in self._index_names(MEMORIES).values())

    def vector_probes(self, max_age: float = 30.0) -> int:
        """How many partitions of the vector index a search reads; 0 without an index (a scan).
        Looked up again after `max_age` seconds: another process may have built it."""
        checked_at, probes = self._vector_index_seen
        if time.monotonic() - checked_at > max_age:
            probes = vector_index.probes(self._meta_value(vector_index.ROWS_KEY)) if self.has_vector_index() else 0
            self._vector_index_seen = (time.monotonic(), probes)
        return probes

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
            with_retries(functools.partial(self._compact, table))
            table.checkout_latest()
            if name == MEMORIES and any(kind == "FTS" for kind in self._index_names(name).values()):
                with_retries(functools.partial(table.create_index, FTS_COLUMN, config=FTS(), replace=True))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the warning is about other readers; see the docstring
                self._optimize(table, cleanup_older_than=timedelta(0), delete_unverified=True)
        remove_orphan_temporaries(self.path)

    @staticmethod
    def _compact(table: Table) -> None:
        try:
            dataset = table.to_lance()
        except ImportError as error:  # pylance is a dependency; without it deleted rows could linger
            raise StoreError(f"cannot compact the memory store: {error}") from None
        dataset.optimize.compact_files(materialize_deletions=True, materialize_deletions_threshold=0.0)
        table.checkout_latest()


def now_utc() -> datetime:
    return datetime.now(UTC)
