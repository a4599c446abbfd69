"""SIGKILL the real CLI at seeded random points while it writes, then check the store.

Every point gets fresh work of its own, so the kill always lands in the middle of real
writes rather than in a run with little left to do:

- import: a new file of new messages (new ids and conversations) per point;
- chat: a new exchange per point, killed while the turn is stored or, after the reply is
  printed, while what it taught is written (extraction and consolidation: add, supersede,
  reinforce);
- maintain: new old conversations to compress, or new recent messages for decay to weaken
  and archive, imported before the killed run;
- forget: a different memory per point;
- learning queue: a new exchange per point queued for learning through the scheduler and
  killed once the queueing was acknowledged; the next start must finish its learning.

A kill point is "after the Nth new file appears under the memory store (counted from the
start, or from an output marker), plus a short random delay": every LanceDB commit writes
files, so this lands among real writes rather than during model loading. After each kill
the store must open without repair, hold every acknowledged write exactly once, and have
no half-applied supersede, archive or forget. Shared by tests/trust/test_kill.py (few
points) and benchmarks/trust_report.py (many points); the killing and the checks are in
kill_harness.py, the learning-queue campaign in kill_learning_queue.py.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kill_harness import (
    Campaign,
    bytes_contain,
    check_after_kill,
    cli_command,
    message_ids,
    read_table,
    run_killed,
    seed_store,
    store_problems,
    summarised_but_active,
)
from kill_learning_queue import learning_queue_campaign
from trust_helpers import TOPICS, write_messages

from assistant.learning.schema import second_person

# What the other trust tests and benchmarks/trust_report.py import from here.
__all__ = ["CAMPAIGNS", "Campaign", "bytes_contain", "cli_command", "read_table", "store_problems"]

IMPORT_DRIVER = """
import sys
from pathlib import Path
from assistant.config import load_settings
from assistant.memory.engine import MemoryEngine
engine = MemoryEngine.open(load_settings())
for name in sys.argv[1:]:
    print("file", name, flush=True)
    engine.import_file(Path(name), progress=lambda done, total: print(done, flush=True))
print("done", flush=True)
"""
CONTEXT_MARKER = "--- context: "  # `chat --show-context` prints it after the reply, before learning
SAVED_PREFIX = "Saved to memory: "


def old_conversations(prefix: str, *, sessions: int, seed: int) -> list[dict]:
    """Evaluation-set chats from 2024 (old enough to compress), with ids and sessions of their own."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from evalset import build_evalset

    records = build_evalset(sessions=sessions, seed=seed).messages
    return [{**m, "id": prefix + m["id"], "session_id": prefix + m["session_id"]} for m in records]


DECAY_HALF_LIFE_DAYS = 2.0  # with episodic importance 0.3, strength falls below 0.05 after ~14 days
DECAY_ARCHIVED_AFTER_DAYS = 14.5


def recent_messages(prefix: str, count: int, *, seed: int, now: datetime) -> list[dict]:
    """Messages from the last four weeks: too young to compress, spread so decay weakens some and archives others."""
    rng = random.Random(seed)
    ages = sorted((rng.uniform(0.5, 28.0) for _ in range(count)), reverse=True)
    return [
        {
            "id": f"{prefix}{number:04d}",
            "session_id": f"{prefix}s{number // 6}",
            "role": "user" if number % 2 == 0 else "assistant",
            "content": f"{rng.choice(TOPICS)}, note {number} ({rng.randint(0, 10**6)})",
            "timestamp": (now - timedelta(days=age)).isoformat().replace("+00:00", "Z"),
        }
        for number, age in enumerate(ages)
    ]


# -- the campaigns -------------------------------------------------------------------------------


def _line_ends(source: Path) -> list[tuple[str, int]]:
    """(id, byte offset where its line ends) for each line of an import file."""
    ends, offset = [], 0
    for line in source.read_text(encoding="utf-8").splitlines(keepends=True):
        offset += len(line.encode("utf-8"))
        ends.append((json.loads(line)["id"], offset))
    return ends


