"""A crash between the writes of one import batch: the rerun completes it, nothing half-stored stays;
the half-written file a killed writer leaves behind does not keep forgotten text.

The kill campaigns hit these gaps by chance; here every gap is hit on purpose. Storing a batch
of messages takes several writes (episodic memories, conversations, audit, the messages
themselves). The process "dies" before the Nth write, then the import runs again: every message
must end up with its episodic memory, its conversation and one "add" audit entry, and nothing
is stored twice.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest
from kill_campaign import bytes_contain
from trust_helpers import write_messages

from assistant.memory.embed import SentenceTransformerEmbedder
from assistant.memory.engine import MemoryEngine
from assistant.memory.store import AUDIT, MemoryStore

WRITES = ("insert_new", "upsert", "append", "update", "delete")


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs, nothing catches it."""


@pytest.fixture(scope="module")
def embedder(embedder_path: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(embedder_path)


def die_before_write(store: MemoryStore, number: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the store raise Killed instead of doing its `number`th write; returns the writes done."""
    done: list[str] = []
    for name in WRITES:
        original = getattr(store, name)

        def write(table: str, *args, _original=original, _name=name, **kwargs):
            if len(done) + 1 == number:
                raise Killed(f"killed before {_name} {table}")
            done.append(f"{_name} {table}")
            return _original(table, *args, **kwargs)

        monkeypatch.setattr(store, name, write)
    return done


def problems(engine: MemoryEngine, expected: set[str]) -> list[str]:
    store = engine.store
    found = []
    messages = store.rows("messages", "true", columns=["id", "conversation_id"])
    memories = store.rows("memories", "true", columns=["id", "sources"])
    audits = store.rows(AUDIT, "action = 'add'", columns=["id", "memory_id"])
    conversations = {row["id"] for row in store.rows("conversations", "true", columns=["id"])}
    for name, ids in (("messages", [r["id"] for r in messages]), ("memories", [r["id"] for r in memories])):
        twice = [key for key, count in Counter(ids).items() if count > 1]
        if twice:
            found.append(f"{name} stored twice: {twice[:3]}")
    twice = [key for key, count in Counter(r["memory_id"] for r in audits).items() if count > 1]
    if twice:
        found.append(f"'add' audited twice: {twice[:3]}")
    missing = expected - {r["id"] for r in messages}
    if missing:
        found.append(f"messages missing: {sorted(missing)[:3]}")
    episodes = {r["id"] for r in memories}
    audited = {r["memory_id"] for r in audits}
    for row in messages:
        if f"ep-{row['id']}" not in episodes:
            found.append(f"message {row['id']} has no episodic memory")
        elif f"ep-{row['id']}" not in audited:
            found.append(f"episode ep-{row['id']} has no 'add' audit entry")
        if row["conversation_id"] not in conversations:
            found.append(f"message {row['id']} has no conversation {row['conversation_id']}")
    return found


def test_an_import_killed_between_any_two_writes_is_completed_by_the_rerun(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    source = write_messages(tmp_path / "batch.jsonl", 24, seed=3, sessions=3, prefix="cut")
    expected = {f"cut{n:05d}" for n in range(24)}
    # One uninterrupted import counts the writes of a batch.
    counting = MemoryEngine(MemoryStore(tmp_path / "count", embedder.dimension), embedder, "alice")
    with pytest.MonkeyPatch.context() as patch:
        writes = die_before_write(counting.store, 0, patch)
        counting.import_file(source)
    assert len(writes) >= 4, writes
    for number in range(1, len(writes) + 1):
        store = MemoryStore(tmp_path / f"cut-{number}", embedder.dimension)
        engine = MemoryEngine(store, embedder, "alice")
        with pytest.MonkeyPatch.context() as patch:
            done = die_before_write(store, number, patch)
            with pytest.raises(Killed):
                engine.import_file(source)
        survivor = MemoryEngine(MemoryStore(tmp_path / f"cut-{number}", embedder.dimension), embedder, "alice")
        # Whatever the crash left must never claim a message that is only half stored ...
        half = [p for p in problems(survivor, set()) if "missing" not in p]
        assert half == [], (number, done, half)
        # ... and running the import again finishes the job.
        survivor.import_file(source)
        assert problems(survivor, expected) == [], (number, done)


def test_forget_removes_what_a_killed_writer_left_half_written(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """LanceDB writes a file under a temporary name first; a SIGKILL leaves it behind with the rows
    it was writing. Forgetting those rows later must remove that copy too, but never the file a
    live writer (here: this process) is still writing."""
    from assistant.memory.store import TEMP_PREFIX

    engine = MemoryEngine(MemoryStore(tmp_path / "memory", embedder.dimension), embedder, "alice")
    engine.import_jsonl(['{"id": "secret", "role": "user", "content": "my locker code is 4711-zebra"}\n'])
    data = tmp_path / "memory" / "memories.lance" / "data"
    orphan = data / f"{TEMP_PREFIX}Orphan"
    orphan.write_bytes(b"rows a killed compaction was writing: my locker code is 4711-zebra")
    os.utime(orphan, (time.time() - 60, time.time() - 60))
    live = data / f"{TEMP_PREFIX}Writing"
    with live.open("wb") as handle:
        handle.write(b"a live writer's rows")
        handle.flush()
        os.utime(live, (time.time() - 60, time.time() - 60))
        engine.forget(["ep-secret"])
        assert live.exists(), "the file of a writer still at work was deleted"
    assert not orphan.exists()
    assert bytes_contain(tmp_path, b"4711-zebra") == []
