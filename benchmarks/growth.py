"""A simulated year of use with periodic maintenance vs the same messages with none, same run.

    .venv/bin/python benchmarks/growth.py [--messages 20000] [--model-groups 0]

Messages come from benchmarks/evalset.py (planted facts and questions over a year). Store A
gets every message and no maintenance; store B gets the same messages month by month with a
maintenance pass (compression, decay, index upkeep) at each simulated month end. Summaries
are extractive (no model) unless --model-groups N lets the chat model write the first N.
Reported: active memories, disk size, recall latency and evidence recall@k of the
evaluation questions, with B/A ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from evalset import EvalSet, build_evalset  # noqa: E402
from recall_quality import recall_at  # noqa: E402

KS = (1, 5, 10)
LOST_AT = 5  # the k of the per-category breakdown


class CachingEmbedder:
    """Both stores embed the same texts: compute each vector once."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.cache: dict[str, list[float]] = {}

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            for text, vector in zip(missing, self.inner.embed(missing), strict=True):
                self.cache[text] = list(vector)
        return [self.cache[t] for t in texts]


def tree_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def measure(engine, evalset: EvalSet, folder: Path) -> dict[str, float]:
    engine.search_many(["warm up"], reinforce=False)
    latencies, ranked, shown = [], [], []
    for question in evalset.questions:
        started = time.perf_counter()
        hits = engine.search(question.text, k=max(KS), reinforce=False)
        latencies.append(time.perf_counter() - started)
        ranked.append([hit.memory.sources for hit in hits])
        shown.append([f"{hit.memory.kind}: {' '.join(hit.memory.text.split())[:110]}" for hit in hits[:LOST_AT]])
    stats = engine.stats()
    result = {
        "active": stats["by_status"].get("active", 0),
        "disk_mb": tree_size(folder) / 1e6,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000,
    }
    for k in KS:
        result[f"R@{k}"] = sum(
            recall_at(r, q.evidence, k) for r, q in zip(ranked, evalset.questions, strict=True)
        ) / len(evalset.questions)
    # Per question, for the breakdown by category and the list of questions maintenance lost.
    result["each"] = [recall_at(r, q.evidence, LOST_AT) for r, q in zip(ranked, evalset.questions, strict=True)]
    result["shown"] = shown
    return result


