"""The machinery of the SIGKILL campaigns: kill a real process among its writes, then check the store.

A kill point is "after the Nth new file appears under the memory store (counted from the
start, or from an output marker), plus a short random delay": every LanceDB commit writes
files, so this lands among real writes rather than during model loading. After each kill
the store must open without repair, hold every acknowledged write exactly once, and have
no half-applied supersede, archive or forget (`store_problems`).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Run:
    killed: bool
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Campaign:
    operation: str
    injected: int = 0
    survived: int = 0
    completed_first: int = 0
    lost: int = 0
    phases: Counter = field(default_factory=Counter)  # injected faults by what was being written
    failures: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        self.failures.append(f"{self.operation}: {problem}")

    def hit(self, phase: str) -> None:
        self.injected += 1
        self.phases[phase] += 1


def files_under(folder: Path) -> set[str]:
    found: set[str] = set()
    for root, _dirs, names in os.walk(folder):
        found.update(os.path.join(root, name) for name in names)
    return found


def _pump(stream, sink: list[bytes]) -> None:
    for chunk in iter(lambda: stream.read1(65536), b""):
        sink.append(chunk)


def run_killed(
    command: list[str],
    memory_dir: Path,
    *,
    after_files: int,
    delay: float,
    after_output: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 900,
) -> Run:
    """Start `command`; SIGKILL it once `after_files` new files exist under `memory_dir` and `delay` passed.

    With `after_output`, files count only from when that text appears on the command's stdout.
    """
    before = files_under(memory_dir)
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}
    )
    out: list[bytes] = []
    err: list[bytes] = []
    readers = [
        threading.Thread(target=_pump, args=(process.stdout, out), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    killed = False
    armed = after_output is None
    while process.poll() is None and time.monotonic() < deadline:
        if not armed:
            armed = after_output.encode() in b"".join(out)  # type: ignore[union-attr]
            if armed:
                before |= seen  # count only what is written from now on
                seen = set()
        seen |= files_under(memory_dir) - before
        if armed and len(seen) >= after_files:
            if delay:
                time.sleep(delay)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                killed = True
            break
        time.sleep(0.003)
    if process.poll() is None and not killed:
        process.kill()
        raise TimeoutError(f"{command} ran longer than {timeout}s")
    returncode = process.wait()
    for reader in readers:
        reader.join(timeout=10)
    decode = lambda chunks: b"".join(chunks).decode("utf-8", "replace")  # noqa: E731
    return Run(killed and returncode == -signal.SIGKILL, returncode, decode(out), decode(err))


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "assistant", *args]


# -- setting up work without the app under test -------------------------------------------------


@functools.cache
def _embedder():
    from assistant.config import load_settings
    from assistant.memory.embed import open_embedder

    return open_embedder(load_settings().embedder)


def seed_store(memory_dir: Path, records: list[dict]) -> None:
    """Import `records` in this process: setting up a point's work, not a write under test."""
    from assistant.config import load_settings
    from assistant.memory.engine import MemoryEngine

    with MemoryEngine.open(load_settings(), embedder=_embedder(), path=memory_dir) as engine:
        report = engine.import_jsonl(json.dumps(record) + "\n" for record in records)
    if report.bad_lines or report.imported != len(records):
        raise RuntimeError(f"seeding the store failed: {report}")


# -- reading the store without the app --------------------------------------------------------


def read_table(memory_dir: Path, name: str) -> list[dict]:
    import lancedb

    db = lancedb.connect(str(memory_dir))
    if name not in set(getattr(db.list_tables(), "tables", None) or db.table_names()):
        return []
    table = db.open_table(name)
    columns = [column for column in table.schema.names if column != "vector"]
    return table.search().select(columns).limit(max(table.count_rows(), 1)).to_arrow().to_pylist()


