"""Context cost: prompt tokens per turn with memory vs sending the full history, and time to
first token at turns 1, 10 and 50 with memory on vs off, measured in the same run.

    .venv/bin/python benchmarks/context_cost.py [--turns 50] [--reply-tokens 48]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import Settings  # noqa: E402
from assistant.context import BASE_SYSTEM_PROMPT  # noqa: E402
from assistant.core import Assistant, open_runner  # noqa: E402
from assistant.llm.runner import ChatMessage  # noqa: E402

FACTS = [
    "My name is Ana and I live in Lisbon.",
    "I work at a bakery as a pastry chef.",
    "I'm allergic to shellfish.",
    "My sister is called Marta.",
    "I love hiking in the mountains.",
    "My favourite colour is green.",
    "I have a dog named Rex.",
    "I prefer short answers.",
]
QUESTIONS = [
    "What should I cook for dinner tonight?",
    "Can you suggest a weekend trip?",
    "Give me a tip for a better morning routine.",
    "What is a good gift for my sister?",
    "How can I train my dog to sit?",
    "Recommend a book for a rainy day.",
]


def script(turns: int) -> list[str]:
    lines = []
    for turn in range(turns):
        if turn < len(FACTS):
            lines.append(FACTS[turn])
        else:
            lines.append(QUESTIONS[turn % len(QUESTIONS)] + f" (turn {turn + 1})")
    return lines


class Side:
    """One conversation with its own model instance, so the two runs never evict each other's cache."""

    def __init__(self, settings: Settings, *, memory: bool) -> None:
        self.memory = memory
        self.runner = open_runner(settings)
        self.assistant = Assistant(settings, runner=self.runner)
        self.assistant.warm_up()  # the app loads the model and embedder at start-up
        self.conversation = self.assistant.new_conversation("benchmark").id
        self.rows: list[dict] = []

    def turn(self, number: int, text: str) -> None:
        started = time.perf_counter()
        first = None
        for _ in self.assistant.stream_reply(text, conversation_id=self.conversation, use_memory=self.memory):
            if first is None:
                first = time.perf_counter() - started
        turn = self.assistant.last_turn
        history = self.assistant.conversation_messages(self.conversation)
        full = [ChatMessage("system", BASE_SYSTEM_PROMPT)]
        full += [ChatMessage(str(m.role), m.content) for m in history]
        self.rows.append(
            {
                "turn": number,
                "sent": turn.trace.total_tokens,
                "full_history": self.runner.count_chat_tokens(full),
                "ttft": first,  # from sending the message: recall, prompt evaluation, first token
                "model_ttft": turn.stats.time_to_first_token if turn.stats else None,
            }
        )
        if self.memory:
            self.assistant.learn(turn, use_model=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--reply-tokens", type=int, default=48)
    parser.add_argument("--context", type=int, default=2048)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        os.environ["ASSISTANT_DATA_DIR"] = data
        os.environ["ASSISTANT_CONFIG"] = str(Path(data) / "config.toml")
        settings = Settings(max_reply_tokens=args.reply_tokens, temperature=0.0, context_size=args.context)
        on = Side(settings.model_copy(update={"user": "with"}), memory=True)
        off = Side(settings.model_copy(update={"user": "without"}), memory=False)
        started = time.perf_counter()
        # Interleaved, alternating which side goes first, so background load hits both alike.
        for number, text in enumerate(script(args.turns), 1):
            for side in (on, off) if number % 2 else (off, on):
                side.turn(number, text)
        elapsed = time.perf_counter() - started
        on.assistant.close()
        off.assistant.close()
    with_memory, without = on.rows, off.rows
    budget = on.assistant.budget()

    print(
        f"context_cost: {args.turns} turns, context {args.context}, prompt budget {budget}, "
        f"replies <= {args.reply_tokens} tokens"
    )
    print()
    print(f"{'turn':>5} {'sent (memory)':>14} {'full history':>13} {'ratio':>7}")
    for row in with_memory:
        if row["turn"] in (1, 5, 10, 20, 30, 40, 50) or row["turn"] == len(with_memory):
            ratio = row["sent"] / row["full_history"] if row["full_history"] else 0.0
            print(f"{row['turn']:>5} {row['sent']:>14} {row['full_history']:>13} {ratio:>7.2f}")
    over = [r for r in with_memory if r["full_history"] > budget]
    if over:
        mean_ratio = statistics.mean(r["sent"] / r["full_history"] for r in over)
        print(f"once the history exceeds the budget ({len(over)} turns): memory sends {mean_ratio:.2f}x the tokens")
    print()
    print("time to first token, from sending the message (recall included); model only in brackets")
    print(f"{'turn':>5} {'memory on':>18} {'memory off':>18} {'ratio':>7}")
    for number in (1, 10, 50):
        if number > len(with_memory):
            continue
        a, b = with_memory[number - 1], without[number - 1]
        if a["ttft"] and b["ttft"]:
            print(
                f"{number:>5} {a['ttft'] * 1000:>7.0f}ms ({a['model_ttft'] * 1000:>5.0f}ms)"
                f" {b['ttft'] * 1000:>7.0f}ms ({b['model_ttft'] * 1000:>5.0f}ms) {a['ttft'] / b['ttft']:>7.2f}"
            )
    for key, label in (("ttft", "from sending"), ("model_ttft", "model only")):
        on_all = [r[key] for r in with_memory if r[key]]
        off_all = [r[key] for r in without if r[key]]
        if on_all and off_all:
            ratio = statistics.median(on_all) / statistics.median(off_all)
            print(
                f"median over all turns, {label}: {statistics.median(on_all) * 1000:.0f}ms vs "
                f"{statistics.median(off_all) * 1000:.0f}ms, ratio {ratio:.2f} (goal <= 1.25)"
            )
    print(f"total {elapsed:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
