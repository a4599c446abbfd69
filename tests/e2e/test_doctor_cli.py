"""`assistant doctor` on a healthy install and on each kind of breakage it must report."""

from __future__ import annotations

import json
from pathlib import Path


def _checks(result) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    report = json.loads(result.stdout)
    return {check["name"]: check for check in report["checks"]}


def test_healthy_install(cli, isolated_dirs: Path) -> None:
    result = cli("doctor", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["versions"]["llama-cpp-python"] and report["versions"]["lancedb"]
    assert report["paths"]["data"] == str(isolated_dirs)
    checks = _checks(result)
    assert checks["chat model"]["data"]["architecture"] == "llama"
    assert checks["chat model"]["data"]["chat_template"] is True
    assert checks["embedder"]["data"]["dimension"] == 384
    generation = checks["generation"]["data"]
    assert generation["tokens"] > 0 and generation["tokens_per_second"] > 0
    assert "Traceback" not in result.stderr


def test_text_report(cli) -> None:
    result = cli("doctor", "--quick")
    assert result.returncode == 0, result.stderr
    for expected in ("versions", "paths", "checks", "chat model", "embedder", "all good"):
        assert expected in result.stdout


def test_broken_model_exits_1_with_a_fix(cli, starter_model_path: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(starter_model_path.read_bytes()[:3_000_000])
    result = cli("doctor", "--json", env={"ASSISTANT_MODEL": str(truncated)})
    assert result.returncode == 1
    assert not _checks(result)["chat model"]["ok"]
    fixes = result.stderr.strip().splitlines()
    assert len(fixes) == 1 and "truncated" in fixes[0] and "assistant models use" in fixes[0]


def test_world_readable_data_dir_is_a_problem(cli, isolated_dirs: Path) -> None:
    isolated_dirs.mkdir(mode=0o755)
    isolated_dirs.chmod(0o755)
    result = cli("doctor", "--quick")
    assert result.returncode == 1
    assert f"chmod 700 {isolated_dirs}" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_config_and_missing_embedder(cli, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("context_size = 'big'\n")
    result = cli("doctor", "--quick")
    assert result.returncode == 1 and "context_size" in result.stderr

    (tmp_path / "config.toml").write_text(f"embedder = '{tmp_path / 'no-such-folder'}'\n")
    result = cli("doctor", "--quick")
    assert result.returncode == 1 and "embedder" in result.stderr
    assert "Traceback" not in result.stderr
