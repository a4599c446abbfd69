"""How soon a fact the user stated is in memory after their exchange.

Learning runs the deterministic rules, then the model's own extraction. What the user stated
outright ("my wife Ana is allergic to shellfish") is saved before the model is asked; the
baseline, measured in the same run on the same messages, is when the whole pass ends (when
those facts were saved before, and what a model bigger than the starter takes longer over).

Each message is said in its own conversation on the real core (starter model, embedder,
LanceDB in a temporary data dir), then learned with model extraction on:

  * stated: from the start of `learn` to the `on_stated` callback (the facts are in the store),
  * whole pass: from the start of `learn` to its return (rules + model + consolidation).

    .venv/bin/python benchmarks/learn_latency.py [--reps 2]
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

MESSAGES = [
    "My wife Ana is allergic to shellfish and I work as a nurse at St. Mary's hospital.",
    "I just moved to Porto, and my partner Rui is vegetarian.",
    "I'm allergic to penicillin and my favourite colour is green.",
    "Call me Sam. I live in Lisbon and I have a dog named Rex.",
    "My daughter Mia is allergic to peanuts, and I prefer short answers.",
    "I work at Siemens as an engineer and I love hiking in the mountains.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=2, help="times each message is said (each in a fresh data dir)")
    args = parser.parse_args()

    stated_ms: list[float] = []
    whole_ms: list[float] = []
    saved_counts: list[int] = []
    for rep in range(args.reps):
        with tempfile.TemporaryDirectory(prefix="learn-latency-") as data:
            os.environ["ASSISTANT_DATA_DIR"] = data
            os.environ["ASSISTANT_CONFIG"] = str(Path(data) / "config.toml")
            from assistant.application.session import Assistant
            from assistant.config import load_settings

            core = Assistant(
                load_settings(context_size=2048, max_reply_tokens=24, temperature=0.0, model_extraction=True)
            )
            core.warm_up()
            for message in MESSAGES:
                turn = core.reply(message, conversation_id=core.new_conversation(f"rep {rep}").id)
                started = time.perf_counter()
                told: list[float] = []
                counts: list[int] = []

                def on_stated(report, started=started, told=told, counts=counts) -> None:
                    told.append(time.perf_counter() - started)
                    counts.append(len(report.saved))

                core.learn(turn, on_stated=on_stated)
                whole = time.perf_counter() - started
                if told:  # the rules found something and the model was asked
                    stated_ms.append(told[0] * 1000)
                    whole_ms.append(whole * 1000)
                    saved_counts.append(counts[0])
            core.close()

    if not stated_ms:
        print("no message had both stated facts and a model pass")
        return
    pairs = [stated / whole for stated, whole in zip(stated_ms, whole_ms, strict=True)]
    print(f"{len(stated_ms)} exchanges, {statistics.mean(saved_counts):.1f} stated facts saved each on average\n")
    print("| | stated facts in memory | whole pass (baseline) | ratio |")
    print("|---|---|---|---|")
    print(
        f"| median | {statistics.median(stated_ms):.0f} ms | {statistics.median(whole_ms):.0f} ms"
        f" | {statistics.median(pairs):.2f} |"
    )
    print(f"| max | {max(stated_ms):.0f} ms | {max(whole_ms):.0f} ms | {max(pairs):.2f} |")


if __name__ == "__main__":
    main()
