"""Recall reads the table through one kept Lance dataset (store/lance_reads.py): what another
process writes or forgets is seen by the next recall, as it was when each search asked LanceDB
for the latest version, and the dataset follows the table's versions instead of being opened
anew (which would read its indexes again)."""

from __future__ import annotations

from pathlib import Path

import pytest
from memory_helpers import open_engine

from assistant.memory.embed import SentenceTransformerEmbedder
from assistant.memory.store import MEMORIES, MemoryStore
from assistant.memory.store.lance_reads import LatestDataset

FACTS = [
    "My sister Ingrid lives in Lisbon with her two cats",
    "Our beagle is called Bruno and he loves the beach",
    "I work as a pharmacist at the hospital on weekdays",
]


@pytest.fixture(scope="module")
def embedder(embedder_path: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(embedder_path)


def test_recall_sees_what_another_process_learns_and_forgets(tmp_path: Path, embedder) -> None:
    reader = open_engine(tmp_path / "memory", embedder)
    writer = open_engine(tmp_path / "memory", embedder)  # its own store and connection, as another process
    for fact in FACTS:
        writer.add(fact)
    writer.ensure_indexes()
    assert reader.search("what is my dog called", reinforce=False)[0].memory.text == FACTS[1]

    allergy = writer.add("I am allergic to shellfish, prawns make me ill")
    assert reader.search("what am I allergic to", reinforce=False)[0].memory.id == allergy.id

    writer.forget([allergy.id])
    hits = reader.search("what am I allergic to", reinforce=False)
    assert allergy.id not in [hit.memory.id for hit in hits]
    assert all("shellfish" not in hit.memory.text for hit in hits)


def test_the_kept_dataset_follows_the_table_s_versions(tmp_path: Path, embedder) -> None:
    reader = open_engine(tmp_path / "memory", embedder)
    writer = open_engine(tmp_path / "memory", embedder)
    writer.add(FACTS[0])
    table = reader.store.table(MEMORIES)
    datasets = LatestDataset()

    first = datasets.of(table)
    assert first.version == table.version and first.count_rows() == 1
    assert datasets.of(table) is first  # nothing written: the same dataset, caches and all

    writer.add(FACTS[1])
    moved = datasets.of(table)
    assert moved.version == table.version > first.version
    assert moved.count_rows() == 2

    # The store opened again (as after a repair): another table object gets a dataset of its own.
    again = MemoryStore(tmp_path / "memory", embedder.dimension).table(MEMORIES)
    assert datasets.of(again) is not moved and datasets.of(again).count_rows() == 2
