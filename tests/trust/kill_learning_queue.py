"""The "learning queue" kill campaign: a process is killed after the scheduler acknowledged a turn's learning.

The driver is the real Assistant and Scheduler in a process of their own; the next start (the
same driver, with nothing new to queue) must finish what the killed one left queued, once.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

from kill_harness import Campaign, check_after_kill, read_table, run_killed

LEARNING_DRIVER = """
import sys
from assistant.config import load_settings
from assistant.application.session import Assistant, Turn
from assistant.memory.types import Message, Role
from assistant.application.scheduler import Scheduler
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
    from assistant.application.job_state import default_state_path
    from assistant.config import load_settings

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
        check_after_kill(campaign, memory_dir, acknowledged, problems)
    return campaign
