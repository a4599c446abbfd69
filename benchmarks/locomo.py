"""The LoCoMo development set (shared/eval/locomo-dev): load it, run the engine and the baselines, score.

Each conversation is imported into a fresh memory space through the real import path
(`engine.import_file`, as `assistant memory import` does) and every scored question (category
1-4 with evidence) is asked through `search_many`, as `assistant memory search` does in batch
mode. A result's evidence is its `sources` (message ids); its cost is the length of its text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_DIR = "ASSISTANT_LOCOMO_DIR"
RELATIVE = Path("shared") / "eval" / "locomo-dev"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
KS = (1, 5, 10)


@dataclass(frozen=True)
class Question:
    qid: str
    text: str
    category: int
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Conversation:
    name: str
    path: Path
    messages: list[dict[str, Any]]
    questions: list[Question]


# One result as the scorer sees it: its source message ids and the text it costs the prompt.
Result = tuple[Sequence[str], str]


def find_dir(explicit: str | None) -> Path | None:
    """--locomo, else $ASSISTANT_LOCOMO_DIR, else shared/eval/locomo-dev beside the repo or a parent of it."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    for parent in Path(__file__).resolve().parents:
        if (parent / RELATIVE).is_dir():
            return parent / RELATIVE
    return None


def load(folder: Path, *, quick: bool = False) -> list[Conversation]:
    conversations = []
    for path in sorted(folder.glob("conversation-*.jsonl")):
        name = path.stem.split("-", 1)[1]
        messages = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        raw = json.loads((folder / f"questions-{name}.json").read_text(encoding="utf-8"))
        questions = [
            Question(str(q["qid"]), q["question"], int(q["category"]), tuple(q["evidence"]))
            for q in raw
            if int(q["category"]) in CATEGORIES and q.get("evidence")
        ]
        conversations.append(Conversation(name, path, messages, questions))
    if quick:
        # The smallest conversation: well under a minute on a busy machine.
        conversations = [min(conversations, key=lambda c: len(c.messages))]
    return conversations


def run_engine(conversation: Conversation, folder: Path, embedder: Any, weights: Any = None) -> list[list[Result]]:
    from assistant.memory.engine import MemoryEngine, display_text
    from assistant.memory.store import MemoryStore

    engine = MemoryEngine(MemoryStore(folder, embedder.dimension), embedder, "bench", weights=weights)
    try:
        report = engine.import_file(conversation.path)
        assert not report.bad_lines, report.bad_lines
        results = engine.search_many([q.text for q in conversation.questions], k=max(KS), reinforce=False)
    finally:
        engine.close()
    return [[(hit.memory.sources, display_text(hit.memory)) for hit in hits] for hits in results]


def run_baselines(conversation: Conversation, folder: Path, embedder: Any) -> dict[str, list[list[Result]]]:
    """BM25 over the messages' words; dense over `[date] Speaker: text`, each hit with its ±1 turns."""
    import lancedb
    import numpy as np
    import pyarrow as pa
    from lancedb.index import FTS

    from assistant.memory.embed import embed_array

    messages = conversation.messages
    ids = [m["id"] for m in messages]
    said = [f"{m['speaker']}: {m['content']}" for m in messages]
    dated = [f"[{m['timestamp'][:10]}] {text}" for m, text in zip(messages, said, strict=True)]
    vectors = embed_array(embedder, dated)
    table = lancedb.connect(str(folder)).create_table(
        "baseline",
        pa.table(
            {
                "row": list(range(len(messages))),
                "content": [m["content"] for m in messages],
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1]),
            }
        ),
    )
    table.create_index("content", config=FTS())
    questions = conversation.questions
    query_vectors = embed_array(embedder, [q.text for q in questions])
    k = max(KS)
    bm25: list[list[Result]] = []
    dense: list[list[Result]] = []
    for question, vector in zip(questions, query_vectors, strict=True):
        rows = table.search(question.text, query_type="fts").select(["row", "_score"]).limit(k).to_list()
        bm25.append([([ids[r["row"]]], said[r["row"]]) for r in rows])
        rows = table.search(np.asarray(vector)).distance_type("cosine").select(["row", "_distance"]).limit(k).to_list()
        hits: list[Result] = []
        for r in rows:
            span = [i for i in (r["row"] - 1, r["row"], r["row"] + 1) if 0 <= i < len(messages)]
            hits.append(([ids[i] for i in span], "\n".join(dated[i] for i in span)))
        dense.append(hits)
    return {"BM25": bm25, "dense ±1": dense}


def recall_at(results: Sequence[Result], evidence: Sequence[str], k: int) -> float:
    found = {source for sources, _ in results[:k] for source in sources}
    return sum(1 for e in evidence if e in found) / len(evidence)


def scores(results: Sequence[Sequence[Result]], questions: Sequence[Question]) -> dict[str, float]:
    """R@1/5/10, All@10 and the mean characters of the top 5, over these questions."""
    n = max(1, len(questions))
    pairs = list(zip(results, questions, strict=True))
    out = {f"R@{k}": sum(recall_at(r, q.evidence, k) for r, q in pairs) / n for k in KS}
    out["All@10"] = sum(1 for r, q in pairs if recall_at(r, q.evidence, 10) == 1.0) / n
    out["chars"] = sum(sum(len(text) for _, text in r[:5]) for r, _ in pairs) / n
    return out


def report(methods: dict[str, list[list[Result]]], questions: Sequence[Question]) -> None:
    columns = ("R@1", "R@5", "R@10", "All@10", "chars")
    header = f"{'method':<18}{'questions':>10}" + "".join(f"{c:>8}" for c in columns)
    print(header)
    print("-" * len(header))
    groups: list[tuple[str, list[int]]] = [("all", list(range(len(questions))))]
    for category, label in CATEGORIES.items():
        groups.append((f"{category} {label}", [i for i, q in enumerate(questions) if q.category == category]))
    for name, ranked in methods.items():
        for label, chosen in groups:
            if not chosen:
                continue
            row = scores([ranked[i] for i in chosen], [questions[i] for i in chosen])
            title = name if label == "all" else f"  {label}"
            print(
                f"{title:<18}{len(chosen):>10}"
                + "".join(f"{row[c]:>8.0f}" if c == "chars" else f"{row[c]:>8.3f}" for c in columns)
            )
