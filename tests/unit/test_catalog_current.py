"""The catalog's entries are complete, and hybrid/recurrent models are known as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.llm.architectures import append_only_cache
from assistant.llm.catalog import load_catalog


def test_every_downloadable_entry_names_a_file_size_licence_and_architecture() -> None:
    catalog = load_catalog()
    assert len(catalog) >= 8
    for entry in catalog.values():
        assert entry.file.endswith(".gguf") and entry.size_mb > 0 and entry.license and entry.why, entry.name
        assert entry.architecture, entry.name
        if not entry.bundled:
            owner, _, name = (entry.repo or "").partition("/")
            assert owner and name and "/" not in name, entry.name


def test_hybrid_and_recurrent_models_are_marked() -> None:
    catalog = load_catalog()
    marked = {name for name, entry in catalog.items() if entry.append_only_cache}
    assert {"qwen3.5-4b", "qwen3.5-2b", "granite-4.0-h-micro", "lfm2-1.2b"} <= marked
    assert not {"qwen3-4b-instruct-2507", "phi-4-mini-instruct", "smollm2-135m-instruct"} & marked
    for name in ("mamba", "rwkv7", "qwen35", "granitehybrid", "LFM2", "nemotron_h"):
        assert append_only_cache(name)
    for name in ("llama", "qwen3", "gemma3", "phi3", None, ""):
        assert not append_only_cache(name)


def test_models_list_says_what_a_hybrid_costs(cli) -> None:
    result = cli("models", "list")
    assert result.returncode == 0, result.stderr
    block = result.stdout.split("qwen3.5-2b", 1)[1].split("\n  gemma", 1)[0]
    assert "hybrid/recurrent" in block


@pytest.fixture(scope="module")
def llama(starter_model_path: Path):
    from llama_cpp import Llama

    from assistant.llm.cpu_guard import keep_llama_off_crashing_kernels

    keep_llama_off_crashing_kernels()
    return Llama(model_path=str(starter_model_path), n_ctx=512, n_threads=2, verbose=False)


def _evaluated_by_prefill(llama, first: list[int], second: list[int]) -> int:
    import threading

    from assistant.llm.chat_cache import ChatCache

    llama.reset()
    llama.eval(first)
    evaluated: list[int] = []
    real_eval = llama.eval

    def counting_eval(tokens):  # type: ignore[no-untyped-def]
        evaluated.append(len(tokens))
        return real_eval(tokens)

    llama.eval = counting_eval
    try:
        assert ChatCache().prefill(llama, second, threading.Event())
    finally:
        del llama.eval
    assert list(llama.input_ids[: llama.n_tokens]) == second[:-1]
    return sum(evaluated)


def test_prefill_starts_over_when_the_cache_cannot_be_cut_back(llama) -> None:
    """A transformer reuses the shared prefix; a recurrent state (llama.cpp's flag) is re-read from the start."""
    shared = llama.tokenize(b"The user likes tea and lives in Lisbon. " * 3, add_bos=False)
    first = shared + llama.tokenize(b"They have a cat.", add_bos=False)
    second = shared + llama.tokenize(b"They have a dog called Rex.", add_bos=False)
    from assistant.llm.chat_cache import shared_prefix

    common = shared_prefix(first, second)
    assert common >= len(shared)
    assert _evaluated_by_prefill(llama, first, second) == len(second) - 1 - common
    llama._is_hybrid = True  # what llama.cpp reports for a hybrid model such as Qwen3.5
    try:
        assert _evaluated_by_prefill(llama, first, second) == len(second) - 1
        # Appending to the previous prompt still reuses it.
        assert _evaluated_by_prefill(llama, first, first + second) == len(first + second) - 1 - len(first)
    finally:
        llama._is_hybrid = False