def import_campaign(work: Path, memory_dir: Path, *, points: int, seed: int, messages: int = 1100) -> Campaign:
    """Kill each point's import of its own new file; a final run resumes them all, losing nothing.

    A file of `messages` lines is stored in batches (1024 messages each): the kill lands in a
    batch's writes, between batches, or in the index upkeep at the end. Acknowledged batches
    (reported through the progress callback) must survive.
    """
    rng = random.Random(seed)
    campaign = Campaign("memory import")
    acknowledged: set[str] = set()
    every: set[str] = set()
    sources: list[Path] = []
    for number in range(points):
        prefix = f"imp{number:03d}-"
        source = write_messages(
            work / f"import-{number:03d}.jsonl",
            messages,
            seed=seed * 1000 + number,
            prefix=prefix,
            sessions=6,
            session_prefix=f"{prefix}s",
        )
        sources.append(source)
        ends = _line_ends(source)
        every |= {message_id for message_id, _end in ends}
        after_files = rng.randint(1, 36)
        # Mostly right among the writes; now and then a longer wait lands in the embedding of the next batch.
        delay = rng.uniform(0, 1.0) if after_files <= 12 and rng.random() < 0.3 else rng.uniform(0, 0.05)
        run = run_killed(
            [sys.executable, "-c", IMPORT_DRIVER, str(source)], memory_dir, after_files=after_files, delay=delay
        )
        progress = [int(line) for line in run.stdout.splitlines() if line.strip().isdigit()]
        done = max(progress, default=0)
        acknowledged |= {message_id for message_id, end in ends if end <= done}
        if not run.killed:
            if run.returncode != 0:
                campaign.fail(f"exit {run.returncode}: {run.stderr[-300:]}")
            campaign.completed_first += 1
            continue
        if done == 0:
            phase = "first batch"
        elif done < ends[-1][1]:
            phase = "later batch"
        else:
            phase = "index upkeep"
        campaign.hit(phase)
        check_after_kill(campaign, memory_dir, acknowledged)
    final = subprocess.run([sys.executable, "-c", IMPORT_DRIVER, *map(str, sources)], capture_output=True, text=True)
    if final.returncode != 0:
        campaign.fail(f"the imports did not finish after the kills: {final.stderr[-300:]}")
    check_after_kill(campaign, memory_dir, every)
    campaign.survived -= 1  # the final check is not a fault
    stored = read_table(memory_dir, "messages")
    if len(stored) != len(every):
        campaign.fail(f"{len(stored)} messages stored, expected {len(every)}")
    return campaign


CHAT_MESSAGES = (
    "My sister is called Ana and she lives in Porto.",
    "I live in Lisbon.",
    "remember that my dentist is Dr. Silva",
    "Actually I moved to Berlin last month.",
    "I am allergic to peanuts.",
    "My favourite colour is green.",
    "My favourite colour is blue now.",
    "I work as a nurse at the city hospital.",
    "remember that my locker code is on the blue card",
    "I live in Lisbon again.",
)
# Short replies and rule-based extraction keep a point quick; the learning writes (add,
# supersede, reinforce and their audit entries) are the same as after model extraction.
CHAT_ENV = {"ASSISTANT_MAX_REPLY_TOKENS": "16", "ASSISTANT_MODEL_EXTRACTION": "false", "ASSISTANT_TEMPERATURE": "0"}


def _saved_texts(stderr: str) -> list[str]:
    return [
        line[len(SAVED_PREFIX) :].split(" (replaces: ")[0].strip()
        for line in stderr.splitlines()
        if line.startswith(SAVED_PREFIX)
    ]


def chat_campaign(work: Path, memory_dir: Path, *, points: int, seed: int) -> Campaign:
    """Kill `assistant chat` while it stores the exchange or, most often, while it learns from it.

    "remember that ..." is a command: its memory is written with the exchange, before the reply.
    """
    rng = random.Random(seed)
    campaign = Campaign("chat learning")
    acknowledged: set[str] = set()
    learned: set[str] = set()
    for number in range(points):
        text = CHAT_MESSAGES[number % len(CHAT_MESSAGES)]
        if text.startswith("remember") or number % 3 == 2:  # the exchange: conversation, messages, a command's memory
            options = {"after_files": rng.randint(1, 14), "delay": rng.uniform(0, 0.05)}
        else:  # once the reply is printed: extraction, consolidation, reinforcement
            options = {"after_output": CONTEXT_MARKER, "after_files": rng.randint(1, 5), "delay": rng.uniform(0, 0.02)}
        run = run_killed(cli_command("chat", "--show-context", text), memory_dir, env=CHAT_ENV, **options)
        problems = []
        stored = {row["id"]: row["content"] for row in read_table(memory_dir, "messages") if row["role"] == "user"}
        if CONTEXT_MARKER in run.stdout:  # the reply was printed in full: the exchange is acknowledged
            ids = {message_id for message_id, content in stored.items() if content == text}
            if not ids:
                campaign.lost += 1
                problems.append(f"acknowledged message {text!r} is not stored")
            acknowledged |= ids
        learned.update(_saved_texts(run.stderr))
        # The notice tells the user "You live in Lisbon" for the stored "User lives in Lisbon".
        texts = {second_person(row["text"]) for row in read_table(memory_dir, "memories")}
        for saved in sorted(learned - texts):
            campaign.lost += 1
            problems.append(f"acknowledged memory {saved!r} is not stored")
        if not run.killed:
            if run.returncode != 0:
                campaign.fail(f"exit {run.returncode}: {run.stderr[-300:]}")
            campaign.completed_first += 1
            if problems:
                campaign.fail("; ".join(problems))
            continue
        campaign.hit("learning" if CONTEXT_MARKER in run.stdout else "storing the exchange")
        check_after_kill(campaign, memory_dir, acknowledged, problems)
    return campaign


MAINTAIN_ENV = {"ASSISTANT_DECAY_HALF_LIFE_DAYS": str(DECAY_HALF_LIFE_DAYS)}
# Small compression batches (more writes to land among), set by a test-side launcher around the real CLI.
MAINTENANCE_LAUNCHER = Path(__file__).resolve().parents[1] / "cli_with_maintenance_hooks.py"


