"""The store's Lance file format on real LanceDB: new tables in FILE_FORMAT, older ones rewritten once
at open with every row, column and index, and a rewrite that never commits over another writer's work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import lance
import lancedb
import pytest
from memory_helpers import Clock, open_engine

from assistant.memory.embed import SentenceTransformerEmbedder
from assistant.memory.store import MEMORIES, database
from assistant.memory.store import file_format as formats
from assistant.memory.store.file_format import FILE_FORMAT, file_format, rewrite_in_file_format

OLDER = "2.2"  # pylance 14's default, which the store wrote before


@pytest.fixture(scope="module")
def embedder(embedder_path: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(embedder_path)


def memories_table(folder: Path) -> lance.LanceDataset:
    return lance.dataset(str(folder / f"{MEMORIES}.lance"))


def keep_in_older_format(folder: Path) -> None:
    """Rewrite the memories as the store wrote them before: in OLDER, without their indexes."""
    dataset = memories_table(folder)
    lance.write_dataset(dataset.to_table(), dataset.uri, mode="overwrite", data_storage_version=OLDER)


def rows_by_id(folder: Path) -> dict[str, dict]:
    return {row["id"]: row for row in memories_table(folder).to_table().to_pylist()}


def test_a_new_store_writes_every_table_in_the_file_format(tmp_path: Path, embedder) -> None:
    engine = open_engine(tmp_path / "memory", embedder)
    engine.add("I am allergic to peanuts")
    engine.close()
    database = lancedb.connect(str(tmp_path / "memory"))
    for name in database.list_tables().tables:
        assert file_format(database.open_table(name)) == FILE_FORMAT, name


def test_memories_in_an_older_format_are_rewritten_at_open_with_every_row_and_index(tmp_path: Path, embedder) -> None:
    folder = tmp_path / "memory"
    engine = open_engine(folder, embedder, clock=Clock())
    engine.add("I am allergic to peanuts", importance=0.9, pinned=True, sources=["m1"])
    engine.add("My sister Ingrid lives in Lisbon")
    engine.store.ensure_indexes()
    engine.close()
    before = rows_by_id(folder)
    keep_in_older_format(folder)
    assert memories_table(folder).data_storage_version == OLDER
    assert not memories_table(folder).describe_indices()

    engine = open_engine(folder, embedder, clock=Clock())
    try:
        assert memories_table(folder).data_storage_version == FILE_FORMAT
        after = rows_by_id(folder)
        assert after.keys() == before.keys()
        for memory_id, row in before.items():
            assert {**after[memory_id], "vector": None} == {**row, "vector": None}
            assert list(after[memory_id]["vector"]) == pytest.approx(list(row["vector"]))
        # The text index is back: a word the vectors alone would not put first is found by its words.
        kinds = {index.index_type for index in engine.store.table(MEMORIES).list_indices()}
        assert {"FTS", "Bitmap"} <= kinds
        hits = engine.search("peanuts", k=1, reinforce=False)
        assert hits and "peanuts" in hits[0].memory.text
    finally:
        engine.close()


def older_store_remembering(folder: Path, embedder: SentenceTransformerEmbedder, text: str) -> None:
    engine = open_engine(folder, embedder)
    engine.add(text)
    engine.close()
    keep_in_older_format(folder)


def another_process_writes_during_each_rewrite(
    monkeypatch: pytest.MonkeyPatch, folder: Path, embedder: SentenceTransformerEmbedder, texts: Iterator[str]
) -> list[str]:
    """Each time the rewrite reads the table, an older app still running remembers the next of
    `texts` (while there are any); returns what it wrote."""
    original_to_batches = lance.LanceDataset.to_batches
    written: list[str] = []

    def to_batches_with_a_write_beside(self, *args, **kwargs):
        text = next(texts, None) if kwargs.get("batch_size") == formats.REWRITE_BATCH_ROWS else None
        if text is not None:  # the rewrite's read, not the writer's own
            writer = open_engine_without_settling(folder, embedder)
            written.append(writer.add(text).text)
            writer.close()
        return original_to_batches(self, *args, **kwargs)

    monkeypatch.setattr(lance.LanceDataset, "to_batches", to_batches_with_a_write_beside)
    return written


def test_a_rewrite_gives_way_to_a_write_made_meanwhile_and_loses_nothing(
    tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "memory"
    older_store_remembering(folder, embedder, "I am allergic to peanuts")
    meanwhile = iter(["My sister Ingrid lives in Lisbon"])
    another_process_writes_during_each_rewrite(monkeypatch, folder, embedder, meanwhile)
    assert rewrite_in_file_format(lancedb.connect(str(folder)).open_table(MEMORIES))
    texts = sorted(row["text"] for row in rows_by_id(folder).values())
    assert texts == ["I am allergic to peanuts", "My sister Ingrid lives in Lisbon"]
    assert memories_table(folder).data_storage_version == FILE_FORMAT


def test_a_rewrite_that_other_writes_keep_interrupting_leaves_the_table_as_it_was(
    tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "memory"
    older_store_remembering(folder, embedder, "I am allergic to peanuts")
    notes = (f"note number {n}" for n in range(100))
    written = another_process_writes_during_each_rewrite(monkeypatch, folder, embedder, notes)
    assert not rewrite_in_file_format(lancedb.connect(str(folder)).open_table(MEMORIES))
    assert len(written) == formats.REWRITE_ATTEMPTS
    texts = sorted(row["text"] for row in rows_by_id(folder).values())
    assert texts == sorted(["I am allergic to peanuts", *written])
    assert memories_table(folder).data_storage_version == OLDER


def open_engine_without_settling(folder: Path, embedder: SentenceTransformerEmbedder):
    """An engine on `folder` as an older app has it open: one that does not rewrite the table."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(database, "settle_file_format", lambda table: False)
        return open_engine(folder, embedder)
