"""Extraction quality: deterministic rules, the starter model, and both merged, on labelled messages.

The labelled messages are the table in tests/unit/test_extract_rules.py: statements about the
user with their expected (kind, key, value), and messages that must yield nothing. Each
exchange gets the same distracting assistant reply, so "false facts" also counts any
assistant words that leak into user facts. The baseline, measured in the same run, is
model-only extraction (what the product would do without the rules).

    python benchmarks/extraction_quality.py [--limit 12] [--negatives 6]

Goal: merged recall well above the model-only baseline, and zero false facts.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from datetime import datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.learning.candidate import Candidate  # noqa: E402
from assistant.learning.explicit import extract_explicit  # noqa: E402
from assistant.learning.model_extraction import GLUE_STEMS, extract_with_model, merge_candidates  # noqa: E402
from assistant.llm.catalog import resolve_model  # noqa: E402
from assistant.llm.runner import ModelRunner  # noqa: E402
from assistant.memory.language import content_stems  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2025, 3, 3, 9, 30)
ASSISTANT_REPLY = "Thanks for telling me! I live in the cloud, I love Paris and my favourite colour is purple."


def load_table() -> tuple[list[tuple[str, set[tuple[object, str | None, str | None]]]], list[str]]:
    spec = importlib.util.spec_from_file_location("rules_table", REPO / "tests" / "unit" / "test_extract_rules.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EXPECTED, module.NOTHING


def found(expected: tuple[object, str | None, str | None], candidates: list[Candidate]) -> bool:
    _, key, value = expected
    for candidate in candidates:
        if candidate.retracts or candidate.key != key:
            continue
        if candidate.value is None or value is None or candidate.value.lower() == value.lower():
            return True
    return False


def false_facts(candidates: list[Candidate], user_text: str, negative: bool) -> int:
    assistant_only = content_stems(ASSISTANT_REPLY) - content_stems(user_text)
    # Template verbs ("User lives in ...") are not leaks; the assistant's content words are.
    leaked = [c for c in candidates if (content_stems(c.text) - GLUE_STEMS) & assistant_only]
    positive = [c for c in candidates if not c.retracts]
    return len(positive) if negative else len(leaked)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=12, help="labelled statements sent to the model")
    parser.add_argument("--negatives", type=int, default=6, help="must-yield-nothing messages sent to the model")
    args = parser.parse_args()

    expected_table, nothing = load_table()
    step = max(1, len(expected_table) // max(1, args.limit))
    sample = expected_table[::step][: args.limit]
    negatives = nothing[:: max(1, len(nothing) // max(1, args.negatives))][: args.negatives]

    runner = ModelRunner(resolve_model("smollm2-135m-instruct").path, context_size=2048, threads=2, seed=7)
    runner.load()

    rows: dict[str, dict[str, float]] = {
        name: {"hits": 0, "total": 0, "false": 0, "seconds": 0.0, "errors": 0} for name in ("model", "rules", "merged")
    }
    messages = [(text, facts, False) for text, facts in sample] + [(text, set(), True) for text in negatives]
    for index, (text, facts, negative) in enumerate(messages, 1):
        started = time.perf_counter()
        result = extract_with_model(runner, text, ASSISTANT_REPLY, source_id="m", now=NOW)
        model_seconds = time.perf_counter() - started
        started = time.perf_counter()
        rules = extract_explicit(text, now=NOW, source_id="m")
        rules_seconds = time.perf_counter() - started
        merged = merge_candidates(rules, result.candidates)
        for name, candidates, seconds in (
            ("model", result.candidates, model_seconds),
            ("rules", rules, rules_seconds),
            ("merged", merged, model_seconds + rules_seconds),
        ):
            row = rows[name]
            row["hits"] += sum(found(fact, candidates) for fact in facts)
            row["total"] += len(facts)
            row["false"] += false_facts(candidates, text, negative)
            row["seconds"] += seconds
        rows["model"]["errors"] += result.error is not None
        rows["merged"]["errors"] += result.error is not None
        print(f"  {index}/{len(messages)} {model_seconds:5.1f}s  {text[:60]!r}", file=sys.stderr)

    full_hits = sum(
        found(fact, extract_explicit(text, now=NOW, source_id="m")) for text, facts in expected_table for fact in facts
    )
    full_total = sum(len(facts) for _, facts in expected_table)

    baseline = rows["model"]["hits"] / rows["model"]["total"] if rows["model"]["total"] else 0.0
    print(
        f"\n{len(sample)} labelled statements + {len(negatives)} must-yield-nothing messages, SmolLM2-135M, 2 threads\n"
    )
    print(f"{'method':<8} {'recall':>8} {'vs model':>9} {'false facts':>12} {'model errors':>13} {'ms/message':>11}")
    for name, row in rows.items():
        recall = row["hits"] / row["total"] if row["total"] else 0.0
        ratio = f"{recall / baseline:.1f}x" if baseline else "n/a"
        per_message = 1000 * row["seconds"] / len(messages)
        print(
            f"{name:<8} {recall:>8.0%} {ratio:>9} {int(row['false']):>12} {int(row['errors']):>13} {per_message:>11.1f}"
        )
    print(f"\nrules on the whole table: {full_hits}/{full_total} expected facts ({full_hits / full_total:.0%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
