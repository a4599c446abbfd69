"""A message between people carries its reply's meaning; the model's replies never shape the user's words."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from memory_helpers import Clock, open_engine

import assistant.memory.import_export as import_export
from assistant.memory.embed import SentenceTransformerEmbedder, embed_array
from assistant.memory.engine import MemoryEngine
from assistant.memory.store import MEMORIES
from assistant.memory.types import Message, Role

QUESTION = "Did you end up going anywhere last weekend?"
REPLY = "Yes! We drove out to the lighthouse at Cabo da Roca and watched the sunset over the cliffs."


@pytest.fixture(scope="module")
def embedder(embedder_path: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(embedder_path)


@pytest.fixture
def engine(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> MemoryEngine:
    return open_engine(tmp_path / "data" / "memory", embedder, clock=Clock())


def stored_vector(engine: MemoryEngine, memory_id: str) -> np.ndarray:
    rows = engine.space.store.rows(MEMORIES, engine.space.owner, columns=["id", "vector"])
    return np.asarray(next(row["vector"] for row in rows if row["id"] == memory_id), dtype=np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def similarity(vector: np.ndarray, embedder: SentenceTransformerEmbedder, text: str) -> float:
    other = embed_array(embedder, [text])[0]
    return float(vector @ other / (np.linalg.norm(vector) * np.linalg.norm(other)))


def import_two(tmp_path: Path, engine: MemoryEngine, first: dict, second: dict) -> None:
    base = {"session_id": "s1", "timestamp": "2024-05-02T10:00:00Z"}
    records = [{**base, "id": "m1", **first}, {**base, "id": "m2", **second}]
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    assert engine.import_file(path).imported == 2


@pytest.mark.parametrize("chunk", [import_export.IMPORT_CHUNK, 1], ids=["one batch", "reply in the next batch"])
def test_a_question_between_people_is_found_by_the_answer_it_got(
    tmp_path: Path, engine, embedder, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(import_export, "IMPORT_CHUNK", chunk)
    import_two(
        tmp_path,
        engine,
        {"role": "user", "speaker": "Ana", "content": QUESTION},
        {"role": "assistant", "speaker": "Ben", "content": REPLY},
    )
    alone = embed_array(embedder, [f"Ana: {QUESTION}"])[0]
    blended = stored_vector(engine, "ep-m1")
    assert (
        similarity(blended, embedder, "the lighthouse at Cabo da Roca")
        > similarity(alone, embedder, "the lighthouse at Cabo da Roca") + 0.15
    )
    # The reply itself keeps its own meaning (with a little of the question, as before).
    assert similarity(stored_vector(engine, "ep-m2"), embedder, f"Ben: {REPLY}") > 0.9


def test_the_models_reply_never_shapes_the_users_message(tmp_path: Path, engine, embedder) -> None:
    conversation = engine.create_conversation(title="chat")
    engine.add_messages([Message(engine.space.user, Role.USER, QUESTION, conversation.id)])
    engine.add_messages([Message(engine.space.user, Role.ASSISTANT, REPLY, conversation.id)])
    user_id = next(m.id for m in engine.messages(conversation.id) if m.role == Role.USER)
    own = embed_array(embedder, [engine.embedding_text_of(engine.messages(conversation.id)[0])])[0]
    assert cosine(stored_vector(engine, f"ep-{user_id}"), own) == pytest.approx(1.0, abs=1e-4)


def test_an_imported_models_reply_and_a_persons_second_message_are_not_blended(
    tmp_path: Path, engine, embedder
) -> None:
    import_two(
        tmp_path,
        engine,
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": REPLY},  # no speaker: the model's words
    )
    own = embed_array(embedder, [f"user: {QUESTION}"])[0]
    assert cosine(stored_vector(engine, "ep-m1"), own) == pytest.approx(1.0, abs=1e-4)


def test_the_same_person_twice_in_a_row_is_not_blended(tmp_path: Path, engine, embedder) -> None:
    import_two(
        tmp_path,
        engine,
        {"role": "user", "speaker": "Ana", "content": QUESTION},
        {"role": "user", "speaker": "Ana", "content": REPLY},
    )
    own = embed_array(embedder, [f"Ana: {QUESTION}"])[0]
    assert cosine(stored_vector(engine, "ep-m1"), own) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("chunk", [import_export.IMPORT_CHUNK, 1], ids=["one batch", "a record a batch"])
def test_an_export_made_with_another_embedder_is_embedded_again_with_the_same_blends(
    tmp_path: Path, engine, embedder, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    base = {"session_id": "s1", "timestamp": "2024-05-02T10:00:00Z"}
    said = [
        {"role": "user", "speaker": "Ana", "content": QUESTION},
        {"role": "assistant", "speaker": "Ben", "content": REPLY},
        {"role": "user", "content": "Any ideas for a rainy Sunday?"},
        {"role": "assistant", "content": "A museum, or a long lunch somewhere warm."},
    ]
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps({**base, "id": f"m{n}", **r}) + "\n" for n, r in enumerate(said)), "utf-8")
    assert engine.import_file(path).imported == 4
    engine.add("User's sister Ana lives in Porto")
    before = {row["id"]: row["vector"] for row in engine.space.store.rows(MEMORIES, engine.space.owner)}
    exported = tmp_path / "export.jsonl"
    engine.export(exported)

    # As another embedder would have written it: vectors of another length, meaningless here.
    lines = [json.loads(line) for line in exported.read_text("utf-8").splitlines()]
    lines[0]["dimension"] = 768
    for record in lines[1:]:
        if record["type"] == "memory":
            record["vector"] = [0.5] * 768
    exported.write_text("".join(json.dumps(record) + "\n" for record in lines), "utf-8")

    monkeypatch.setattr(import_export, "IMPORT_CHUNK", chunk)
    fresh = open_engine(tmp_path / "fresh" / "memory", embedder, clock=Clock())
    shown: list[tuple[int, int]] = []
    report = fresh.import_file(exported, progress=lambda done, total: shown.append((done, total)))
    assert report.restored["memory"] == len(before) == 5 and not report.bad_lines
    assert report.embedded_again == 5 and shown[-1] == (5, 5)  # the embedding's progress, to the end
    after = {row["id"]: row["vector"] for row in fresh.space.store.rows(MEMORIES, fresh.space.owner)}
    assert after.keys() == before.keys()
    for memory_id, vector in before.items():
        assert cosine(np.asarray(after[memory_id]), np.asarray(vector)) > 0.9999, memory_id
    found = fresh.search("the lighthouse at Cabo da Roca", k=3, reinforce=False)
    assert any(hit.memory.text == QUESTION for hit in found)
