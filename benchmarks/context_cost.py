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

from assistant.application.context import BASE_SYSTEM_PROMPT  # noqa: E402
from assistant.application.session import Assistant, open_runner  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.llm.chat_cache import shared_prefix  # noqa: E402
from assistant.llm.runner import ChatMessage  # noqa: E402

# A scripted conversation: facts about the user told along the way, questions that need them,
# and ordinary requests that do not. Every line is different, as in a real conversation.
SCRIPT = [
    "Hi! My name is Ana and I live in Lisbon.",
    "What is a good way to start learning to cook fish?",
    "I work at a bakery as a pastry chef.",
    "Can you explain what sourdough starter is?",
    "I'm allergic to shellfish.",
    "What should I cook for dinner tonight?",
    "My sister is called Marta.",
    "Her birthday is next week. What could I give her?",
    "I love hiking in the mountains.",
    "Suggest a weekend trip not far from where I live.",
    "What should I pack for a two day hike?",
    "How do I keep my feet from getting blisters?",
    "I have a dog named Rex.",
    "How can I teach Rex to stop pulling on the lead?",
    "Is it safe to take a dog on a long hike?",
    "My favourite colour is green.",
    "Which colour should I paint my kitchen?",
    "I prefer short answers.",
    "Explain how a croissant gets its layers.",
    "Why does bread go stale?",
    "What is the difference between baking soda and baking powder?",
    "Give me a tip for a better morning routine.",
    "How many hours of sleep do adults need?",
    "Recommend a book for a rainy day.",
    "Who wrote One Hundred Years of Solitude?",
    "What is a good podcast about history?",
    "How do I make cold brew coffee?",
    "Is green tea healthier than coffee?",
    "What can I cook for Marta, who is vegetarian?",
    "Suggest a dessert I could bake for a party of ten.",
    "How do I price cakes for a small order business?",
    "What should I write on a birthday card for my sister?",
    "How do I stop procrastinating on paperwork?",
    "What is a simple budget method?",
    "How do I ask my boss for a raise?",
    "What are the best months to visit the Alps?",
    "How do I read a topographic map?",
    "What is the capital of Portugal?",
    "Which seafood dishes are typical in Lisbon?",
    "Can you suggest a restaurant dish for me there?",
    "How do I keep Rex calm during fireworks?",
    "What vaccines does a dog need each year?",
    "Give me a quick stretching routine after hiking.",
    "How do I get better at waking up early?",
    "Suggest a hobby I could do with my sister.",
    "What is a good name for a bakery newsletter?",
    "How do I make my croissants flakier?",
    "Plan a relaxed Sunday for me.",
    "What do you know about my dog?",
    "Thanks, that is all for today.",
]


def script(turns: int) -> list[str]:
    return [SCRIPT[turn % len(SCRIPT)] for turn in range(turns)]


class Side:
    """One conversation with its own model instance, so the two runs never evict each other's cache."""

    def __init__(self, settings: Settings, *, memory: bool) -> None:
        self.memory = memory
        self.runner = open_runner(settings)
        self.assistant = Assistant(settings, runner=self.runner)
        self.assistant.warm_up()  # the app loads the model and embedder at start-up
        self.conversation = self.assistant.new_conversation("benchmark").id
        self.rows: list[dict] = []
        self.last_prompt: list[int] = []
        send = self.runner.stream_chat

        def recording(messages, **options):  # keeps the tokens of the prompt the model is given
            prompt = self.runner.render(messages).encode("utf-8", errors="replace")
            self.last_prompt = self.runner.load().tokenize(prompt, add_bos=False, special=True)
            return send(messages, **options)

        self.runner.stream_chat = recording

    def turn(self, number: int, text: str) -> None:
        # What llama.cpp holds from the last turn (its prompt and reply), to count what it must evaluate.
        llama = self.runner.load()
        cached = list(llama.input_ids[: llama.n_tokens])
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
                "new_tokens": turn.stats.prompt_tokens - shared_prefix(cached, self.last_prompt),
                "block": bool(turn.trace.memory_block),  # this turn quoted memories not shown before
            }
        )
        # What the app does after every exchange while the user reads the reply: learn (memory
        # on) and compact what the turn's writes fragmented (both).
        self.assistant.learn(turn, use_model=False)


def run_once(args: argparse.Namespace) -> tuple[list[dict], list[dict], int, float]:
    """One scripted conversation with memory and one without, interleaved, each on a fresh store."""
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
        budget = on.assistant.budget()
    return on.rows, off.rows, budget, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--reply-tokens", type=int, default=48)
    parser.add_argument("--context", type=int, default=2048)
    parser.add_argument("--runs", type=int, default=1, help="repeat the conversation; timings pool all runs")
    args = parser.parse_args()
    runs = [run_once(args) for _ in range(args.runs)]
    with_memory, without, budget, elapsed = runs[0]
    elapsed = sum(run[3] for run in runs)

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
    # Every turn of every run, paired with the same message without memory.
    pairs = [(a, b) for run in runs for a, b in zip(run[0], run[1], strict=True) if a["ttft"] and b["ttft"]]
    print(f"time to first token over {len(runs)} run(s), from sending the message (recall included);")
    print("model only in brackets; medians over runs")
    print(f"{'turn':>5} {'memory on':>18} {'memory off':>18} {'ratio':>7}")
    for number in (1, 10, 50):
        at = [(a, b) for a, b in pairs if a["turn"] == number]
        if at:
            on_ms = statistics.median(a["ttft"] for a, _ in at) * 1000
            on_model = statistics.median(a["model_ttft"] for a, _ in at) * 1000
            off_ms = statistics.median(b["ttft"] for _, b in at) * 1000
            off_model = statistics.median(b["model_ttft"] for _, b in at) * 1000
            ratio = statistics.median(a["ttft"] / b["ttft"] for a, b in at)
            print(
                f"{number:>5} {on_ms:>7.0f}ms ({on_model:>5.0f}ms) {off_ms:>7.0f}ms ({off_model:>5.0f}ms) {ratio:>7.2f}"
            )
    for key, label in (("ttft", "from sending"), ("model_ttft", "model only")):
        for name, pick in (("median", statistics.median), ("mean", statistics.mean)):
            a, b = pick(p[0][key] for p in pairs), pick(p[1][key] for p in pairs)
            print(f"{name} over all turns, {label}: {a * 1000:.0f}ms vs {b * 1000:.0f}ms, ratio {a / b:.2f}")
    # Paired by turn: the same message on both sides, so a turn that refills the history window
    # (hundreds of tokens to evaluate) does not compare with an ordinary one.
    for label, chosen in (
        ("all turns", pairs),
        ("turns quoting new memories", [p for p in pairs if p[0]["block"]]),
        ("turns without", [p for p in pairs if not p[0]["block"]]),
    ):
        if chosen:
            ratios = [a["ttft"] / b["ttft"] for a, b in chosen]
            print(f"per-turn ratio, {label} ({len(ratios)}): median {statistics.median(ratios):.2f}")
    print("goal: memory adds at most 25% to time to first token (ratio <= 1.25)")
    tokens_on = [r["new_tokens"] for r in with_memory[1:]]
    tokens_off = [r["new_tokens"] for r in without[1:]]
    print(
        f"prompt tokens evaluated per turn (not in llama.cpp's cache), median/mean: memory on "
        f"{statistics.median(tokens_on):.0f}/{statistics.mean(tokens_on):.0f}, "
        f"off {statistics.median(tokens_off):.0f}/{statistics.mean(tokens_off):.0f}"
    )
    print(f"total {elapsed:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
