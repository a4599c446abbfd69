"""Compression: old conversation messages become summaries; the originals are archived, never deleted.

Each group's change is idempotent and ordered so that a kill at any point loses nothing: the
summary (with a deterministic id derived from its sources) is written first, then the archive
audits (deterministic ids), then the originals are archived in one write. A rerun finishes any
group whose summary exists but whose originals are still active.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from assistant.memory.engine import memory_rows
from assistant.memory.maintenance.grouping import group_episodes
from assistant.memory.maintenance.summaries import SUMMARY_MAX_CHARS, model_summary, pick_summary_lines
from assistant.memory.maintenance.writes import (
    Progress,
    archive_active,
    audit_row,
    in_chunks,
    stable_id,
    step_written,
    stopped,
)
from assistant.memory.store import AUDIT, MEMORIES, row_to_memory
from assistant.memory.store.query import eq, is_in, lt, owned_by
from assistant.memory.types import Kind, Memory, Origin, Status, aware

if TYPE_CHECKING:
    import numpy as np

    from assistant.llm.runner import ModelRunner
    from assistant.memory.engine import MemoryEngine

SUMMARY_PREFIX = "sum-"
SUMMARY_IMPORTANCE = 0.4
# Groups whose changes go to the store in one write each (summaries, audits, archive). Bigger
# batches mean fewer LanceDB versions; smaller ones lose less recomputation to a crash.
WRITE_BATCH = 32


def summary_id_for(member_ids: Sequence[str]) -> str:
    return SUMMARY_PREFIX + stable_id(*sorted(member_ids))


def _after_the_users_turn(runner: ModelRunner | None, limit_seconds: float = 300.0) -> None:
    """Hold a commit (embedding, writes: CPU work) while the user's chat has the model.

    On a small machine the commit would compete for the cores the reply is being computed
    on; uncommitted summaries are only recomputed if the process dies meanwhile.
    """
    if runner is not None:
        runner.wait_until_free(timeout=limit_seconds)


@dataclass
class CompressReport:
    dry_run: bool = False
    candidates: int = 0
    groups: int = 0
    summaries: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    by_model: int = 0
    by_fallback: int = 0
    resumed: int = 0  # groups a previous, interrupted run had started
    left_alone: int = 0  # single messages: a summary of one message would only copy it
    cancelled: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Group:
    members: list[Memory]
    vectors: np.ndarray

    @property
    def id(self) -> str:
        return summary_id_for([member.id for member in self.members])

    @property
    def sources(self) -> list[str]:
        seen: dict[str, None] = {}
        for member in self.members:
            for source in member.sources:
                seen.setdefault(source, None)
        return list(seen)


@dataclass
class Prepared:
    group: Group
    text: str
    method: str  # model or extractive
    vector: np.ndarray | None = None


def _old_episodes(engine: MemoryEngine, cutoff: datetime) -> tuple[list[Memory], np.ndarray]:
    import numpy as np

    where = (
        owned_by(engine.user)
        & eq("kind", Kind.EPISODIC)
        & eq("status", Status.ACTIVE)
        & eq("pinned", False)
        & lt("created_at", cutoff)
    )
    rows = engine.store.rows(MEMORIES, where)
    rows.sort(key=lambda row: (aware(row["created_at"]), row["id"]))
    memories = [row_to_memory(row) for row in rows]
    vectors = np.asarray([row["vector"] for row in rows], dtype=np.float32).reshape(len(rows), engine.store.dimension)
    return memories, vectors


def _existing_summaries(engine: MemoryEngine) -> list[Memory]:
    return engine.store.memories(owned_by(engine.user) & eq("kind", Kind.SUMMARY) & eq("origin", Origin.SUMMARY))


def _restored(engine: MemoryEngine, memory_ids: Sequence[str]) -> set[str]:
    """Memories the user restored: compression leaves them active for good."""
    found: set[str] = set()
    for chunk in in_chunks(list(memory_ids)):
        where = owned_by(engine.user) & eq("action", "restore") & is_in("memory_id", chunk)
        found.update(row["memory_id"] for row in engine.store.rows(AUDIT, where, columns=["memory_id"]))
    return found


def _summary_memory(engine: MemoryEngine, group: Group, text: str, now: datetime) -> Memory:
    conversations = {member.conversation_id for member in group.members}
    return Memory(
        user=engine.user,
        kind=Kind.SUMMARY,
        text=text,
        id=group.id,
        created_at=aware(group.members[-1].created_at),
        updated_at=now,
        valid_from=aware(group.members[0].created_at),
        importance=max(SUMMARY_IMPORTANCE, *(member.importance for member in group.members)),
        origin=Origin.SUMMARY,
        sources=group.sources,
        conversation_id=conversations.pop() if len(conversations) == 1 else None,
    )


def _extractive_vector(group: Group, chosen: Sequence[int]) -> np.ndarray:
    """The mean of the quoted messages' stored vectors: no re-embedding, and unlike embedding
    the summary text (the embedder truncates long inputs) it covers every line."""
    import numpy as np

    mean: np.ndarray = group.vectors[list(chosen) or slice(None)].mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def _commit_groups(engine: MemoryEngine, prepared: list[Prepared], now: datetime) -> None:
    """Summaries first, then the archive audits, then the archive itself: each step idempotent."""
    import numpy as np

    from assistant.memory.embed import embed_array

    summaries = [_summary_memory(engine, item.group, item.text, now) for item in prepared]
    vectors = np.zeros((len(prepared), engine.store.dimension), dtype=np.float32)
    to_embed = [index for index, item in enumerate(prepared) if item.vector is None]
    if to_embed:
        vectors[to_embed] = embed_array(engine.embedder, [prepared[index].text for index in to_embed])
    for index, item in enumerate(prepared):
        if item.vector is not None:
            vectors[index] = item.vector
    engine.store.upsert(MEMORIES, memory_rows(summaries, vectors, engine.store.dimension))
    audits = [
        audit_row(
            engine, summary.id, "add", "compressed old conversation messages", now, f"kind=summary by={item.method}"
        )
        for summary, item in zip(summaries, prepared, strict=True)
    ]
    engine.store.insert_new(AUDIT, audits)
    step_written("compress: summaries written")
    archive_audits = [
        audit_row(engine, member.id, "archive", f"compressed into summary {item.group.id}", now, "", item.group.id)
        for item in prepared
        for member in item.group.members
    ]
    engine.store.insert_new(AUDIT, archive_audits)
    step_written("compress: archive audits written")
    archive_active(engine, [member.id for item in prepared for member in item.group.members], now)
    step_written("compress: originals archived")


def compress(
    engine: MemoryEngine,
    runner: ModelRunner | None,
    now: datetime,
    *,
    age_days: float = 30.0,
    dry_run: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    batch: int | None = None,
) -> CompressReport:
    """Summarise old conversation messages by episode and topic; archive the originals.

    Only active, unpinned episodic memories older than `age_days` are touched; facts,
    preferences, rules and summaries never are. With `runner` None (or when the model's
    summary is unusable) the summary is extractive. Raises GenerationCancelled when the
    user's chat needs the model: everything committed so far stays, a rerun continues.
    """
    batch = WRITE_BATCH if batch is None else batch  # read now, so a test can make every pass use small batches
    report = CompressReport(dry_run=dry_run)
    now = aware(now)
    candidates, vectors = _old_episodes(engine, now - timedelta(days=age_days))

    # Sources already summarised: finish an interrupted group, and never re-compress what a
    # user restored after compression.
    covered: dict[str, Memory] = {}
    for summary in _existing_summaries(engine):
        for source in summary.sources:
            covered[source] = summary
    unfinished: dict[str, list[str]] = {}
    fresh: list[int] = []
    summarised: list[tuple[Memory, Memory]] = []
    for index, memory in enumerate(candidates):
        covering = next((covered[s] for s in memory.sources if s in covered), None)
        if covering is None:
            fresh.append(index)
        else:
            summarised.append((memory, covering))
    restored = _restored(engine, [memory.id for memory, _summary in summarised])
    for memory, summary in summarised:
        if memory.id not in restored:
            unfinished.setdefault(summary.id, []).append(memory.id)
    if unfinished:
        report.resumed = len(unfinished)
        report.archived.extend(memory_id for ids in unfinished.values() for memory_id in ids)
        if not dry_run:
            rows = [
                audit_row(engine, memory_id, "archive", f"compressed into summary {summary_id}", now, "", summary_id)
                for summary_id, ids in unfinished.items()
                for memory_id in ids
            ]
            engine.store.insert_new(AUDIT, rows)
            archive_active(engine, [memory_id for ids in unfinished.values() for memory_id in ids], now)
            step_written("compress: resumed groups archived")

    members = [candidates[index] for index in fresh]
    member_vectors = vectors[fresh] if fresh else vectors[:0]
    report.candidates = len(members)
    groups = []
    for indexes in group_episodes(members, member_vectors):
        if len(indexes) < 2:
            report.left_alone += 1
            continue
        groups.append(Group([members[i] for i in indexes], member_vectors[indexes]))
    report.groups = len(groups)
    prepared: list[Prepared] = []
    try:
        for done, group in enumerate(groups):
            if stopped(cancel):
                report.cancelled = True
                break
            if progress:
                progress("compress", done, len(groups))
            if not dry_run:
                text = model_summary(runner, group.members)[0] if runner is not None else None
                if text is not None:
                    report.by_model += 1
                    prepared.append(Prepared(group, text, "model"))
                else:
                    report.by_fallback += 1
                    text, chosen = pick_summary_lines(group.members, group.vectors, max_chars=SUMMARY_MAX_CHARS)
                    prepared.append(Prepared(group, text, "extractive", _extractive_vector(group, chosen)))
            report.summaries.append(group.id)
            report.archived.extend(member.id for member in group.members)
            if len(prepared) >= batch:
                _after_the_users_turn(runner)
                _commit_groups(engine, prepared, now)
                prepared = []
    finally:
        # Summaries already made are kept even when the user's chat preempted the model.
        if prepared:
            _after_the_users_turn(runner)
            _commit_groups(engine, prepared, now)
    if progress:
        progress("compress", len(groups), len(groups))
    return report
