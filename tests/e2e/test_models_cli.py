"""`assistant models list|add|use|remove` as a user runs them, on real GGUF files."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

STARTER = "smollm2-135m-instruct"


def _one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("assistant: error: ")
    return lines[0]


def _listed(cli) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    result = cli("models", "list", "--json")
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def _active_in_config(config: Path) -> str | None:
    if not config.exists():
        return None
    return tomllib.loads(config.read_text()).get("model")


def test_list_shows_the_catalog_with_the_bundled_starter_active(cli) -> None:
    rows = _listed(cli)
    starter = rows[STARTER]
    assert starter["source"] == "bundled" and starter["available"] and starter["active"]
    assert Path(starter["path"]).is_file()
    pullable = [row for row in rows.values() if row["source"] == "catalog"]
    assert len(pullable) >= 3
    for row in pullable:
        assert row["repo"] and row["file"].endswith(".gguf") and row["license"] and row["why"]
        assert not row["available"] and not row["active"]

    text = cli("models", "list")
    assert text.returncode == 0
    assert f"* {STARTER}" in text.stdout
    assert "assistant models pull" in text.stdout


def test_add_use_remove_round_trip(cli, starter_model_path: Path, isolated_dirs: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("# my settings\ntemperature = 0.5  # keep it calm\n")

    added = cli("models", "add", str(starter_model_path), "--name", "my-model")
    assert added.returncode == 0, added.stderr
    assert "architecture llama" in added.stdout and "chat template: yes" in added.stdout
    copy = isolated_dirs / "models" / "my-model.gguf"
    assert copy.is_file() and not copy.is_symlink()
    assert copy.stat().st_size == starter_model_path.stat().st_size
    assert (isolated_dirs.stat().st_mode & 0o777) == 0o700

    rows = _listed(cli)
    assert rows["my-model"]["source"] == "added" and rows["my-model"]["available"]
    assert not rows["my-model"]["active"]

    used = cli("models", "use", "my-model")
    assert used.returncode == 0, used.stderr
    assert _active_in_config(config) == "my-model"
    assert "# keep it calm" in config.read_text()  # the user's comments survive
    assert _listed(cli)["my-model"]["active"]

    chat = cli("chat", "Say hi.", env={"ASSISTANT_MAX_REPLY_TOKENS": "16"})
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.strip()

    removed = cli("models", "remove", "my-model")
    assert removed.returncode == 0, removed.stderr
    assert "was the active model" in removed.stdout
    assert not copy.exists()
    assert _active_in_config(config) == STARTER
    assert _listed(cli)[STARTER]["active"]


def test_add_with_link_and_name_from_file(cli, starter_model_path: Path, isolated_dirs: Path) -> None:
    result = cli("models", "add", str(starter_model_path), "--link")
    assert result.returncode == 0, result.stderr
    link = isolated_dirs / "models" / starter_model_path.name
    assert link.is_symlink() and link.resolve() == starter_model_path.resolve()
    assert _listed(cli)[starter_model_path.stem]["available"]
    assert cli("models", "remove", starter_model_path.stem).returncode == 0
    assert not link.is_symlink() and starter_model_path.exists()


def test_add_refuses_to_overwrite_without_force(cli, starter_model_path: Path) -> None:
    assert cli("models", "add", str(starter_model_path), "--name", "twice").returncode == 0
    assert "already exists" in _one_line_error(cli("models", "add", str(starter_model_path), "--name", "twice"))
    assert cli("models", "add", str(starter_model_path), "--name", "twice", "--force").returncode == 0


def test_use_a_path_stores_the_absolute_path(cli, starter_model_path: Path, tmp_path: Path) -> None:
    result = cli("models", "use", str(starter_model_path))
    assert result.returncode == 0, result.stderr
    assert _active_in_config(tmp_path / "config.toml") == str(starter_model_path.resolve())


def test_errors_are_one_line(cli, starter_model_path: Path, tmp_path: Path) -> None:
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("this is a shopping list, not a model\n" * 50)
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(starter_model_path.read_bytes()[:5_000_000])

    assert "not a GGUF" in _one_line_error(cli("models", "add", str(not_gguf)))
    assert "truncated" in _one_line_error(cli("models", "add", str(truncated)))
    assert "not found" in _one_line_error(cli("models", "add", str(tmp_path / "missing.gguf")))
    assert "unknown model" in _one_line_error(cli("models", "use", "no-such-model"))
    assert "not downloaded" in _one_line_error(cli("models", "use", "qwen3-4b-instruct-2507"))
    assert "truncated" in _one_line_error(cli("models", "use", str(truncated)))
    assert "cannot be removed" in _one_line_error(cli("models", "remove", STARTER))
    assert "no added or downloaded" in _one_line_error(cli("models", "remove", "no-such-model"))
    assert "bundled model's name" in _one_line_error(cli("models", "add", str(starter_model_path), "--name", STARTER))
    assert "invalid model name" in _one_line_error(cli("models", "add", str(starter_model_path), "--name", "../x"))
    assert not (tmp_path / "config.toml").exists()


@pytest.mark.parametrize(
    "args",
    [("models",), ("models", "bogus"), ("models", "add"), ("models", "use"), ("models", "list", "--nope")],
)
def test_usage_errors_exit_2(cli, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "Traceback" not in result.stderr
