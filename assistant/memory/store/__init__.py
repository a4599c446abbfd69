"""The LanceDB store: the one place that knows tables, rows and filter expressions.

schema.py    table names, their schema, migrations and the schema lock
rows.py      Memory / Message / AuditEntry <-> row
query.py     the filter builder: eq, is_in, starts_with, lt/le/gt/ge, all_of/any_of, owned_by
retries.py   retrying writes on another process's concurrent commit
files.py     removing the temporaries a killed writer left behind
database.py  MemoryStore: reads, retrying writes, indexes, and true deletion
vector_index.py  the vector index: when it is built, how, how much of it a search reads
lance_reads.py   a table read through one kept Lance dataset, at its latest version
"""

from assistant.memory.store.database import TIDY_FRAGMENTS, Filter, MemoryStore, now_utc
from assistant.memory.store.files import TEMP_PREFIX, remove_orphan_temporaries
from assistant.memory.store.query import Where, literal
from assistant.memory.store.retries import with_retries
from assistant.memory.store.rows import (
    audit_to_row,
    memory_to_row,
    message_to_row,
    row_to_audit,
    row_to_memory,
    row_to_message,
)
from assistant.memory.store.schema import (
    AUDIT,
    AUDIT_SCHEMA,
    CONVERSATION_SCHEMA,
    CONVERSATIONS,
    FTS_COLUMN,
    MEMORIES,
    MESSAGE_SCHEMA,
    MESSAGES,
    META,
    META_SCHEMA,
    PROFILE_SCHEMA,
    PROFILES,
    SCHEMA_LOCK_FILE,
    SCHEMA_VERSION,
    exclusive_lock,
    memory_schema,
)
from assistant.memory.store.schema import exclusive_lock as _exclusive_lock  # the name tests use
from assistant.memory.store.vector_index import VECTOR_INDEX_MIN_ROWS, VECTOR_NPROBES

__all__ = [
    "AUDIT",
    "AUDIT_SCHEMA",
    "CONVERSATIONS",
    "CONVERSATION_SCHEMA",
    "FTS_COLUMN",
    "MEMORIES",
    "MESSAGES",
    "MESSAGE_SCHEMA",
    "META",
    "META_SCHEMA",
    "PROFILES",
    "PROFILE_SCHEMA",
    "SCHEMA_LOCK_FILE",
    "SCHEMA_VERSION",
    "TEMP_PREFIX",
    "TIDY_FRAGMENTS",
    "VECTOR_INDEX_MIN_ROWS",
    "VECTOR_NPROBES",
    "Filter",
    "MemoryStore",
    "Where",
    "_exclusive_lock",
    "audit_to_row",
    "exclusive_lock",
    "literal",
    "memory_schema",
    "memory_to_row",
    "message_to_row",
    "now_utc",
    "remove_orphan_temporaries",
    "row_to_audit",
    "row_to_memory",
    "row_to_message",
    "with_retries",
]
