"""A model file's control tokens are read from its vocabulary once, then from the cache, until the file changes.

Real vocabulary-only GGUF files (vocab_gguf.py) opened by llama.cpp; the cache lives in the
test's own data dir (conftest.py points ASSISTANT_DATA_DIR there).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from vocab_gguf import FAMILIES, write_vocab

from assistant import locations
from assistant.llm import control_cache
from assistant.llm.prompt_format import ControlTokens, PromptFormat


def open_vocab(path: Path):
    from llama_cpp import Llama

    return Llama(model_path=str(path), vocab_only=True, verbose=False)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the vocabulary itself was scanned."""
    calls: list[int] = []
    scan = ControlTokens.from_llama.__func__  # type: ignore[attr-defined]

    def counting(cls, llama):
        calls.append(1)
        return scan(cls, llama)

    monkeypatch.setattr(ControlTokens, "from_llama", classmethod(counting))
    return calls


def test_scanned_once_then_cached_with_the_same_tokens(tmp_path: Path, counted: list[int]) -> None:
    path = write_vocab(FAMILIES["gemma"], tmp_path)
    llama = open_vocab(path)
    first = ControlTokens.of_model_file(llama, path)
    again = ControlTokens.of_model_file(llama, path)
    assert len(counted) == 1
    assert again.texts == first.texts == ControlTokens.from_llama(llama).texts
    assert {"<start_of_turn>", "<end_of_turn>", "<start_of_image>"} <= again.texts
    entries = list((locations.cache_dir() / "control-tokens").glob("*.json"))
    assert len(entries) == 1 and entries[0].stat().st_mode & 0o077 == 0
    assert entries[0].parent.stat().st_mode & 0o777 == 0o700


def test_a_changed_model_file_is_scanned_again(tmp_path: Path, counted: list[int]) -> None:
    path = write_vocab(FAMILIES["gemma"], tmp_path)
    gemma = ControlTokens.of_model_file(open_vocab(path), path)
    # Another vocabulary in the same place (a model re-downloaded or swapped under the same name).
    os.replace(write_vocab(FAMILIES["chatml"], tmp_path), path)
    chatml = ControlTokens.of_model_file(open_vocab(path), path)
    assert len(counted) == 2
    assert "<|im_start|>" in chatml.texts and "<start_of_turn>" not in chatml.texts
    assert "<start_of_turn>" in gemma.texts
    # Same contents, touched: the modification time alone invalidates the entry.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    ControlTokens.of_model_file(open_vocab(path), path)
    assert len(counted) == 3


def test_another_llama_cpp_reads_the_vocabulary_afresh(tmp_path: Path) -> None:
    path = write_vocab(FAMILIES["phi"], tmp_path)
    control_cache.save(path, "0.3.1", ["<|end|>"])
    assert control_cache.load(path, "0.3.1") == ["<|end|>"]
    assert control_cache.load(path, "0.3.2") is None


@pytest.mark.parametrize("damage", ["", "{not json", '{"key": 1, "texts": "x"}', "[]"])
def test_a_damaged_entry_is_scanned_again(tmp_path: Path, counted: list[int], damage: str) -> None:
    path = write_vocab(FAMILIES["mistral"], tmp_path)
    llama = open_vocab(path)
    expected = ControlTokens.of_model_file(llama, path).texts
    (entry,) = (locations.cache_dir() / "control-tokens").glob("*.json")
    entry.write_text(damage, encoding="utf-8")
    assert ControlTokens.of_model_file(llama, path).texts == expected
    assert len(counted) == 2
    assert ControlTokens.of_model_file(llama, path).texts == expected  # written again, whole
    assert len(counted) == 2


def test_an_unwritable_cache_only_costs_the_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_vocab(FAMILIES["llama3"], tmp_path)
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the cache dir would be")
    monkeypatch.setattr(locations, "cache_dir", lambda: blocked)
    fmt = PromptFormat.for_model(open_vocab(path), FAMILIES["llama3"].template, path)
    assert "<|eot_id|>" in fmt.control.texts
    (eot,) = fmt.tokenize_prompt("<|eot_id|>")
    assert eot not in fmt.tokenize_prompt(fmt.control.defuse("<|eot_id|>"))  # still defused
