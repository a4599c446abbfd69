"""inspect_gguf on the real starter GGUF, on files that are not GGUF and on truncated copies."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from assistant.errors import ModelError
from assistant.llm.gguf import inspect_gguf


def test_reads_the_real_starter_header(starter_model_path: Path) -> None:
    info = inspect_gguf(starter_model_path)
    assert info.version == 3
    assert info.architecture == "llama"
    assert info.context_length == 8192
    assert info.chat_template is not None and "<|im_start|>" in info.chat_template
    assert info.tensor_count > 0
    assert info.file_size == starter_model_path.stat().st_size
    assert "smollm2" in info.name.lower()


def test_accepts_a_str_path(starter_model_path: Path) -> None:
    assert inspect_gguf(str(starter_model_path)).architecture == "llama"


@pytest.mark.parametrize(
    "content",
    [b"", b"GGU", b"not a model at all\n" * 10, b"PK\x03\x04" + bytes(200), b"\x00" * 4096],
    ids=["empty", "short-magic", "text", "zip", "zeros"],
)
def test_rejects_files_that_are_not_gguf(tmp_path: Path, content: bytes) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(content)
    with pytest.raises(ModelError) as raised:
        inspect_gguf(fake)
    assert "\n" not in str(raised.value)


def test_rejects_an_unsupported_version(tmp_path: Path) -> None:
    fake = tmp_path / "future.gguf"
    fake.write_bytes(b"GGUF" + struct.pack("<IQQ", 99, 0, 0))
    with pytest.raises(ModelError, match="unsupported GGUF version 99"):
        inspect_gguf(fake)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        inspect_gguf(tmp_path / "missing.gguf")
    with pytest.raises(ModelError, match="directory"):
        inspect_gguf(tmp_path)


@pytest.fixture(scope="module")
def starter_bytes(starter_model_path: Path) -> bytes:
    return starter_model_path.read_bytes()


@pytest.mark.parametrize(
    "fraction",
    [0.0, 0.00001, 0.0005, 0.003, 0.01, 0.05, 0.25, 0.5, 0.9, 0.999],
)
def test_truncated_copies_are_rejected(tmp_path: Path, starter_bytes: bytes, fraction: float) -> None:
    # Cuts land in the magic, the metadata (vocabulary arrays), the tensor table and the tensor data.
    keep = max(1, int(len(starter_bytes) * fraction))
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(starter_bytes[:keep])
    with pytest.raises(ModelError, match="truncated|not a GGUF") as raised:
        inspect_gguf(cut)
    assert "\n" not in str(raised.value)


def test_losing_only_the_last_byte_is_detected(tmp_path: Path, starter_bytes: bytes) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(starter_bytes[:-1])
    with pytest.raises(ModelError, match="truncated"):
        inspect_gguf(cut)