def maintain_command() -> list[str]:
    return [sys.executable, str(MAINTENANCE_LAUNCHER), "--write-batch", "3", "--", "memory", "maintain", "--no-model"]


def _complete_summaries(memory_dir: Path, prefix: str) -> set[str]:
    """Summaries of a point's messages whose originals are all archived: finished compression groups."""
    memories = read_table(memory_dir, "memories")
    status = {m["id"]: m["status"] for m in memories}
    return {
        m["id"]
        for m in memories
        if m["kind"] == "summary"
        and any(s.startswith(prefix) for s in m["sources"] or [])
        and all(status.get(f"ep-{s}") == "archived" for s in m["sources"] or [])
    }


def maintain_campaign(
    work: Path, memory_dir: Path, *, points: int, seed: int, sessions: int = 8, recent: int = 120
) -> Campaign:
    """Kill `memory maintain` while it compresses or decays fresh work; a final run completes it.

    Even points import old conversations (compression summarises and archives them), odd
    points import recent messages (decay weakens them and archives the oldest; compression has
    nothing to do). The phase counted is the work the kill interrupted, read from the store.
    """
    rng = random.Random(seed)
    campaign = Campaign("memory maintain")
    everything: set[str] = set()
    compression_points: list[tuple[str, set[str]]] = []  # prefix, finished groups when killed
    for number in range(points):
        compressing = number % 2 == 0
        prefix = f"{'cmp' if compressing else 'dec'}{number:03d}-"
        if compressing:
            records = old_conversations(prefix, sessions=sessions, seed=seed * 1000 + number)
        else:
            records = recent_messages(prefix, recent, seed=seed * 1000 + number, now=datetime.now(UTC))
        seed_store(memory_dir, records)
        everything |= {record["id"] for record in records}
        run = run_killed(
            maintain_command(),
            memory_dir,
            after_files=rng.randint(1, 60 if compressing else 80),
            delay=rng.uniform(0, 0.02),
            env=MAINTAIN_ENV,
        )
        if not run.killed:
            if run.returncode != 0:
                campaign.fail(f"exit {run.returncode}: {run.stderr[-300:]}")
            campaign.completed_first += 1
            continue
        if compressing:
            compression_points.append((prefix, _complete_summaries(memory_dir, prefix)))
            campaign.injected += 1  # its phase is known once the final run has finished the work
        else:
            cutoff = datetime.now(UTC) - timedelta(days=DECAY_ARCHIVED_AFTER_DAYS)
            due = {
                f"ep-{r['id']}"
                for r in records
                if datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")) < cutoff
            }
            waiting = [m for m in read_table(memory_dir, "memories") if m["id"] in due and m["status"] == "active"]
            campaign.hit("decay" if waiting else "after decay (index upkeep)")
        check_after_kill(campaign, memory_dir, everything)
    final = subprocess.run(
        maintain_command(),
        capture_output=True,
        text=True,
        env={**os.environ, **MAINTAIN_ENV},
    )
    if final.returncode != 0:
        campaign.fail(f"maintain did not finish after the kills: {final.stderr[-300:]}")
    for prefix, finished in compression_points:
        unfinished = _complete_summaries(memory_dir, prefix) - finished
        campaign.phases["compression" if unfinished else "after compression (decay, index upkeep)"] += 1
    left = summarised_but_active(memory_dir)
    if left:
        campaign.fail(f"half-applied compression: {left[:3]} summarised but still active")
    check_after_kill(campaign, memory_dir, everything)
    campaign.survived -= 1  # the final check is not a fault
    memories = read_table(memory_dir, "memories")
    decayed = [m for m in memories if m["kind"] == "episodic" and m["status"] == "archived" and m["id"][3:6] == "dec"]
    if points > 1 and not decayed:
        campaign.fail("decay archived nothing: the decay points did not exercise it")
    if not any(m["kind"] == "summary" for m in memories):
        campaign.fail("compression made no summary")
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
        # Half the points right among the row writes (context, messages, conversation, memories),
        # the others later, in the purge that rewrites the tables and drops their old versions.
        early = number % 2 == 0
        run = run_killed(
            cli_command("memory", "forget", f"ep-{target}"),
            memory_dir,
            after_files=rng.randint(1, 12 if early else 16),
            delay=rng.uniform(0, 0.005) if early else rng.uniform(0, 0.3),
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
        stored = message_ids(memory_dir)
        episodes = {row["id"] for row in read_table(memory_dir, "memories")}
        if f"ep-{target}" not in episodes:
            campaign.hit("purge")
        else:
            campaign.hit("between the deletes" if target not in stored else "before the deletes")
        if target in stored and f"ep-{target}" not in episodes:
            campaign.fail(f"half-applied forget of {target}: its message is kept but its memory is gone")
        check_after_kill(campaign, memory_dir, remaining - {lines[n]["id"] for n in range(number + 1)})
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
    "learning queue": learning_queue_campaign,
}
