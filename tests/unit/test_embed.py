"""The sentence-transformers embedder: bundled model by name, lazy, offline, normalized, deterministic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.errors import ModelError
from assistant.memory.embed import (
    BUNDLED_EMBEDDER,
    Embedder,
    SentenceTransformerEmbedder,
    embed_array,
    resolve_embedder_path,
)


@pytest.fixture(scope="module")
def embedder(embedder_path: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(embedder_path)


def test_bundled_name_resolves_to_the_packaged_folder(embedder_path: Path) -> None:
    assert resolve_embedder_path(BUNDLED_EMBEDDER) == embedder_path
    assert resolve_embedder_path("All-MiniLM-L6-v2") == embedder_path


def test_a_missing_or_foreign_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="neither"):
        resolve_embedder_path(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="not a sentence-transformers model"):
        resolve_embedder_path(str(tmp_path / "empty"))


def test_dimension_is_known_without_loading_the_model(embedder_path: Path) -> None:
    fresh = SentenceTransformerEmbedder(embedder_path)
    assert fresh.dimension == 384
    assert fresh._model is None  # opening the store must not pay for torch


def test_vectors_are_normalized_deterministic_and_batch_independent(embedder: SentenceTransformerEmbedder) -> None:
    texts = [f"sentence number {i} about {topic}" for i, topic in enumerate(["cats", "taxes", "lisbon"] * 50)]
    together = embed_array(embedder, texts)
    assert together.shape == (150, 384)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    one_by_one = np.stack([embed_array(embedder, [text])[0] for text in texts[:5]])
    assert np.allclose(together[:5], one_by_one, atol=1e-5)
    assert np.array_equal(embed_array(embedder, texts[:5]), embed_array(embedder, texts[:5]))


def test_embed_returns_plain_lists_and_satisfies_the_protocol(embedder: SentenceTransformerEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    vectors = embedder.embed(["hello", "world"])
    assert isinstance(vectors, list) and isinstance(vectors[0], list) and isinstance(vectors[0][0], float)
    assert embedder.embed([]) == []


def test_meaning_is_captured(embedder: SentenceTransformerEmbedder) -> None:
    food, allergy, weather = embed_array(embedder, ["I can't eat shrimp or crab", "allergic to shellfish", "sunny day"])
    assert float(food @ allergy) > float(food @ weather)