def breakdown(evalset: EvalSet, a: dict, b: dict, show_lost: int) -> None:
    """R@LOST_AT by question category, and the questions maintenance lost (with what B ranked instead)."""
    categories: dict[str, list[int]] = {}
    for index, question in enumerate(evalset.questions):
        categories.setdefault(question.category, []).append(index)
    print(f"\nR@{LOST_AT} by category{'':<6}{'no maintenance':>16}{'maintained':>12}{'questions':>10}")
    for category, indexes in sorted(categories.items()):
        before = statistics.mean(a["each"][i] for i in indexes)
        after = statistics.mean(b["each"][i] for i in indexes)
        print(f"  {category:<24}{before:>16.3f}{after:>12.3f}{len(indexes):>10}")
    lost = [i for i, _ in enumerate(evalset.questions) if b["each"][i] < a["each"][i]]
    won = [i for i, _ in enumerate(evalset.questions) if b["each"][i] > a["each"][i]]
    print(f"questions lost at {LOST_AT}: {len(lost)}, gained: {len(won)}")
    for i in lost[:show_lost]:
        question = evalset.questions[i]
        print(f"  [{question.category}] {question.text}")
        for line in b["shown"][i]:
            print(f"      {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000, help="about how many messages to feed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model-groups", type=int, default=0, help="let the chat model summarise this many groups")
    parser.add_argument("--topic-similarity", type=float, default=None, help="override the clustering threshold")
    parser.add_argument("--max-group", type=int, default=None, help="override the largest group compressed together")
    parser.add_argument("--show-lost", type=int, default=0, help="list this many questions maintenance lost")
    args = parser.parse_args()

    from assistant.config import Settings
    from assistant.memory import maintenance
    from assistant.memory.maintenance import grouping  # the grouping thresholds live there

    if args.topic_similarity is not None:
        grouping.TOPIC_SIMILARITY = args.topic_similarity
    if args.max_group is not None:
        grouping.MAX_GROUP = args.max_group
    from assistant.memory.embed import open_embedder
    from assistant.memory.engine import MemoryEngine, parse_time
    from assistant.memory.store import MemoryStore

    # Sessions vary in length: size the first try on a guess, then scale to the asked-for count.
    sessions = max(12, round(args.messages / 8))
    evalset = build_evalset(sessions, args.seed)
    sessions = max(12, round(sessions * args.messages / len(evalset.messages)))
    evalset = build_evalset(sessions, args.seed)
    embedder = CachingEmbedder(open_embedder("all-minilm-l6-v2"))
    settings = Settings()
    runner = None
    if args.model_groups:
        from assistant.application.session import open_runner

        runner = open_runner(settings)
    print(f"{len(evalset.messages)} messages in {sessions} sessions over a year, {len(evalset.questions)} questions")
    print(f"grouping: topic similarity {grouping.TOPIC_SIMILARITY}, at most {grouping.MAX_GROUP} messages")

    with tempfile.TemporaryDirectory() as scratch:
        folder_a, folder_b = Path(scratch) / "none", Path(scratch) / "maintained"
        end = evalset.end
        engine_a = MemoryEngine(MemoryStore(folder_a, embedder.dimension), embedder, "bench", now=lambda: end)
        started = time.perf_counter()
        engine_a.import_jsonl(json.dumps(m) + "\n" for m in evalset.messages)
        print(f"store A: imported in {time.perf_counter() - started:.0f}s")

        clock = [parse_time(evalset.messages[0]["timestamp"])]
        engine_b = MemoryEngine(MemoryStore(folder_b, embedder.dimension), embedder, "bench", now=lambda: clock[0])
        months: dict[str, list[dict]] = {}
        for message in evalset.messages:
            months.setdefault(message["timestamp"][:7], []).append(message)
        model_left = args.model_groups
        print(f"\n{'month':<8}{'fed':>8}{'active':>8}{'summaries':>10}{'archived':>9}{'disk MB':>9}{'pass s':>8}")
        fed = 0
        for month, messages in sorted(months.items()):
            engine_b.import_jsonl(json.dumps(m) + "\n" for m in messages)
            fed += len(messages)
            clock[0] = parse_time(messages[-1]["timestamp"]) + timedelta(hours=1)
            started = time.perf_counter()
            use = runner if model_left > 0 else None
            report = maintenance.run_pass(engine_b, use, settings, clock[0], keep_versions_for=timedelta(0))
            if use is not None:
                model_left -= report.compress.groups
            stats = engine_b.stats()
            print(
                f"{month:<8}{fed:>8}{stats['by_status'].get('active', 0):>8}{stats['by_kind'].get('summary', 0):>10}"
                f"{stats['by_status'].get('archived', 0):>9}{tree_size(folder_b) / 1e6:>9.1f}"
                f"{time.perf_counter() - started:>8.1f}"
            )
        clock[0] = end
        maintenance.maintain_indexes(engine_a, keep_versions_for=timedelta(0))  # same compaction for a fair size
        a, b = measure(engine_a, evalset, folder_a), measure(engine_b, evalset, folder_b)

    print(f"\n{'':<22}{'no maintenance':>16}{'maintained':>12}{'ratio':>8}")
    for name in ("active", "disk_mb", "p50_ms", "p95_ms", *[f"R@{k}" for k in KS]):
        ratio = b[name] / a[name] if a[name] else float("nan")
        fmt = ".0f" if name == "active" else ".3f" if name.startswith("R@") else ".1f"
        print(f"{name:<22}{a[name]:>16{fmt}}{b[name]:>12{fmt}}{ratio:>8.2f}")
    print(
        f"{'active / said':<22}{a['active'] / len(evalset.messages):>16.3f}{b['active'] / len(evalset.messages):>12.3f}"
    )
    for k in KS:
        print(f"R@{k} change: {b[f'R@{k}'] - a[f'R@{k}']:+.3f}")
    breakdown(evalset, a, b, args.show_lost)


if __name__ == "__main__":
    main()
