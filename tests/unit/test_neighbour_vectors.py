"""A candidate is compared with the query together with its neighbouring turns among the candidates
(ranking.best_similarity, fusion.turn_neighbours)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.memory.embed import SentenceTransformerEmbedder, embed_array
from assistant.memory.fusion import quoted_as_context, turn_neighbours
from assistant.memory.ranking import best_similarity
from tests.unit.test_fusion import row as message_row


def row(memory_id: str, text: str, *, speaker: str, before: dict | None = None, conversation: str = "c1") -> dict:
    """A message row as fusion reads it, quoting the turn `before` it as its context."""
    context = quoted_as_context(before) if before else None
    return message_row(memory_id, text, speaker=speaker, conversation=conversation, context=context)


def test_turn_neighbours_are_the_turns_before_and_after_within_one_conversation() -> None:
    first = row("a", "Did you take Toby hiking?", speaker="Audrey")
    second = row("b", "Yes, up Mount Wilson!", speaker="Andrew", before=first)
    third = row("c", "Lovely.", speaker="Audrey", before=second)
    elsewhere = row("x", "Yes, up Mount Wilson!", speaker="Andrew", before=first, conversation="c2")
    fact = {"id": "f", "kind": "semantic", "text": "Audrey has dogs", "context": quoted_as_context(first)}
    rows = {r["id"]: r for r in (first, second, third, elsewhere, fact)}
    neighbours = turn_neighbours(rows)
    assert sorted(neighbours["b"]) == ["a", "c"]
    assert neighbours["a"] == ["b"] and neighbours["c"] == ["b"]
    assert "x" not in neighbours and "f" not in neighbours  # another conversation; not a message


@pytest.fixture(scope="module")
def embedder(embedder_path: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(embedder_path)


def test_a_short_reply_is_as_similar_as_the_exchange_it_belongs_to(embedder) -> None:
    question = row("q", "Did you take Toby hiking on the trail up Mount Wilson last weekend?", speaker="Audrey")
    reply = row("r", "Yes! He loved it.", speaker="Andrew", before=question)
    stray = row("s", "Yes! He loved it.", speaker="Andrew", conversation="c2")
    rows = {r["id"]: r for r in (question, reply, stray)}
    vectors = embed_array(embedder, [f"{r['speaker']}: {r['text']}" for r in rows.values()])
    for r, vector in zip(rows.values(), vectors, strict=True):
        r["vector"] = vector
    query = embed_array(embedder, ["Did Andrew take Toby hiking up Mount Wilson?"])[0]
    similarity = best_similarity(query, rows)
    alone = float(np.dot(query, reply["vector"]) / np.linalg.norm(query) / np.linalg.norm(reply["vector"]))
    # The same words with no exchange around them among the candidates are read alone.
    assert similarity["s"] == pytest.approx(alone, abs=1e-5)
    assert similarity["r"] > alone + 0.1
    # Only a neighbour that is a candidate counts: without the question, the reply is alone.
    without = best_similarity(query, {"r": reply})
    assert without["r"] == pytest.approx(alone, abs=1e-5)
