"""Time to first token of a chat reply while compression runs vs with no job running, same run.

    .venv/bin/python benchmarks/chat_during_maintenance.py [--trials 5] [--sessions 6]

Compression uses the chat model (background completions); the user's chat preempts it.
Goal: ratio (during / idle) close to 1.0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from evalset import build_evalset  # noqa: E402

WAITS: list[tuple[float, float, int]] = []  # per trial: waiting for the model, its own first token, prompt
TOPICS = ["sleeping", "cooking", "running", "reading", "saving money", "gardening", "learning Spanish", "focus"]


def opening_conversation() -> list:
    """A conversation already under way, as in the app: a system prompt and a few exchanges."""
    from assistant.application.context import BASE_SYSTEM_PROMPT
    from assistant.llm.runner import ChatMessage

    messages = [ChatMessage("system", BASE_SYSTEM_PROMPT)]
    for topic in TOPICS:
        messages.append(ChatMessage("user", f"What is one good habit for {topic}?"))
        messages.append(ChatMessage("assistant", f"Pick one small step for {topic} and repeat it daily for a month."))
    return messages


CONVERSATION: list = []


def first_token_seconds(runner, number: int) -> float:
    """The next message of one ongoing conversation: a new question each time, the history before it
    in llama.cpp's cache unless background work took it."""
    from assistant.llm.runner import ChatMessage, GenerationStats

    if not CONVERSATION:
        CONVERSATION.extend(opening_conversation())
    CONVERSATION.append(ChatMessage("user", f"Give me tip {number} for {TOPICS[number % len(TOPICS)]}."))
    stats = GenerationStats()
    requested = time.perf_counter()
    for _piece in runner.stream_chat(CONVERSATION, max_tokens=16, temperature=0.0, stats=stats):
        break
    CONVERSATION.append(ChatMessage("assistant", "Here is one."))
    first = time.perf_counter() - requested
    WAITS.append((stats.started - requested, first - (stats.started - requested), stats.prompt_tokens))
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument(
        "--drop-chat-cache",
        action="store_true",
        help="baseline: the chat re-evaluates its prompt after background work",
    )
    args = parser.parse_args()
    if args.drop_chat_cache:
        from assistant.llm.chat_cache import ChatCache

        ChatCache.restore_chat = lambda self, llama, tokens: None  # type: ignore[method-assign]

    from assistant.application.scheduler import Scheduler
    from assistant.application.session import Assistant, open_runner
    from assistant.config import Settings
    from assistant.memory.embed import open_embedder
    from assistant.memory.engine import MemoryEngine
    from assistant.memory.store import MemoryStore

    settings = Settings()
    runner = open_runner(settings)
    runner.load()
    embedder = open_embedder(settings.embedder)
    evalset = build_evalset(args.sessions, 5)
    now = evalset.end + timedelta(days=60)
    idle, during, preempted_before = [], [], 0
    with tempfile.TemporaryDirectory() as scratch:
        engine = MemoryEngine(MemoryStore(Path(scratch), embedder.dimension), embedder, "bench", now=lambda: now)
        engine.import_jsonl(json.dumps(m) + "\n" for m in evalset.messages)
        assistant = Assistant(settings, runner=runner, engine=engine, clock=lambda: now)
        scheduler = Scheduler(assistant, state_path=Path(scratch) / "jobs.json", use_model=True, retry_seconds=0.3)
        first_token_seconds(runner, 99)  # first use allocates buffers
        for trial in range(args.trials):
            idle.append(first_token_seconds(runner, trial))
        scheduler.start()
        scheduler.request_maintenance()
        for _ in range(args.trials):
            deadline = time.monotonic() + 120
            while not runner.busy and time.monotonic() < deadline:  # compression is generating
                time.sleep(0.005)
            if not runner.busy:
                break
            during.append(first_token_seconds(runner, args.trials + len(during)))
            time.sleep(0.5)
        preempted_before = scheduler.status.preempted
        scheduler.close()
        # Idle again after the job, so drift in the machine's load shows on both sides.
        for trial in range(args.trials):
            idle.append(first_token_seconds(runner, 2 * args.trials + len(during) + trial))
    print(f"{'':<28}{'median s':>10}{'max s':>8}{'n':>4}")
    print(f"{'no job running':<28}{statistics.median(idle):>10.3f}{max(idle):>8.3f}{len(idle):>4}")
    if during:
        print(f"{'while compression runs':<28}{statistics.median(during):>10.3f}{max(during):>8.3f}{len(during):>4}")
        print(f"ratio (median during / idle): {statistics.median(during) / statistics.median(idle):.2f}")
    print(f"background summaries preempted by the chat: {preempted_before}")
    waits = WAITS[1:]  # the warm-up first
    phases = (
        ("no job running", waits[: args.trials] + waits[-args.trials :]),
        ("while compression runs", waits[args.trials : -args.trials]),
    )
    for label, rows in phases:
        if rows:
            print(
                f"{label}: median wait for the model {statistics.median(r[0] for r in rows) * 1000:.0f}ms, "
                f"model's own first token {statistics.median(r[1] for r in rows) * 1000:.0f}ms, "
                f"prompt {statistics.median(r[2] for r in rows):.0f} tokens"
            )


if __name__ == "__main__":
    main()
