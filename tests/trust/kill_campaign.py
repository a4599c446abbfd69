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
points) and benchmarks/trust_report.py (many points).
"""

from __future__ import annotations

import functools
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

from trust_helpers import TOPICS, write_messages

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
LEARNING_DRIVER = """
import sys
from assistant.config import load_settings
from assistant.core import Assistant, Turn
from assistant.memory.types import Message, Role
from assistant.scheduler import Scheduler
assistant = Assistant(load_settings())
scheduler = Scheduler(assistant)
scheduler.start()  # first it finishes what a killed run left queued
for text in sys.argv[1:]:
    conversation = assistant.engine.create_conversation(title="kill test")
    turn = Turn(conversation_id=conversation.id, user_text=text)
    user_id = assistant.prepare_user_message(turn)
    assistant.engine.add_messages([
        Message(assistant.user, Role.USER, text, conversation.id, id=user_id, created_at=turn.at),
        Message(assistant.user, Role.ASSISTANT, "Noted.", conversation.id),
    ])
    print("queued", scheduler.queue_learning(turn), user_id, flush=True)
idle = scheduler.wait_idle(timeout=600)
scheduler.close()
assistant.close()
print("idle" if idle else "still busy", flush=True)
"""
CONTEXT_MARKER = "--- context: "  # `chat --show-context` prints it after the reply, before learning
SAVED_PREFIX = "Saved to memory: "


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


def _files(folder: Path) -> set[str]:
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
    before = _files(memory_dir)
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
        seen |= _files(memory_dir) - before
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
    for name in _files(folder):
        try:
            if needle in Path(name).read_bytes():
                hits.append(name)
        except OSError:
            continue
    return hits


# -- the campaigns -------------------------------------------------------------------------------


def _check(
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
        _check(campaign, memory_dir, acknowledged)
    final = subprocess.run([sys.executable, "-c", IMPORT_DRIVER, *map(str, sources)], capture_output=True, text=True)
    if final.returncode != 0:
        campaign.fail(f"the imports did not finish after the kills: {final.stderr[-300:]}")
    _check(campaign, memory_dir, every)
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
        texts = {row["text"] for row in read_table(memory_dir, "memories")}
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
        _check(campaign, memory_dir, acknowledged, problems)
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
        _check(campaign, memory_dir, everything)
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
    _check(campaign, memory_dir, everything)
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


LEARNING_ENV = {"ASSISTANT_MODEL_EXTRACTION": "false"}  # rules only: the same queue and writes, quicker
FOODS = ("peanuts", "shellfish", "sesame", "kiwi", "celery", "mustard", "lupin", "soy")
CITIES = ("Lisbon", "Porto", "Berlin", "Vienna", "Oslo", "Madrid", "Dublin", "Prague")


def _learning_message(number: int) -> str:
    templates = (
        f"I am allergic to {FOODS[number % len(FOODS)]}.",  # a new memory
        f"My favourite number is {1000 + number}.",  # supersedes the last one
        f"I live in {CITIES[number % len(CITIES)]}.",  # supersedes where the user lived
    )
    return templates[number % len(templates)]


def _queued_jobs(memory_dir: Path) -> list[str]:
    from assistant.config import load_settings
    from assistant.job_state import default_state_path

    state = default_state_path(load_settings().user)
    if not state.exists():
        return []
    return [record["job"] for record in json.loads(state.read_text(encoding="utf-8"))["pending"]]


def learning_queue_campaign(work: Path, memory_dir: Path, *, points: int, seed: int) -> Campaign:
    """Kill a process right after the scheduler acknowledged a turn's learning; the next start finishes it.

    The kill lands before the worker took the turn, in its extraction and consolidation writes
    (add, supersede and their audits) or, now and then, after it finished.
    """
    rng = random.Random(seed)
    campaign = Campaign("learning queue")
    acknowledged: set[str] = set()
    for number in range(points):
        text = _learning_message(number)
        run = run_killed(
            [sys.executable, "-c", LEARNING_DRIVER, text],
            memory_dir,
            after_output="queued ",
            after_files=rng.randint(0, 6),
            delay=rng.uniform(0, 0.03),
            env=LEARNING_ENV,
        )
        queued = [line.split() for line in run.stdout.splitlines() if line.startswith("queued ")]
        if not queued:
            if run.killed:
                campaign.fail(f"killed before the turn was queued: {run.stderr[-300:]}")
            else:
                campaign.fail(f"the turn was never queued (exit {run.returncode}): {run.stderr[-300:]}")
            continue
        _marker, job, message_id = queued[0]
        acknowledged.add(message_id)
        if not run.killed:
            if run.returncode != 0 or "idle" not in run.stdout:
                campaign.fail(f"exit {run.returncode}: {run.stderr[-300:]}")
            campaign.completed_first += 1
            continue
        campaign.hit("learning pending" if job in _queued_jobs(memory_dir) else "after learning")
        problems = []
        restart = subprocess.run(
            [sys.executable, "-c", LEARNING_DRIVER],
            capture_output=True,
            text=True,
            env={**os.environ, **LEARNING_ENV},
            timeout=900,
        )
        if restart.returncode != 0 or "idle" not in restart.stdout:
            problems.append(f"the next start did not finish: {restart.stderr[-300:]}")
        if job in _queued_jobs(memory_dir):
            problems.append(f"the next start left {text!r} queued")
        learned = [
            memory
            for memory in read_table(memory_dir, "memories")
            if message_id in (memory["sources"] or []) and memory["kind"] != "episodic"
        ]
        if not any(memory["status"] == "active" for memory in learned):
            campaign.lost += 1
            problems.append(f"the acknowledged learning from {text!r} was lost")
        texts = [memory["text"] for memory in learned]
        if len(texts) != len(set(texts)):
            problems.append(f"learning from {text!r} was applied twice: {texts}")
        _check(campaign, memory_dir, acknowledged, problems)
    return campaign


CAMPAIGNS = {
    "import": import_campaign,
    "chat": chat_campaign,
    "maintain": maintain_campaign,
    "forget": forget_campaign,
    "learning queue": learning_queue_campaign,
}
