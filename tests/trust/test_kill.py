"""SIGKILL the real CLI at seeded random points during import, chat learning, compression, decay and forget,
and a process whose turn the scheduler had queued for learning.

After every kill the store must open without repair, hold every acknowledged write exactly
once and have no half-applied supersede, archive or forget. CI runs TRUST_KILL_POINTS points
per operation (default 4); benchmarks/trust_report.py runs many more
(`--kill-points 24`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kill_campaign import CAMPAIGNS

POINTS = int(os.environ.get("TRUST_KILL_POINTS", "4"))
SEED = int(os.environ.get("TRUST_SEED", "20261121"))


@pytest.mark.slow
@pytest.mark.parametrize("operation", sorted(CAMPAIGNS))
def test_kills_never_lose_or_half_apply_a_write(operation: str, tmp_path: Path, isolated_dirs: Path) -> None:
    campaign = CAMPAIGNS[operation](tmp_path, isolated_dirs / "memory", points=POINTS, seed=SEED)
    assert campaign.failures == [], campaign.failures
    assert campaign.lost == 0
    # Each point has fresh work of its own: nearly every kill lands among its writes.
    assert campaign.injected >= max(1, POINTS - POINTS // 4), campaign
    assert campaign.survived == campaign.injected
    if operation == "maintain" and POINTS >= 2:
        assert campaign.phases["compression"] and campaign.phases["decay"], campaign.phases
    if operation == "chat":
        assert campaign.phases["learning"], campaign.phases
    if operation == "learning queue":
        # Most kills land before the learning finished; the next start finished every one.
        assert campaign.phases["learning pending"], campaign.phases
