"""`assistant models pull` against a local HTTP server standing in for the Hugging Face hub
(`fake_hub.py`), serving the real starter GGUF.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from fake_hub import FakeHub, HubFile

PULL_NAME = "smollm2-1.7b-instruct"


@pytest.fixture(scope="session")
def starter_bytes(starter_model_path: Path) -> bytes:
    return starter_model_path.read_bytes()


def _serve_starter_as_pull_target(hub: FakeHub, content: bytes, **options: object) -> str:
    from assistant.llm.catalog import load_catalog

    entry = load_catalog()[PULL_NAME]
    sha = hashlib.sha256(content).hexdigest()
    hub.files[f"{entry.repo}/{entry.file}"] = HubFile(content=content, etag=sha, **options)  # type: ignore[arg-type]
    return sha


def _installed(data_dir: Path) -> Path:
    return data_dir / "models" / f"{PULL_NAME}.gguf"


def _one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_pull_downloads_verifies_and_makes_the_model_usable_by_name(
    cli, hub: FakeHub, starter_bytes: bytes, isolated_dirs: Path
) -> None:
    sha = _serve_starter_as_pull_target(hub, starter_bytes)
    # HF_HUB_OFFLINE=1 is set for the whole test session: pull must lift it for itself.
    result = cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": hub.endpoint, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert "sha256 verified" in result.stdout
    target = _installed(isolated_dirs)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == sha
    assert [request[2] for request in hub.gets()] == [None]
    assert not list((isolated_dirs / "models" / ".partial").iterdir())

    listed = {row["name"]: row for row in json.loads(cli("models", "list", "--json").stdout)}
    assert listed[PULL_NAME]["available"] and listed[PULL_NAME]["source"] == "pulled"

    chat = cli("chat", "--model", PULL_NAME, "Say hello.", env={"ASSISTANT_MAX_REPLY_TOKENS": "16"})
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.strip()

    again = cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": hub.endpoint})
    assert again.returncode == 0 and "already downloaded" in again.stdout
    assert len(hub.gets()) == 1


def test_interrupted_download_resumes_with_a_range_request(
    cli, hub: FakeHub, starter_bytes: bytes, isolated_dirs: Path
) -> None:
    cut = len(starter_bytes) // 3
    sha = _serve_starter_as_pull_target(hub, starter_bytes, drop_first_get_after=cut)
    result = cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": hub.endpoint})
    assert result.returncode == 0, result.stderr
    gets = hub.gets()
    assert gets[0][2] is None
    # The client keeps whole chunks it received before the cut and asks for the rest.
    resumed_at = int(gets[1][2].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= cut, gets
    assert hashlib.sha256(_installed(isolated_dirs).read_bytes()).hexdigest() == sha


def test_pull_that_fails_midway_resumes_in_the_next_run(
    cli, hub: FakeHub, starter_bytes: bytes, isolated_dirs: Path
) -> None:
    cut = len(starter_bytes) // 2
    sha = _serve_starter_as_pull_target(hub, starter_bytes, drop_first_get_after=cut, fail_after_drop_with=503)
    first = cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": hub.endpoint})
    assert "503" in _one_line_error(first)
    assert not _installed(isolated_dirs).exists()
    partial = isolated_dirs / "models" / ".partial" / f"{PULL_NAME}.gguf.part"
    kept = partial.stat().st_size
    assert 0 < kept <= cut

    hub.files[next(iter(hub.files))].fail_after_drop_with = None
    hub.requests.clear()
    second = cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": hub.endpoint})
    assert second.returncode == 0, second.stderr
    assert "resuming at" in second.stdout
    assert [request[2] for request in hub.gets()] == [f"bytes={kept}-"]
    assert hashlib.sha256(_installed(isolated_dirs).read_bytes()).hexdigest() == sha
    assert not partial.exists()


def test_corrupt_download_is_rejected_and_deleted(cli, hub: FakeHub, starter_bytes: bytes, isolated_dirs: Path) -> None:
    corrupted = bytearray(starter_bytes)
    corrupted[len(corrupted) // 2] ^= 0xFF
    _serve_starter_as_pull_target(hub, starter_bytes)
    hub.files[next(iter(hub.files))].content = bytes(corrupted)  # same size, same claimed sha256
    result = cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": hub.endpoint})
    assert "corrupt" in _one_line_error(result)
    assert not _installed(isolated_dirs).exists()
    assert not (isolated_dirs / "models" / ".partial" / f"{PULL_NAME}.gguf.part").exists()


def test_pull_errors_are_one_line(cli, hub: FakeHub) -> None:
    assert "unknown model" in _one_line_error(cli("models", "pull", "no-such-model"))
    assert "bundled" in _one_line_error(cli("models", "pull", "smollm2-135m-instruct"))
    assert "not found" in _one_line_error(cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": hub.endpoint}))

    closed_port = hub.endpoint.rsplit(":", 1)[0] + ":9"  # discard port: nothing listens there
    unreachable = cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": closed_port})
    assert _one_line_error(unreachable).startswith("assistant: error: cannot reach the model hub")

    usage = cli("models", "pull")
    assert usage.returncode == 2
