"""Recall's speed work on real LanceDB and the real embedder: the ANN index finds what a scan
finds, it is built again as the table grows, the scalar indexes exist, and a query is
embedded once (and beside the full-text search) without changing what recall returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from memory_helpers import Clock, open_engine

from assistant.memory.embed import SentenceTransformerEmbedder
from assistant.memory.engine import MemoryEngine, memory_rows
from assistant.memory.store import MEMORIES, META, VECTOR_INDEX_MIN_ROWS, VECTOR_NPROBES
from assistant.memory.store.query import eq
from assistant.memory.store.vector_index import ROWS_KEY as VECTOR_INDEX_ROWS_KEY
from assistant.memory.types import Kind, Memory, Origin

FACTS = [
    "My sister Ingrid lives in Lisbon with her two cats",
    "I am allergic to shellfish, prawns make me ill",
    "Our beagle is called Bruno and he loves the beach",
    "I work as a pharmacist at the hospital on weekdays",
    "We ran the Porto marathon last October in four hours",
    "I am learning the cello from a teacher called Mira",
]
QUESTIONS = ["where does my sister live", "what food must I avoid", "what is my dog's name", "what is my job"]


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.texts: list[str] = []

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts):
        self.texts.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def embedder(embedder_path: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(embedder_path)


def add_random_rows(engine: MemoryEngine, count: int, seed: int) -> None:
    """Filler memories with random vectors: unrelated to any question, cheap to make by thousands."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, engine.store.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    memories = [
        Memory(
            user=engine.user,
            kind=Kind.EPISODIC,
            text=f"filler note {seed}-{index} about nothing much",
            id=f"filler-{seed}-{index}",
            created_at=start + timedelta(minutes=index),
            origin=Origin.IMPORTED,
        )
        for index in range(count)
    ]
    engine.store.append(MEMORIES, memory_rows(memories, vectors, engine.store.dimension))


def top_ids(engine: MemoryEngine, k: int = 4) -> list[list[str]]:
    return [[hit.memory.id for hit in engine.search(question, k=k, reinforce=False)] for question in QUESTIONS]


def test_recall_with_the_vector_index_returns_what_it_returned_by_scanning(tmp_path: Path, embedder) -> None:
    engine = open_engine(tmp_path / "memory", embedder)
    for fact in FACTS:
        engine.add(fact)
    add_random_rows(engine, VECTOR_INDEX_MIN_ROWS - len(FACTS) - 1, seed=1)
    engine.ensure_indexes()  # text and scalar indexes; one row short of a vector index
    assert not engine.store.has_vector_index()
    names = {index.name for index in engine.store.table(MEMORIES).list_indices()}
    assert {"owner_idx", "status_idx", "kind_idx", "origin_idx", "speaker_idx"} <= names
    scanned = top_ids(engine)

    add_random_rows(engine, 1, seed=2)
    engine.ensure_indexes()
    assert engine.store.has_vector_index()
    assert engine.store.rows(META, eq("key", VECTOR_INDEX_ROWS_KEY))[0]["value"] == str(VECTOR_INDEX_MIN_ROWS)
    assert engine.store.vector_probes() == VECTOR_NPROBES  # every partition of a small index
    assert top_ids(engine) == scanned
    assert all(ids and not ids[0].startswith("filler") for ids in scanned)


