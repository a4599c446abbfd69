"""Ranking recall's candidates: score fusion, the score's other signals, and near-duplicates.

Candidates from several searches are fused by their normalised scores (fusion.py: with the
exchange and conversation they belong to, the time the query names, and whose words they
are); the relevance is then blended with recency (a configurable half-life), importance and
use, and near-duplicates collapse into the best of them (keeping every source). Nothing here
reads the store.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from assistant.memory.fusion import (
    DENSE_SHARE,
    by_conversation,
    by_exchange,
    by_speaker,
    fused_relevance,
    in_time,
    says_when,
    text_scores,
)
from assistant.memory.selection import quoted, select
from assistant.memory.store import row_to_memory
from assistant.memory.types import Kind, Memory, RecallHit, Status

if TYPE_CHECKING:
    import numpy as np

RRF_K = 60
DUPLICATE_SIMILARITY = 0.96
USE_SATURATION = 20  # access count at which the use signal is full
SELECTION_POOL = 3  # times k: the candidates the final selection chooses from


def one_blas_thread() -> None:
    """Run numpy's matrix products on the calling thread alone, for the whole process.

    Ranking's products are small (a query against ~100 candidates, their similarity matrix).
    With more than one thread, OpenBLAS's helper threads stay awake spinning after each
    product: at 100k memories they took 46% of the process's CPU and doubled a recall's CPU
    time (68 against 38 ms), which the searches and the query's embedding beside them lost.
    """
    import numpy  # noqa: F401 - its BLAS must be loaded for threadpoolctl to find and limit it
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


@dataclass(frozen=True)
class Matched:
    """What a hit was found by: the memory itself, or for a summary, the compressed message that matched."""

    text: str
    vector: Any
    sources: tuple[str, ...]


@dataclass(frozen=True)
class RecallWeights:
    """How much each signal counts in the final score (they need not sum to one), and how much
    of the relevance is the match of meaning (vectors) rather than of words (BM25)."""

    relevance: float = 0.80
    recency: float = 0.08
    importance: float = 0.07
    use: float = 0.05
    dense_share: float = DENSE_SHARE


def recency_score(moment: datetime | None, now: datetime, half_life_days: float) -> float:
    if moment is None:
        return 0.0
    age_days = max(0.0, (now - moment).total_seconds() / 86400.0)
    score: float = 0.5 ** (age_days / half_life_days)
    return score


def use_score(access_count: int, pinned: bool) -> float:
    if pinned:
        return 1.0
    return min(1.0, math.log1p(max(0, access_count)) / math.log1p(USE_SATURATION))


def first_pass(dense: list[dict[str, Any]], sparse: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Candidates ordered by plain rank fusion, before any re-ranking (the second hop's seeds)."""
    scores: dict[str, float] = {}
    rows: dict[str, dict[str, Any]] = {}
    for ranking in (dense, sparse):
        for rank, row in enumerate(ranking):
            rows.setdefault(row["id"], row)
            scores[row["id"]] = scores.get(row["id"], 0.0) + 1.0 / (RRF_K + rank + 1)
    return [rows[memory_id] for memory_id in sorted(scores, key=scores.__getitem__, reverse=True)]


def rank_candidates(
    rankings: Sequence[tuple[list[dict[str, Any]], float]],
    k: int,
    *,
    weights: RecallWeights,
    now: datetime,
    half_life_days: float,
    query_vectors: np.ndarray | None = None,
    stand_ins: dict[str, dict[str, Any]] | None = None,
    window: tuple[datetime, datetime] | None = None,
    people: Sequence[str] = (),
    asks_when: bool = False,
) -> list[RecallHit]:
    """Fuse weighted rankings by their scores (fusion.py), re-rank by all signals, collapse duplicates.

    `query_vectors` are the query's phrasings (one row or several): each candidate's similarity
    is to the phrasing it matches best; a candidate inside `window` (the time the query names)
    is lifted, and so is one that says when, if the query `asks_when`.

    With `stand_ins` (default recall), a compressed message is ranked as itself, exactly as
    before compression, and then its summary takes its place; a message no summary covers
    (archived by decay) is left out. Ranking the message rather than the summary keeps a
    summary from adding up weak matches of several of its messages into a strong one.
    """
    rows: dict[str, dict[str, Any]] = {}
    similarity: dict[str, float] = {}
    for ranking, _weight in rankings:
        for row in ranking:
            rows.setdefault(row["id"], row)
            if row.get("_distance") is not None:
                similarity[row["id"]] = 1.0 - float(row["_distance"])
    if query_vectors is not None:
        similarity.update(best_similarity(query_vectors, rows))
    relevance_of = fused_relevance(list(rows), similarity, text_scores(rankings), weights.dense_share)
    relevance_of = by_speaker(rows, by_exchange(rows, relevance_of), people)
    relevance_of = says_when(rows, in_time(rows, by_conversation(rows, relevance_of), window), asks_when)
    hits: list[tuple[RecallHit, Any]] = []
    for memory_id, row in rows.items():
        memory = row_to_memory(row)
        relevance = relevance_of[memory_id]
        recency = recency_score(memory.valid_from or memory.created_at, now, half_life_days)
        use = use_score(memory.access_count, memory.pinned)
        score = (
            weights.relevance * relevance
            + weights.recency * recency
            + weights.importance * memory.importance
            + weights.use * use
        )
        hit = RecallHit(
            memory,
            score,
            relevance=relevance,
            recency=recency,
            importance=memory.importance,
            use=use,
            similarity=similarity.get(memory_id, 0.0),
        )
        matched = Matched(memory.text, row.get("vector"), tuple(memory.sources))
        if stand_ins is not None and memory.status == Status.ARCHIVED:
            summary = stand_ins.get(memory_id)
            if summary is None:
                continue
            hit = replace(hit, memory=row_to_memory(summary))
        hits.append((hit, matched))
    hits.sort(key=lambda pair: pair[0].score, reverse=True)
    # More than k survive the duplicates, so the selection can give other sessions a turn and
    # join neighbouring turns (selection.py).
    return select(collapse_duplicates(hits, SELECTION_POOL * k), k)


