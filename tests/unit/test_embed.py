"""The sentence-transformers embedder: bundled model by name, lazy, offline, normalized, deterministic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.errors import ModelError
from assistant.memory.embed import (
    BUNDLED_EMBEDDER,
    FLOAT32_SETTING,
    Embedder,
    SentenceTransformerEmbedder,
    embed_array,
    embeds_in_bfloat16,
    multiplies_bfloat16,
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
    # Alike to within the model's precision (bfloat16 where the CPU multiplies it natively).
    tolerance = 1e-3 if embeds_in_bfloat16() else 1e-6
    assert np.all(np.sum(together[:5] * one_by_one, axis=1) >= 1.0 - tolerance)
    assert np.array_equal(embed_array(embedder, texts[:5]), embed_array(embedder, texts[:5]))


def test_embed_returns_plain_lists_and_satisfies_the_protocol(embedder: SentenceTransformerEmbedder) -> None:
    assert isinstance(embedder, Embedder)
    vectors = embedder.embed(["hello", "world"])
    assert isinstance(vectors, list) and isinstance(vectors[0], list) and isinstance(vectors[0][0], float)
    assert embedder.embed([]) == []


def test_meaning_is_captured(embedder: SentenceTransformerEmbedder) -> None:
    food, allergy, weather = embed_array(embedder, ["I can't eat shrimp or crab", "allergic to shellfish", "sunny day"])
    assert float(food @ allergy) > float(food @ weather)


def test_bfloat16_only_where_the_cpu_multiplies_it_natively_and_reports_no_amx(tmp_path: Path) -> None:
    def cpu(flags: str) -> Path:
        path = tmp_path / "cpuinfo"
        path.write_text(f"processor\t: 0\nmodel name\t: test\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
        return path

    assert multiplies_bfloat16(cpu("fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni"))
    assert not multiplies_bfloat16(cpu("fpu sse2 avx2 fma"))  # emulated: slower than float32
    assert not multiplies_bfloat16(cpu("avx512f avx512_bf16 amx_bf16 amx_tile amx_int8"))  # may trap in a VM
    assert not multiplies_bfloat16(tmp_path / "no such file")


def test_the_model_runs_in_bfloat16_where_it_is_native_and_its_vectors_match_float32(
    embedder_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    texts = ["I am allergic to shellfish", "what food must I avoid", "Our beagle Bruno loves the beach"]
    native = SentenceTransformerEmbedder(embedder_path)
    monkeypatch.setenv(FLOAT32_SETTING, "1")
    float32 = SentenceTransformerEmbedder(embedder_path)
    assert next(float32.model.parameters()).dtype == torch.float32
    monkeypatch.delenv(FLOAT32_SETTING)
    expected = torch.bfloat16 if multiplies_bfloat16() else torch.float32
    assert next(native.model.parameters()).dtype == expected
    ours, reference = embed_array(native, texts), embed_array(float32, texts)
    assert ours.dtype == np.float32 and ours.shape == reference.shape
    assert np.all(np.sum(ours * reference, axis=1) >= 0.999)


def test_one_text_is_embedded_through_the_trace_as_encode_would(embedder: SentenceTransformerEmbedder) -> None:
    embedder.load()
    assert embedder._one_text is not None  # the bundled pipeline (transformer, mean pooling, normalize) is traced
    texts = ["When did Ingrid move to Lisbon?", "", "word " * 400, "héllo wörld, naïve café 😀", "  spaced  "]
    for text in texts:
        alone = embedder.embed_array([text])[0]  # the trace
        batched = embedder.embed_array([text, "another text, so encode pads this batch"])[0]  # encode
        assert alone.dtype == np.float32 and np.linalg.norm(alone) == pytest.approx(1.0, abs=1e-5)
        assert float(alone @ batched) >= 0.9999, text


def test_a_pipeline_the_trace_cannot_reproduce_is_embedded_through_encode(
    embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, Pooling

    from assistant.memory import query_encoder

    model = embedder.model
    first_token = SentenceTransformer(modules=[model[0], Pooling(embedder.dimension, "cls"), Normalize()], device="cpu")
    assert query_encoder.trace_query_encoder(first_token) is None
    # A trace whose vectors differ from encode's is not used either.
    monkeypatch.setattr(query_encoder, "AGREEMENT", 1.01)
    assert query_encoder.trace_query_encoder(model) is None
