"""Whose words: what the user said outranks the assistant's restatement of it, and an assistant
reply reaches the prompt only beside the message it answered, labelled as the assistant's.

Real LanceDB, the real embedder and the starter model's tokenizer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from memory_helpers import Clock, open_engine

from assistant.application.context import ContextInputs, assemble
from assistant.application.recall_policy import whose_words, worth_quoting
from assistant.llm.runner import ModelRunner
from assistant.memory.embed import SentenceTransformerEmbedder
from assistant.memory.engine import MemoryEngine, episodic_memory_id
from assistant.memory.types import Kind, Memory, Message, RecallHit, Role

NOW = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
SISTER = "My sister Ana moved to Porto last spring."
WRONG = "So your sister Ana lives in Lisbon now, how lovely! Lisbon is a great place to live."
DINNER = "Any ideas for dinner tonight?"
RISOTTO = "Try a mushroom risotto with thyme and parmesan."


@pytest.fixture(scope="module")
def embedder(embedder_path: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(embedder_path)


@pytest.fixture(scope="module")
def runner(starter_model_path: Path) -> ModelRunner:
    runner = ModelRunner(starter_model_path, context_size=2048, threads=2)
    runner.load()
    return runner


@pytest.fixture
def engine(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> MemoryEngine:
    engine = open_engine(tmp_path / "memory", embedder, clock=Clock(NOW))
    exchanges = [
        (SISTER, WRONG),
        (DINNER, RISOTTO),
        ("I started learning the cello in September.", "How exciting, the cello is a beautiful instrument."),
        ("My manager wants the report by Friday.", "Would you like help outlining the report?"),
    ]
    for number, (said, reply) in enumerate(exchanges):
        conversation = engine.create_conversation(f"chat {number}").id
        engine.add_messages(
            [
                Message("alice", Role.USER, said, conversation, id=f"u{number}", created_at=NOW),
                Message("alice", Role.ASSISTANT, reply, conversation, id=f"a{number}", created_at=NOW),
            ]
        )
    engine.maintain()
    return engine


def block_for(runner: ModelRunner, query: str, hits: list[RecallHit]) -> str:
    facts, episodes = worth_quoting(hits, query, recall_k=8, in_profile=set(), user_message_id=None)
    _, trace = assemble(
        ContextInputs(user_text=query, facts=facts, episodes=episodes, now=NOW),
        budget=1500,
        count_tokens=runner.count_tokens,
        count_chat_tokens=runner.count_chat_tokens,
    )
    return trace.memory_block


def test_the_users_own_message_outranks_the_assistants_wrong_restatement(engine: MemoryEngine, runner) -> None:
    query = "Where does my sister Ana live?"
    ranked = [hit.memory.id for hit in engine.search(query, k=8, reinforce=False)]
    users, assistants = episodic_memory_id("u0"), episodic_memory_id("a0")
    assert users in ranked and assistants in ranked
    assert ranked.index(users) < ranked.index(assistants)
    # In the prompt the user's words stand alone: the reply that got them wrong is not quoted.
    block = block_for(runner, query, engine.search(query, k=8, reinforce=False))
    assert "Porto" in block and "Lisbon" not in block


def test_an_assistant_reply_is_shown_only_beside_the_message_it_answered(engine: MemoryEngine, runner) -> None:
    query = "that mushroom risotto with thyme and parmesan"
    hits = engine.search(query, k=8, reinforce=False)
    assert episodic_memory_id("a1") in [hit.memory.id for hit in hits]
    block = block_for(runner, query, hits)
    lines = [line for line in block.splitlines() if "mushroom risotto" in line]
    assert lines, block
    for line in lines:
        assert DINNER in line and "you replied (your words, not facts)" in line


def test_a_reply_whose_question_is_unknown_is_never_quoted() -> None:
    orphan = Memory(user="u", kind=Kind.EPISODIC, text="Bananas are a kind of fish.", speaker="assistant")
    answered = Memory(
        user="u", kind=Kind.EPISODIC, text="Bananas grow in clusters.", speaker="assistant", context="user: Bananas?"
    )
    question = Memory(user="u", kind=Kind.EPISODIC, text="Bananas?", speaker="user")
    hits = [RecallHit(orphan, 0.9), RecallHit(answered, 0.8)]
    assert [hit.memory.text for hit in whose_words(hits)] == ["Bananas grow in clusters."]
    # With its question quoted anyway, the reply adds nothing the user said: only the question stays.
    assert [hit.memory.text for hit in whose_words([*hits, RecallHit(question, 0.7)])] == ["Bananas?"]