def best_similarity(query_vectors: np.ndarray, rows: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Each candidate's cosine similarity to the phrasing of the query it matches best.

    One small matrix product over the candidates (not the store): stored vectors are unit length.
    """
    import numpy as np

    ids = [memory_id for memory_id, row in rows.items() if row.get("vector") is not None]
    if not ids:
        return {}
    queries = np.atleast_2d(np.asarray(query_vectors, dtype=np.float32))
    queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    candidates = np.asarray([rows[memory_id]["vector"] for memory_id in ids], dtype=np.float32)
    candidates = candidates / np.maximum(np.linalg.norm(candidates, axis=1, keepdims=True), 1e-12)
    best = (candidates @ queries.T).max(axis=1)
    return {memory_id: float(value) for memory_id, value in zip(ids, best, strict=True)}


def cosine(a: Any, b: Any) -> float:
    import numpy as np

    left, right = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    norms = float(np.linalg.norm(left) * np.linalg.norm(right))
    return float(left @ right) / norms if norms else 0.0


def adjacent(first: Memory, second: Memory) -> bool:
    """One person's message answered another's: their vectors share the reply's meaning (message_log.py
    blends it in), so they look alike without saying the same thing, and neither is a duplicate."""
    if first.kind != Kind.EPISODIC or second.kind != Kind.EPISODIC or first.conversation_id != second.conversation_id:
        return False
    if first.speaker == second.speaker:  # one person's two messages in a row are not blended
        return False
    return second.context == quoted(first) or first.context == quoted(second)


def _normalized(text: str) -> str:
    return " ".join(text.lower().split())


def collapse_duplicates(hits: Sequence[tuple[RecallHit, Matched]], k: int) -> list[RecallHit]:
    """Keep the best of each group of near-identical matches; it inherits the others' sources.

    A summary found through one of its compressed messages is compared by that message: the
    same small talk repeated across a year ("my friend is allergic to sesame") lands in many
    summaries, and must take one place in the results, as the repeated messages did before
    they were compressed, not crowd out the one message that answers the question.
    """
    import numpy as np

    # Every pair's similarity at once: one small matrix product over the candidates (tens).
    # A candidate without a vector is a row of zeros, a duplicate of nothing by meaning.
    dimension = next((len(matched.vector) for _, matched in hits if matched.vector is not None), 1)
    vectors = np.asarray(
        [matched.vector if matched.vector is not None else [0.0] * dimension for _, matched in hits],
        dtype=np.float32,
    ).reshape(len(hits), dimension)
    similarity = vectors @ vectors.T
    kept: list[RecallHit] = []
    kept_rows: list[int] = []
    kept_texts: dict[str, int] = {}
    kept_ids: set[str] = set()
    for row, (hit, matched) in enumerate(hits):
        if hit.memory.id in kept_ids:
            continue  # a summary again, through another of its messages
        duplicate_of = kept_texts.get(_normalized(matched.text))
        if duplicate_of is None and kept_rows:
            similarities = similarity[row, kept_rows]
            best = int(np.argmax(similarities))
            if similarities[best] >= DUPLICATE_SIMILARITY and not adjacent(kept[best].memory, hit.memory):
                duplicate_of = best
        if duplicate_of is not None:
            target = kept[duplicate_of].memory
            extra = [source for source in matched.sources if source not in target.sources]
            if extra:
                kept[duplicate_of] = replace(
                    kept[duplicate_of], memory=replace(target, sources=[*target.sources, *extra])
                )
            continue
        if len(kept) >= k:
            continue
        kept_texts[_normalized(matched.text)] = len(kept)
        kept_ids.add(hit.memory.id)
        kept.append(hit)
        kept_rows.append(row)
    return kept
