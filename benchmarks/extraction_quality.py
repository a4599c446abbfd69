"""Extraction quality per fact family on the labelled corpus: rules, rules + safety net, the model, all.

The corpus is tests/data/extraction/*.jsonl (one message a line, with the facts it states or
ends; messages with none must yield nothing), the same one the unit tests read. Each method's
recall and precision are printed per family (name, home, work, allergy, ...), with the share
of false facts and the count of anything produced from a must-yield-nothing message.

    python benchmarks/extraction_quality.py                       # rules and rules + net, whole corpus
    python benchmarks/extraction_quality.py --model-extraction --limit 20   # also the starter model

The model's part is slow with the starter model: it runs on every `--limit`-th message only,
and its cost per message (mean and worst) is printed. Add `-v` to list misses and false facts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.learning.candidate import Candidate  # noqa: E402
from assistant.learning.evaluation import Case, Score, load_corpus, score, table  # noqa: E402
from assistant.learning.explicit import extract_explicit  # noqa: E402
from assistant.learning.model_extraction import EXTRACTION_MAX_TOKENS  # noqa: E402
from assistant.learning.safety_net import net_notes  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "data" / "extraction"
NOW = datetime(2025, 3, 3, 9, 30)
# Each exchange gets the same reply, so assistant words leaking into user facts show as false facts.
ASSISTANT_REPLY = "Thanks for telling me! I live in the cloud, I love Paris and my favourite colour is purple."


def rules(text: str) -> list[Candidate]:
    return extract_explicit(text, now=NOW, source_id="m")


def rules_and_net(text: str) -> list[Candidate]:
    found = rules(text)
    return [*found, *net_notes(text, found=found, source_id="m")]


def model_methods(
    max_tokens: int,
) -> tuple[Callable[[str], list[Candidate]], Callable[[str], list[Candidate]], list[float]]:
    from assistant.learning.model_extraction import extract_with_model, merge_candidates
    from assistant.llm.catalog import resolve_model
    from assistant.llm.runner import ModelRunner

    runner = ModelRunner(resolve_model("smollm2-135m-instruct").path, context_size=2048, threads=2, seed=7)
    runner.load()
    seconds: list[float] = []
    cache: dict[str, list[Candidate]] = {}

    def model(text: str) -> list[Candidate]:
        if text not in cache:
            started = time.perf_counter()
            result = extract_with_model(runner, text, ASSISTANT_REPLY, source_id="m", now=NOW, max_tokens=max_tokens)
            seconds.append(time.perf_counter() - started)
            print(f"  {seconds[-1]:5.1f}s {text[:60]!r}", file=sys.stderr)
            cache[text] = result.candidates
        return cache[text]

    def everything(text: str) -> list[Candidate]:
        found = rules_and_net(text)
        return merge_candidates(found, model(text))

    return model, everything, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model-extraction", action="store_true", help="also run the starter model's extraction")
    parser.add_argument("--limit", type=int, default=20, help="messages sent to the model (spread over the corpus)")
    parser.add_argument(
        "--max-tokens", type=int, default=EXTRACTION_MAX_TOKENS, help="the model's output cap per message"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list misses and false facts")
    args = parser.parse_args()

    cases = load_corpus(CORPUS)
    started = time.perf_counter()
    scores: dict[str, Score] = {"rules": score(cases, rules), "rules+net": score(cases, rules_and_net)}
    rules_ms = 1000 * (time.perf_counter() - started) / (2 * len(cases))
    print(
        f"{len(cases)} messages ({sum(c.negative for c in cases)} must yield nothing) from {CORPUS.relative_to(REPO)}"
    )
    print(f"rules + net: {rules_ms:.1f} ms per message\n")
    print(table(scores))
    if args.model_extraction:
        sample: list[Case] = cases[:: max(1, len(cases) // max(1, args.limit))][: args.limit]
        model, everything, seconds = model_methods(args.max_tokens)
        sampled = {
            "rules+net": score(sample, rules_and_net),
            "model": score(sample, model),
            "rules+net+model": score(sample, everything),
        }
        print(f"\non {len(sample)} sampled messages, SmolLM2-135M on 1 thread, max {args.max_tokens} tokens:\n")
        print(table(sampled))
        if seconds:
            print(
                f"\nmodel extraction: {statistics.mean(seconds):.1f} s per message on average, "
                f"{max(seconds):.1f} s at worst ({len(seconds)} messages)"
            )
        scores |= {f"sample {name}": value for name, value in sampled.items()}
    if args.verbose:
        for name, result in scores.items():
            print(f"\n{name}: misses\n  " + "\n  ".join(result.misses))
            print(f"{name}: false facts\n  " + "\n  ".join(result.false_facts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
