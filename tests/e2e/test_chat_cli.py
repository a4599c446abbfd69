"""`assistant chat` with the real starter model, and every error a user can hit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant import __version__

SHORT_REPLY = {"ASSISTANT_MAX_REPLY_TOKENS": "24"}


def _one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("assistant: error: ")
    return lines[0]


def test_chat_prints_a_reply(cli) -> None:
    result = cli("chat", "Give me three tips for remembering names", env=SHORT_REPLY)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) > 10
    assert result.stderr == ""  # llama.cpp's own output goes to the log file, not the terminal


def test_chat_reads_the_message_from_stdin(cli, isolated_dirs: Path) -> None:
    result = cli("chat", input="What colour is the sky on a clear day?\n", env=SHORT_REPLY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert (isolated_dirs / "logs" / "llama.log").exists()


def test_chat_with_model_path(cli, starter_model_path: Path) -> None:
    result = cli("chat", "--model", str(starter_model_path), "Say hello.", env=SHORT_REPLY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_missing_model(cli, tmp_path: Path) -> None:
    assert "not found" in _one_line_error(cli("chat", "--model", str(tmp_path / "gone.gguf"), "hi"))
    assert "unknown model" in _one_line_error(cli("chat", "--model", "no-such-model", "hi"))
    assert "not downloaded" in _one_line_error(cli("chat", "--model", "gemma-4-e2b-it", "hi"))


def test_file_that_is_not_gguf(cli, tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"PK\x03\x04 this is a zip file, not a model" * 100)
    assert "not a GGUF" in _one_line_error(cli("chat", "--model", str(fake), "hi"))


@pytest.mark.parametrize("keep", [4, 100, 2_000_000, -1000])
def test_truncated_gguf(cli, starter_model_path: Path, tmp_path: Path, keep: int) -> None:
    data = starter_model_path.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[:keep])
    assert "truncated" in _one_line_error(cli("chat", "--model", str(cut), "hi"))


def test_prompt_longer_than_the_context(cli) -> None:
    long_message = "Count the words in this text: " + " ".join(f"word{i} and more words" for i in range(600))
    result = cli("chat", input=long_message, env={"ASSISTANT_CONTEXT_SIZE": "512"})
    message = _one_line_error(result)
    assert "context" in message and "tokens" in message


def test_empty_message(cli) -> None:
    assert "empty" in _one_line_error(cli("chat", input="   \n"))


def test_bad_setting_is_one_line(cli) -> None:
    assert "context_size" in _one_line_error(cli("chat", "hi", env={"ASSISTANT_CONTEXT_SIZE": "lots"}))


def test_usage_error_exits_2(cli) -> None:
    result = cli("chat", "--no-such-flag", "hi")
    assert result.returncode == 2 and "usage:" in result.stderr


def test_version(cli) -> None:
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"assistant {__version__}"


def test_console_script_version() -> None:
    script = Path(sys.executable).parent / "assistant"
    assert script.exists(), "the `assistant` console script is not installed in this environment"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"assistant {__version__}"
