"""Import throughput of `MemoryEngine.import_jsonl` vs raw sentence-transformers encoding, same texts, same run.

    .venv/bin/python benchmarks/import_speed.py [--sessions 300]

Raw: `SentenceTransformer.encode` of every message's content (batch size as the engine's).
Import: parse JSON Lines, de-duplicate, embed, write messages, memories, conversations and audit
rows to LanceDB, and fold them into the indexes. Goal: import >= 0.8x raw.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from evalset import build_evalset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs of each; best is reported")
    args = parser.parse_args()

    from assistant.memory.embed import open_embedder
    from assistant.memory.engine import MemoryEngine
    from assistant.memory.store import MemoryStore

    messages = build_evalset(args.sessions).messages
    lines = [json.dumps(message) + "\n" for message in messages]
    texts = [message["content"] for message in messages]
    embedder = open_embedder("all-minilm-l6-v2")
    model = embedder.model
    model.encode(texts[:256], batch_size=embedder.batch_size)  # warm up

    raw_times, import_times = [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True, convert_to_numpy=True)
        raw_times.append(time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as scratch:
            engine = MemoryEngine(MemoryStore(Path(scratch) / "memory", embedder.dimension), embedder, "bench")
            started = time.perf_counter()
            report = engine.import_jsonl(lines)
            import_times.append(time.perf_counter() - started)
            assert report.imported == len(lines), report
    raw, imported = min(raw_times), min(import_times)
    count = len(texts)
    print(f"{count} messages, batch size {embedder.batch_size}, best of {args.repeats}\n")
    print(f"{'step':<34}{'seconds':>10}{'msgs/s':>10}")
    print(f"{'raw sentence-transformers encode':<34}{raw:>10.2f}{count / raw:>10.0f}")
    print(f"{'memory import (embed + LanceDB)':<34}{imported:>10.2f}{count / imported:>10.0f}")
    print(f"\nimport throughput / raw encode = {raw / imported:.2f}  (goal >= 0.80)")


if __name__ == "__main__":
    main()
