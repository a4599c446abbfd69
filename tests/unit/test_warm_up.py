"""A chat while the embedder still loads behind: it answers without waiting, says so, and loses no vector.

The service's first chat must not wait seconds for sentence-transformers (torch): recall goes
by full text, profile and rules, the messages are stored at once without vectors, and the
vectors are filled in once the embedder has loaded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from memory_helpers import Clock, open_engine

from assistant.application.session import TEXT_ONLY_NOTE, Assistant
from assistant.config import Settings
from assistant.llm.runner import ModelRunner
from assistant.memory.embed import SentenceTransformerEmbedder
from assistant.memory.store import MEMORIES
from assistant.memory.store.query import is_null
from assistant.memory.types import Kind


@pytest.fixture(scope="module")
def runner(starter_model_path: Path) -> ModelRunner:
    runner = ModelRunner(starter_model_path, context_size=2048, threads=2, seed=1)
    runner.load()
    return runner


def without_vectors(engine) -> list[str]:
    rows = engine.store.rows(MEMORIES, engine.space.owner & is_null("vector"), columns=["id", "text"])
    return sorted(row["text"] for row in rows)


def test_a_chat_while_the_embedder_loads_answers_by_full_text_and_its_vectors_are_filled_in_later(
    tmp_path: Path, embedder_path: Path, runner: ModelRunner
) -> None:
    clock = Clock()
    seeding = open_engine(tmp_path / "store", SentenceTransformerEmbedder(embedder_path), user="default", clock=clock)
    seeding.add("User is allergic to shellfish", kind=Kind.SEMANTIC, key="user.allergy", reason="test")
    seeding.ensure_indexes()  # the full-text index, as maintenance builds it
    seeding.close()

    loading = SentenceTransformerEmbedder(embedder_path)  # the service's: not loaded yet
    engine = open_engine(tmp_path / "store", loading, user="default", clock=clock)
    assistant = Assistant(Settings(max_reply_tokens=16), runner=runner, engine=engine, clock=clock)
    assert assistant.expect_warm_up() is loading and not engine.vectors_ready

    turn = assistant.reply("Which shellfish dishes should I avoid at dinner")
    assert loading._model is None, "the chat waited for the embedder"
    assert TEXT_ONLY_NOTE in turn.trace.notes
    assert "shellfish" in " ".join(memory.text for memory in turn.trace.memories), "full text found the allergy"
    stored = without_vectors(engine)
    assert "Which shellfish dishes should I avoid at dinner" in stored and turn.reply in stored

    loading.load()
    assert engine.vectors_ready
    assert engine.fill_missing_vectors() == len(stored)
    assert without_vectors(engine) == []
    later = assistant.reply("What should I avoid at dinner")
    assert TEXT_ONLY_NOTE not in later.trace.notes
    hits = engine.search("dishes to avoid at dinner", k=5, reinforce=False)
    assert any(hit.memory.id.endswith(turn.user_message_id or "?") or hit.memory.text == turn.user_text for hit in hits)


def test_without_a_promised_warm_up_a_chat_embeds_as_it_always_did(
    tmp_path: Path, embedder_path: Path, runner: ModelRunner
) -> None:
    clock = Clock()
    fresh = SentenceTransformerEmbedder(embedder_path)
    engine = open_engine(tmp_path / "store", fresh, user="default", clock=clock)
    assistant = Assistant(Settings(max_reply_tokens=16), runner=runner, engine=engine, clock=clock)
    turn = assistant.reply("I keep forgetting where I put my keys")
    assert fresh._model is not None and TEXT_ONLY_NOTE not in turn.trace.notes
    assert without_vectors(engine) == []
