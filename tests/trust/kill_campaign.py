"""SIGKILL the real CLI at seeded random points while it writes, then check the store.

A kill point is "after the Nth new file appears under the memory store, plus a random
delay": every LanceDB commit writes files, so this lands in the middle of real writes
rather than during model loading. Shared by tests/trust/test_kill.py (few points) and
benchmarks/trust_report.py (many points).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from trust_helpers import write_messages

IMPORT_DRIVER = """
import sys
from pathlib import Path
from assistant.config import load_settings
from assistant.memory.engine import MemoryEngine
engine = MemoryEngine.open(load_settings())
engine.import_file(Path(sys.argv[1]), progress=lambda done, total: print(done, flush=True))
print("done", flush=True)
"""


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
    failures: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        self.failures.append(f"{self.operation}: {problem}")


def _files(folder: Path) -> set[str]:
    found: set[str] = set()
    for root, _dirs, names in os.walk(folder):
        found.update(os.path.join(root, name) for name in names)
    return found


def run_killed(
    command: list[str],
    memory_dir: Path,
    *,
    after_files: int,
    delay: float,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> Run:
    """Start `command`; SIGKILL it once `after_files` new files exist under `memory_dir` and `delay` passed."""
    before = _files(memory_dir)
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    )
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=lambda: out.append(process.stdout.read()), daemon=True),  # type: ignore[union-attr]
        threading.Thread(target=lambda: err.append(process.stderr.read()), daemon=True),  # type: ignore[union-attr]
    ]
    for reader in readers:
        reader.start()
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    killed = False
    while process.poll() is None and time.monotonic() < deadline:
        seen |= _files(memory_dir) - before
        if len(seen) >= after_files:
            time.sleep(delay)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                killed = True
            break
        time.sleep(0.005)
    if process.poll() is None and not killed:
        process.kill()
        raise TimeoutError(f"{command} ran longer than {timeout}s")
    returncode = process.wait()
    for reader in readers:
        reader.join(timeout=10)
    return Run(killed and returncode == -signal.SIGKILL, returncode, "".join(out), "".join(err))


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "assistant", *args]


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
    for name, rows in (
        ("memories", memories),
        ("messages", messages),
        ("conversations", read_table(memory_dir, "conversations")),
    ):
        duplicated = [key for key, count in Counter((r["owner"], r["id"]) for r in rows).items() if count > 1]
        if duplicated:
            problems.append(f"duplicated {name}: {duplicated[:3]}")
    by_id = {m["id"]: m for m in memories}
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
    for memory in memories:
        if memory["kind"] == "episodic" and memory["status"] == "archived":
            sources = memory["sources"] or []
            if not all(s in covered for s in sources) and (memory["strength"] or 0) >= 0.05:
                problems.append(f"episode {memory['id']} archived without a summary")
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
    for name in _files(folder):
        try:
            if needle in Path(name).read_bytes():
                hits.append(name)
        except OSError:
            continue
    return hits


# -- the campaigns -------------------------------------------------------------------------------


def _check(campaign: Campaign, memory_dir: Path, expected_messages: set[str]) -> None:
    problems = store_problems(memory_dir)
    missing = expected_messages - message_ids(memory_dir)
    if missing:
        campaign.lost += len(missing)
        problems.append(f"{len(missing)} acknowledged messages lost, e.g. {sorted(missing)[:3]}")
    if problems:
        campaign.fail("; ".join(problems))
    else:
        campaign.survived += 1


def import_campaign(work: Path, memory_dir: Path, *, points: int, seed: int, messages: int = 2500) -> Campaign:
    """Kill a large import repeatedly; each restart resumes, acknowledged batches are never lost."""
    rng = random.Random(seed)
    campaign = Campaign("memory import")
    source = write_messages(work / "large.jsonl", messages, seed=seed, prefix="imp")
    ends, offset = [], 0
    ids = []
    for line in source.read_text(encoding="utf-8").splitlines(keepends=True):
        offset += len(line.encode("utf-8"))
        ends.append(offset)
        ids.append(json.loads(line)["id"])
    acknowledged: set[str] = set()
    for _ in range(points):
        run = run_killed(
            [sys.executable, "-c", IMPORT_DRIVER, str(source)],
            memory_dir,
            after_files=rng.randint(1, 30),
            delay=rng.uniform(0, 0.4),
        )
        for line in run.stdout.splitlines():
            if line.strip().isdigit():
                done = int(line)
                acknowledged |= {i for i, end in zip(ids, ends, strict=True) if end <= done}
        if not run.killed:
            if run.returncode != 0:
                campaign.fail(f"exit {run.returncode}: {run.stderr[-300:]}")
            campaign.completed_first += 1
            continue
        campaign.injected += 1
        _check(campaign, memory_dir, acknowledged)
    final = subprocess.run([sys.executable, "-c", IMPORT_DRIVER, str(source)], capture_output=True, text=True)
    if final.returncode != 0:
        campaign.fail(f"the import did not finish after the kills: {final.stderr[-300:]}")
    _check(campaign, memory_dir, set(ids))
    campaign.survived -= 1  # the final check is not a fault
    if len(read_table(memory_dir, "messages")) != len(ids):
        campaign.fail(f"{len(read_table(memory_dir, 'messages'))} messages stored, expected {len(ids)}")
    return campaign


CHAT_MESSAGES = (
    "My sister is called Ana and she lives in Porto.",
    "I live in Lisbon.",
    "Actually I moved to Berlin last month.",
    "I am allergic to peanuts.",
    "My favourite colour is green.",
    "My favourite colour is blue now.",
    "remember that my dentist is Dr. Silva",
    "I work as a nurse at the city hospital.",
)


def chat_campaign(work: Path, memory_dir: Path, *, points: int, seed: int) -> Campaign:
    """Kill `assistant chat` while it stores the exchange and learns from it."""
    rng = random.Random(seed)
    campaign = Campaign("chat learning")
    acknowledged: set[str] = set()
    for number in range(points):
        text = CHAT_MESSAGES[number % len(CHAT_MESSAGES)]
        run = run_killed(
            cli_command("chat", text), memory_dir, after_files=rng.randint(1, 14), delay=rng.uniform(0, 0.3)
        )
        stored = {row["content"]: row["id"] for row in read_table(memory_dir, "messages") if row["role"] == "user"}
        if run.stdout.endswith("\n"):  # the reply was printed in full: the exchange is acknowledged
            if text not in stored:
                campaign.lost += 1
                campaign.fail(f"acknowledged message {text!r} is not stored")
            else:
                acknowledged.add(stored[text])
        if not run.killed:
            if run.returncode != 0:
                campaign.fail(f"exit {run.returncode}: {run.stderr[-300:]}")
            campaign.completed_first += 1
            continue
        campaign.injected += 1
        _check(campaign, memory_dir, acknowledged)
    return campaign


def maintain_campaign(work: Path, memory_dir: Path, *, points: int, seed: int) -> Campaign:
    """Kill `memory maintain` (compression and decay) repeatedly; a final run completes the work."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from evalset import build_evalset

    rng = random.Random(seed)
    campaign = Campaign("memory maintain")
    evalset = build_evalset(sessions=6, seed=seed)
    source = work / "old.jsonl"
    source.write_text("".join(json.dumps(m) + "\n" for m in evalset.messages), encoding="utf-8")
    subprocess.run(cli_command("memory", "import", str(source)), check=True, capture_output=True)
    everything = {m["id"] for m in evalset.messages}
    env = {"ASSISTANT_MAINTENANCE_WRITE_BATCH": "3"}
    for _ in range(points):
        run = run_killed(
            cli_command("memory", "maintain", "--no-model"),
            memory_dir,
            after_files=rng.randint(1, 40),
            delay=rng.uniform(0, 0.3),
            env=env,
        )
        if not run.killed:
            if run.returncode != 0:
                campaign.fail(f"exit {run.returncode}: {run.stderr[-300:]}")
            campaign.completed_first += 1
            continue
        campaign.injected += 1
        _check(campaign, memory_dir, everything)
    final = subprocess.run(
        cli_command("memory", "maintain", "--no-model"), capture_output=True, text=True, env={**os.environ, **env}
    )
    if final.returncode != 0:
        campaign.fail(f"maintain did not finish after the kills: {final.stderr[-300:]}")
    left = summarised_but_active(memory_dir)
    if left:
        campaign.fail(f"half-applied compression: {left[:3]} summarised but still active")
    if store_problems(memory_dir):
        campaign.fail("; ".join(store_problems(memory_dir)))
    return campaign


