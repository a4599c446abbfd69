"""Evidence recall@1/5/10 of the memory engine vs pure BM25 and pure dense search, same messages, same run.

    .venv/bin/python benchmarks/recall_quality.py [--sessions 300] [--seed 7] [--locomo DIR] [--quick]
        [--only synthetic|locomo] [--embedder NAME_OR_FOLDER] [--dense-share SHARE]

Two sets, each with the engine and its baselines in the same run:

The LoCoMo development set (benchmarks/locomo.py; found at shared/eval/locomo-dev beside the
repository or a parent of it, or at $ASSISTANT_LOCOMO_DIR or --locomo DIR): real, long,
multi-session conversations imported as `assistant memory import` does, asked as `assistant
memory search` does; R@1/5/10, All@10 and the top 5's characters, overall and per category.
--quick asks only the smallest conversation, for iterating.

The evaluation set (benchmarks/evalset.py) is generated deterministically: a year of
multi-session chats with planted facts, changed facts, preferences, dated events, short
answers that need the question they answered, and two-hop questions. A question's recall@k
is the share of its evidence messages among the top k results' sources.

--embedder measures another sentence-transformers model (the `embedder` setting's values: the
bundled name or a model folder) for the engine and the dense baseline alike; --dense-share
sets the engine's `recall_dense_share` (default: the setting's default).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("LANCE_LOG", "error")  # LanceDB's deprecation notices, once per search

from evalset import EvalSet, build_evalset  # noqa: E402

KS = (1, 5, 10)


def recall_at(ranked: list[list[str]], evidence: list[str], k: int) -> float:
    found: set[str] = set()
    for sources in ranked[:k]:
        found.update(sources)
    return sum(1 for e in evidence if e in found) / len(evidence)


def run_engine(evalset: EvalSet, folder: Path, embedder, weights=None) -> tuple[list[list[list[str]]], float]:
    import json

    from assistant.memory.engine import MemoryEngine
    from assistant.memory.store import MemoryStore

    store = MemoryStore(folder, embedder.dimension)
    engine = MemoryEngine(store, embedder, "bench", now=lambda: evalset.end, weights=weights)
    report = engine.import_jsonl(json.dumps(message) + "\n" for message in evalset.messages)
    assert report.imported == len(evalset.messages) and not report.bad_lines, report
    started = time.perf_counter()
    results = engine.search_many([q.text for q in evalset.questions], k=max(KS), reinforce=False)
    elapsed = time.perf_counter() - started
    return [[hit.memory.sources for hit in hits] for hits in results], elapsed


def run_baselines(evalset: EvalSet, folder: Path, embedder) -> dict[str, list[list[list[str]]]]:
    import lancedb
    import numpy as np
    import pyarrow as pa
    from lancedb.index import FTS

    from assistant.memory.embed import embed_array

    contents = [message["content"] for message in evalset.messages]
    vectors = embed_array(embedder, contents)
    table = lancedb.connect(str(folder)).create_table(
        "baseline",
        pa.table(
            {
                "id": [message["id"] for message in evalset.messages],
                "content": contents,
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1]),
            }
        ),
    )
    table.create_index("content", config=FTS())
    query_vectors = embed_array(embedder, [q.text for q in evalset.questions])
    k = max(KS)
    bm25, dense = [], []
    for question, vector in zip(evalset.questions, query_vectors, strict=True):
        rows = table.search(question.text, query_type="fts").select(["id", "_score"]).limit(k).to_list()
        bm25.append([[row["id"]] for row in rows])
        rows = table.search(np.asarray(vector)).distance_type("cosine").select(["id", "_distance"]).limit(k).to_list()
        dense.append([[row["id"]] for row in rows])
    return {"pure BM25": bm25, "pure dense": dense}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--locomo", help="the LoCoMo development set's folder (default: shared/eval/locomo-dev)")
    parser.add_argument("--quick", action="store_true", help="LoCoMo: only the smallest conversation")
    parser.add_argument("--only", choices=("synthetic", "locomo"), help="run one of the two sets")
    parser.add_argument(
        "--embedder", default="all-minilm-l6-v2", help="the bundled embedder's name or a sentence-transformers folder"
    )
    parser.add_argument("--dense-share", type=float, help="the engine's recall_dense_share setting")
    args = parser.parse_args()

    from assistant.config import Settings
    from assistant.memory.embed import open_embedder
    from assistant.memory.ranking import RecallWeights

    embedder = open_embedder(args.embedder)
    share = Settings().recall_dense_share if args.dense_share is None else args.dense_share
    weights = RecallWeights(dense_share=share)
    print(f"embedder: {args.embedder} ({embedder.dimension} dimensions), recall_dense_share {share}\n")
    if args.only != "synthetic":
        run_locomo(args.locomo, args.quick, embedder, weights)
    if args.only != "locomo":
        run_synthetic(args.sessions, args.seed, embedder, weights)


def run_locomo(explicit: str | None, quick: bool, embedder, weights) -> None:
    import locomo

    folder = locomo.find_dir(explicit)
    if folder is None or not folder.is_dir():
        sys.exit(f"no LoCoMo development set at {folder or 'shared/eval/locomo-dev'}: pass --locomo DIR")
    conversations = locomo.load(folder, quick=quick)
    methods: dict[str, list] = {"engine": [], "BM25": [], "dense ±1": []}
    questions: list = []
    seconds = 0.0
    with tempfile.TemporaryDirectory() as scratch:
        for conversation in conversations:
            started = time.perf_counter()
            methods["engine"] += locomo.run_engine(
                conversation, Path(scratch) / f"engine-{conversation.name}", embedder, weights
            )
            seconds += time.perf_counter() - started
            for name, ranked in locomo.run_baselines(
                conversation, Path(scratch) / f"base-{conversation.name}", embedder
            ).items():
                methods[name] += ranked
            questions += conversation.questions
    names = ", ".join(f"{c.name} ({len(c.messages)} messages)" for c in conversations)
    print(f"LoCoMo dev: conversations {names}; {len(questions)} questions; engine import+recall {seconds:.1f}s\n")
    locomo.report(methods, questions)
    print()


def run_synthetic(sessions: int, seed: int, embedder, weights) -> None:
    evalset = build_evalset(sessions, seed)
    print(f"synthetic: {len(evalset.messages)} messages in {sessions} sessions, {len(evalset.questions)} questions")
    with tempfile.TemporaryDirectory() as scratch:
        engine_results, seconds = run_engine(evalset, Path(scratch) / "engine", embedder, weights)
        methods = {"engine (hybrid)": engine_results, **run_baselines(evalset, Path(scratch) / "baseline", embedder)}
    print(f"engine: {len(evalset.questions)} recalls in {seconds:.2f}s\n")

    header = f"{'method':<18}" + "".join(f"{'R@' + str(k):>8}" for k in KS)
    print(header)
    print("-" * len(header))
    scores: dict[str, dict[int, float]] = {}
    for name, ranked in methods.items():
        scores[name] = {
            k: sum(recall_at(r, q.evidence, k) for r, q in zip(ranked, evalset.questions, strict=True))
            / len(evalset.questions)
            for k in KS
        }
        print(f"{name:<18}" + "".join(f"{scores[name][k]:>8.3f}" for k in KS))
    engine = scores["engine (hybrid)"]
    for baseline in ("pure BM25", "pure dense"):
        ratio = "  ".join(
            f"R@{k} {engine[k] - scores[baseline][k]:+.3f} ({engine[k] / max(scores[baseline][k], 1e-9):.2f}x)"
            for k in KS
        )
        print(f"engine vs {baseline:<11} {ratio}")

    print(f"\nrecall@5 by category ({', '.join(evalset.categories())})")
    print(f"{'method':<18}" + "".join(f"{c:>12}" for c in evalset.categories()))
    for name, ranked in methods.items():
        row = []
        for category in evalset.categories():
            pairs = [(r, q) for r, q in zip(ranked, evalset.questions, strict=True) if q.category == category]
            row.append(sum(recall_at(r, q.evidence, 5) for r, q in pairs) / len(pairs))
        print(f"{name:<18}" + "".join(f"{value:>12.3f}" for value in row))


if __name__ == "__main__":
    main()