def store_problems(memory_dir: Path) -> list[str]:
    """Every way the store breaks the engine's promises; empty when it is sound."""
    from assistant.memory.repair import check_store

    problems = [f"{h.name} needs repair: {h.problem}" for h in check_store(memory_dir) if not h.ok]
    if problems:
        return problems
    memories = read_table(memory_dir, "memories")
    messages = read_table(memory_dir, "messages")
    conversations = read_table(memory_dir, "conversations")
    for name, rows in (("memories", memories), ("messages", messages), ("conversations", conversations)):
        duplicated = [key for key, count in Counter((r["owner"], r["id"]) for r in rows).items() if count > 1]
        if duplicated:
            problems.append(f"duplicated {name}: {duplicated[:3]}")
    by_id = {m["id"]: m for m in memories}
    # A stored message means its whole batch was stored: its episodic memory and its conversation too.
    known_conversations = {(c["owner"], c["id"]) for c in conversations}
    unindexed = [m["id"] for m in messages if f"ep-{m['id']}" not in by_id]
    if unindexed:
        problems.append(f"{len(unindexed)} messages without their episodic memory, e.g. {unindexed[:3]}")
    orphans = [m["id"] for m in messages if (m["owner"], m["conversation_id"]) not in known_conversations]
    if orphans:
        problems.append(f"{len(orphans)} messages without their conversation, e.g. {orphans[:3]}")
    for memory in memories:
        if memory["status"] == "superseded":
            successor, hops = by_id.get(memory["superseded_by"] or ""), 0
            while successor is not None and successor["status"] == "superseded" and hops < 50:
                successor, hops = by_id.get(successor["superseded_by"] or ""), hops + 1
            if successor is None:
                problems.append(f"superseded memory {memory['id']} has no successor")
    covered: dict[str, str] = {}
    for summary in (m for m in memories if m["kind"] == "summary"):
        for source in summary["sources"] or []:
            if source in covered:
                problems.append(f"message {source} is in two summaries")
            covered[source] = summary["id"]
    archived_episodes = [m for m in memories if m["kind"] == "episodic" and m["status"] == "archived"]
    if archived_episodes:
        # Compression and decay write the archive audit (with its reason) before the archive itself.
        reasons: dict[str, set[str]] = {}
        for entry in read_table(memory_dir, "audit"):
            if entry["action"] == "archive":
                reasons.setdefault(entry["memory_id"], set()).add((entry["reason"] or "").split(":")[0])
        unaudited = [m["id"] for m in archived_episodes if m["id"] not in reasons]
        if unaudited:
            problems.append(f"{len(unaudited)} episodes archived without an audit entry, e.g. {unaudited[:3]}")
        for memory in archived_episodes:
            summarised = all(s in covered for s in memory["sources"] or [])
            if not summarised and "decayed" not in reasons.get(memory["id"], set()):
                problems.append(f"episode {memory['id']} archived without a summary and not by decay")
    return problems


def summarised_but_active(memory_dir: Path) -> list[str]:
    memories = read_table(memory_dir, "memories")
    covered = {s for m in memories if m["kind"] == "summary" for s in m["sources"] or []}
    return [
        m["id"]
        for m in memories
        if m["kind"] == "episodic" and m["status"] == "active" and set(m["sources"] or []) & covered
    ]


def message_ids(memory_dir: Path) -> set[str]:
    return {row["id"] for row in read_table(memory_dir, "messages")}


def bytes_contain(folder: Path, needle: bytes) -> list[str]:
    hits = []
    for name in files_under(folder):
        try:
            if needle in Path(name).read_bytes():
                hits.append(name)
        except OSError:
            continue
    return hits


# -- the campaigns -------------------------------------------------------------------------------


def check_after_kill(
    campaign: Campaign, memory_dir: Path, expected_messages: set[str], problems: list[str] | None = None
) -> None:
    problems = [*(problems or []), *store_problems(memory_dir)]
    missing = expected_messages - message_ids(memory_dir)
    if missing:
        campaign.lost += len(missing)
        problems.append(f"{len(missing)} acknowledged messages lost, e.g. {sorted(missing)[:3]}")
    if problems:
        campaign.fail("; ".join(problems))
    else:
        campaign.survived += 1