def forget_campaign(work: Path, memory_dir: Path, *, points: int, seed: int) -> Campaign:
    """Kill `memory forget`; an acknowledged forget leaves no byte of the text on disk."""
    rng = random.Random(seed)
    campaign = Campaign("memory forget")
    source = write_messages(work / "forget.jsonl", max(points, 1) * 2, seed=seed, prefix="fg")
    lines = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    for record in lines:
        record["content"] = f"{record['content']} secret-token-{record['id']}"
    source.write_text("".join(json.dumps(record) + "\n" for record in lines), encoding="utf-8")
    subprocess.run(cli_command("memory", "import", str(source)), check=True, capture_output=True)
    remaining = {record["id"] for record in lines}
    for number in range(points):
        target = lines[number]["id"]
        run = run_killed(
            cli_command("memory", "forget", f"ep-{target}"),
            memory_dir,
            after_files=rng.randint(1, 16),
            delay=rng.uniform(0, 0.3),
        )
        needle = f"secret-token-{target}".encode()
        if run.stdout.startswith("forgot 1"):
            remaining.discard(target)
            hits = bytes_contain(memory_dir.parent, needle)
            if hits:
                campaign.fail(f"acknowledged forget of {target} left its text in {hits[:2]}")
        if not run.killed:
            campaign.completed_first += 1
            continue
        campaign.injected += 1
        stored = message_ids(memory_dir)
        episodes = {row["id"] for row in read_table(memory_dir, "memories")}
        if target in stored and f"ep-{target}" not in episodes:
            campaign.fail(f"half-applied forget of {target}: its message is kept but its memory is gone")
        _check(campaign, memory_dir, remaining - {lines[n]["id"] for n in range(number + 1)})
        if f"ep-{target}" in episodes:
            # The user sees the memory still there and forgets it again: that must finish the job.
            again = subprocess.run(cli_command("memory", "forget", f"ep-{target}"), capture_output=True, text=True)
            if again.returncode != 0 or bytes_contain(memory_dir.parent, needle):
                campaign.fail(f"forgetting {target} again did not remove it: {again.stderr[-300:]}")
        elif bytes_contain(memory_dir.parent, needle):
            # Killed after the rows went but before the purge: the next forget purges old versions.
            spare = lines[points + number]["id"]
            later = subprocess.run(cli_command("memory", "forget", f"ep-{spare}"), capture_output=True, text=True)
            if later.returncode != 0:
                campaign.fail(f"the next forget failed: {later.stderr[-300:]}")
            elif bytes_contain(memory_dir.parent, needle):
                campaign.fail(
                    f"text of {target} survived the next forget's purge: {bytes_contain(memory_dir.parent, needle)}"
                )
            remaining.discard(spare)
        remaining.discard(target)
    return campaign


CAMPAIGNS = {
    "import": import_campaign,
    "chat": chat_campaign,
    "maintain": maintain_campaign,
    "forget": forget_campaign,
}
