"""The install smoke test: build the wheel, pipx-install it into a temporary home, run it offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "packaging" / "smoke_test.sh"


@pytest.mark.slow
def test_wheel_installs_with_pipx_and_runs_offline() -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=3600)
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert "== smoke test passed" in result.stdout
    assert "catalog included" in result.stdout  # models/catalog.toml is inside the wheel
    assert "all good" in result.stdout  # doctor of the installed app found nothing broken
