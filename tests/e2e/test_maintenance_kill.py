"""SIGKILL `memory maintain` at several write checkpoints: the store stays consistent, a rerun completes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from evalset import build_evalset  # noqa: E402

# Small batches so there are many checkpoints: 1-3 fall in the first batch of compression
# (summaries, archive audits, archive), later ones in later batches, decay and index upkeep.
KILL_POINTS = (1, 2, 4, 8)
# The kill point and the batch size are set from the test side, by a launcher around the real CLI.
LAUNCHER = Path(__file__).resolve().parents[1] / "cli_with_maintenance_hooks.py"


def maintain_killed_at_write(kill_at: int) -> subprocess.CompletedProcess:
    command = [sys.executable, str(LAUNCHER), "--kill-at-write", str(kill_at), "--write-batch", "3", "--"]
    return subprocess.run([*command, "memory", "maintain", "--no-model"], capture_output=True, text=True, timeout=600)


def listing(cli) -> list[dict]:
    result = cli("memory", "list", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def check_consistent(memories: list[dict], message_ids: set[str]) -> None:
    summaries = [m for m in memories if m["kind"] == "summary"]
    assert len({s["id"] for s in summaries}) == len(summaries), "duplicate summaries"
    covered: dict[str, str] = {}
    for summary in summaries:
        for source in summary["sources"]:
            assert source not in covered, f"message {source} is in two summaries"
            covered[source] = summary["id"]
    episodes = [m for m in memories if m["kind"] == "episodic"]
    assert {source for m in episodes for source in m["sources"]} == message_ids, "a message was lost"
    for memory in episodes:
        if memory["status"] == "archived":
            # Decay may archive a message on its own; compression never archives without a summary.
            assert all(s in covered for s in memory["sources"]) or memory["strength"] < 0.05, memory


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_kill_during_maintenance_leaves_a_consistent_store(cli, tmp_path: Path, kill_at: int) -> None:
    evalset = build_evalset(sessions=6, seed=11)
    source = tmp_path / "messages.jsonl"
    source.write_text("".join(json.dumps(m) + "\n" for m in evalset.messages), encoding="utf-8")
    assert cli("memory", "import", str(source)).returncode == 0
    message_ids = {m["id"] for m in evalset.messages}

    killed = maintain_killed_at_write(kill_at)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)
    check_consistent(listing(cli), message_ids)  # the store opens and nothing is duplicated or lost

    rerun = cli("memory", "maintain", "--no-model", "--json")
    assert rerun.returncode == 0, rerun.stderr
    memories = listing(cli)
    check_consistent(memories, message_ids)
    summaries = {m["id"]: m for m in memories if m["kind"] == "summary"}
    covered = {source for summary in summaries.values() for source in summary["sources"]}
    for memory in memories:
        if memory["kind"] == "episodic" and set(memory["sources"]) & covered:
            assert memory["status"] == "archived", f"{memory['id']} is summarised but still active"

    final = cli("memory", "maintain", "--no-model", "--json")
    assert final.returncode == 0, final.stderr
    report = json.loads(final.stdout)["compress"]
    assert report["summaries"] == [] and report["archived"] == [] and report["resumed"] == 0