def test_the_vector_index_is_built_again_once_the_table_has_grown_fourfold(tmp_path: Path, embedder) -> None:
    engine = open_engine(tmp_path / "memory", embedder)
    add_random_rows(engine, VECTOR_INDEX_MIN_ROWS, seed=3)
    engine.ensure_indexes()
    built = engine.store.table(MEMORIES).list_indices()
    vector_index = next(index for index in built if index.columns == ["vector"])

    engine.ensure_indexes()  # the same size: the index stays
    again = next(index for index in engine.store.table(MEMORIES).list_indices() if index.columns == ["vector"])
    assert again.index_uuid == vector_index.index_uuid

    # As if it had been built on a quarter of today's rows (or by a version that kept no size).
    for recorded in (str(VECTOR_INDEX_MIN_ROWS // 4), None):
        engine.store.delete(META, eq("key", VECTOR_INDEX_ROWS_KEY))
        if recorded is not None:
            engine.store.upsert(META, [{"key": VECTOR_INDEX_ROWS_KEY, "value": recorded}], on=("key",))
        engine.ensure_indexes()
        rebuilt = next(index for index in engine.store.table(MEMORIES).list_indices() if index.columns == ["vector"])
        assert rebuilt.index_uuid != vector_index.index_uuid
        assert engine.store.rows(META, eq("key", VECTOR_INDEX_ROWS_KEY))[0]["value"] == str(VECTOR_INDEX_MIN_ROWS)
        vector_index = rebuilt


def test_a_query_asked_again_is_not_embedded_again_and_recalls_the_same(tmp_path: Path, embedder) -> None:
    counting = CountingEmbedder(embedder)
    engine = MemoryEngine(engine_store(tmp_path, embedder), counting, "alice", now=Clock())  # type: ignore[arg-type]
    for fact in FACTS:
        engine.add(fact)
    engine.ensure_indexes()
    counting.texts.clear()

    first = engine.search("what is my dog's name", reinforce=False)
    second = engine.search("what is my dog's name", reinforce=False)
    assert counting.texts == ["what is my dog's name"]
    assert [hit.memory.id for hit in first] == [hit.memory.id for hit in second]
    assert "Bruno" in first[0].memory.text

    # One query is embedded inside recall, beside its text search; several are embedded before
    # recall, in one batch: the hits are the same either way.
    alone = [[hit.memory.id for hit in engine.search(question, reinforce=False)] for question in QUESTIONS]
    batched = [[hit.memory.id for hit in hits] for hits in engine.search_many(QUESTIONS, reinforce=False)]
    assert alone == batched


def engine_store(tmp_path: Path, embedder: SentenceTransformerEmbedder):
    from assistant.memory.store import MemoryStore

    return MemoryStore(tmp_path / "memory", embedder.dimension)


def test_an_owner_b_tree_index_of_an_earlier_version_becomes_a_bitmap(tmp_path: Path, embedder) -> None:
    from lancedb.index import BTree

    engine = open_engine(tmp_path / "memory", embedder)
    for fact in FACTS:
        engine.add(fact)
    engine.ensure_indexes()
    before = top_ids(engine)
    table = engine.store.table(MEMORIES)
    table.create_index("owner", config=BTree(), replace=True, name="owner_idx")
    assert {index.name: index.index_type for index in table.list_indices()}["owner_idx"] == "BTree"

    engine.ensure_indexes()
    kinds = {index.name: index.index_type for index in engine.store.table(MEMORIES).list_indices()}
    assert {kinds[f"{column}_idx"] for column in ("owner", "status", "kind", "origin", "speaker")} == {"Bitmap"}
    assert top_ids(engine) == before


def test_opening_recall_puts_numpy_s_matrix_products_on_one_thread(tmp_path: Path) -> None:
    """OpenBLAS's idle helper threads spin after each of ranking's small products, taking a core
    from the searches and the embedding beside them (ranking.one_blas_thread). A fresh process
    that allowed two threads has one once a recaller is open."""
    import subprocess
    import sys

    probe = (
        "import sys, numpy; from threadpoolctl import threadpool_info, threadpool_limits;"
        "from assistant.memory.store import MemoryStore; from assistant.memory.recall import Recaller;"
        "threads = lambda: sorted({lib['num_threads'] for lib in threadpool_info() if lib['user_api'] == 'blas'});"
        "threadpool_limits(2, user_api='blas'); before = threads();"
        "Recaller(MemoryStore(sys.argv[1], 384));"
        "print(before, threads())"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "memory")], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[2] [1]"


def test_rows_that_compaction_moves_between_the_searches_and_their_take_are_read_by_id(
    tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The searches return row ids and one take reads the rows' columns; compaction in between
    rewrites the table's files, and recall must still return the same, complete memories."""
    from assistant.memory import recall
    from assistant.memory.store.query import owned_by

    engine = open_engine(tmp_path / "memory", embedder)
    for fact in FACTS[:-1]:
        engine.add(fact)
    engine.ensure_indexes()
    # New files beside the indexed one: compaction will merge them and move their rows.
    engine.add("a note to delete before compacting")
    engine.add(FACTS[-1])
    expected = [
        [(hit.memory.id, hit.memory.text, hit.memory.created_at) for hit in hits]
        for hits in [engine.search(question, reinforce=False) for question in QUESTIONS]
    ]

    table = engine.store.table(MEMORIES)
    fragments_before = table.stats()["fragment_stats"]["num_fragments"]
    whole_rows = recall.whole_rows
    compacted: list[bool] = []

    def compact_first(table_read, rankings, columns, owner, **options):
        if not compacted:
            table.delete((owned_by(engine.user) & eq("text", "a note to delete before compacting")).sql)
            table.optimize()
            compacted.append(True)
        return whole_rows(table_read, rankings, columns, owner, **options)

    monkeypatch.setattr(recall, "whole_rows", compact_first)
    first = engine.search(QUESTIONS[0], reinforce=False)
    assert compacted and table.stats()["fragment_stats"]["num_fragments"] < fragments_before
    assert [(hit.memory.id, hit.memory.text, hit.memory.created_at) for hit in first] == [
        row for row in expected[0] if row[1] != "a note to delete before compacting"
    ]
    assert all(hit.memory.user == engine.user and hit.memory.kind for hit in first)


def test_recall_reads_its_candidates_the_same_without_lance_s_unstable_take(
    tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lance

    engine = open_engine(tmp_path / "memory", embedder)
    for fact in FACTS:
        engine.add(fact)
    engine.ensure_indexes()
    before = [
        [(hit.memory.id, hit.memory.text, hit.memory.sources) for hit in engine.search(q, reinforce=False)]
        for q in QUESTIONS
    ]
    monkeypatch.delattr(lance.LanceDataset, "_take_rows")
    from lancedb.table import LanceTable

    public_take = LanceTable.take_row_ids
    taken: list[int] = []

    def counted(self, row_ids):
        taken.append(len(row_ids))
        return public_take(self, row_ids)

    monkeypatch.setattr(LanceTable, "take_row_ids", counted)
    after = [
        [(hit.memory.id, hit.memory.text, hit.memory.sources) for hit in engine.search(q, reinforce=False)]
        for q in QUESTIONS
    ]
    assert after == before and all(before)
    assert len(taken) == len(QUESTIONS) and all(taken)  # one take each, by the public API
