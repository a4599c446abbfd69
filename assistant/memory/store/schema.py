"""The tables' schema, the migrations that create them, and the lock held while they run."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from assistant.errors import StoreError

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
# Held while a process checks and creates the tables. A table is listed as soon as its
# folder exists but opens only once its first version is written; without the lock a second
# process starting on a fresh data dir saw "meta" listed and failed to open it.
SCHEMA_LOCK_FILE = "schema.lock"
TIMESTAMP = pa.timestamp("us", tz="UTC")


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


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an OS lock on `path` (created owner-only) against every other process; released on exit or death."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise StoreError(f"cannot open {path}: {error.strerror or error}") from None
    try:
        if sys.platform == "win32":  # mypy skips the branch for the other platform
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


class Migratable(Protocol):
    """What a migration may do to the database (the store, seen from below it)."""

    dimension: int

    def _create_if_missing(self, name: str, schema: pa.Schema) -> None: ...


# Migrations: an ordered list; migration i brings the database from version i to i + 1.
def _migrate_create_tables(store: Migratable) -> None:
    store._create_if_missing(MEMORIES, memory_schema(store.dimension))
    store._create_if_missing(MESSAGES, MESSAGE_SCHEMA)
    store._create_if_missing(CONVERSATIONS, CONVERSATION_SCHEMA)
    store._create_if_missing(PROFILES, PROFILE_SCHEMA)
    store._create_if_missing(AUDIT, AUDIT_SCHEMA)


MIGRATIONS: list[Callable[[Migratable], None]] = [_migrate_create_tables]
