"""Background upkeep of one memory space: compression, decay and index maintenance.

Plain functions of (engine, runner or None, now) that return reports and accept `dry_run`.

Compression turns old conversation messages into summaries. Each group's change is
idempotent and ordered so that a kill at any point loses nothing: the summary (with a
deterministic id derived from its sources) is written first, then the archive audits
(deterministic ids), then the originals are archived in one write. A rerun finishes any
group whose summary exists but whose originals are still active.

Decay lowers each memory's strength with time since last use; below the threshold the
memory is archived (never deleted) with the reason in the audit log.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from assistant.memory.engine import describe_time, memory_rows, speaker_label, tree_size
from assistant.memory.language import words
from assistant.memory.store import AUDIT, CONVERSATIONS, MEMORIES, MESSAGES, PROFILES, in_list, quote, row_to_memory
from assistant.memory.types import Kind, Memory, Origin, Status, aware

if TYPE_CHECKING:
    import numpy as np

    from assistant.config import Settings
    from assistant.llm.runner import ModelRunner
    from assistant.memory.engine import MemoryEngine

Progress = Callable[[str, int, int], None]

SUMMARY_PREFIX = "sum-"
# Topic clustering inside one conversation: cosine similarity to a cluster's centroid.
TOPIC_SIMILARITY = 0.40
MAX_GROUP = 12
# A reply this short stays in the group of the message it answers, whatever its topic.
SHORT_REPLY_WORDS = 6
# Messages of one conversation further apart than this are different episodes.
EPISODE_GAP = timedelta(days=2)
SUMMARY_MAX_CHARS = 700
LINE_MAX_CHARS = 160
SUMMARY_IMPORTANCE = 0.4
MODEL_SUMMARY_TOKENS = 140
# Groups whose changes go to the store in one write each (summaries, audits, archive). Bigger
# batches mean fewer LanceDB versions; smaller ones lose less recomputation to a crash.
WRITE_BATCH = 32
IN_CHUNK = 500

# Decay: kinds that are always in context (so every turn uses them) and core facts are exempt.
DECAY_EXEMPT_KINDS = (Kind.PROCEDURAL, Kind.PREFERENCE)
CORE_IMPORTANCE = 0.8
STRENGTH_STEP = 0.01

WriteObserver = Callable[[str], None]
# Called with a label after each durable write step. Production installs none; crash tests
# install one that kills the process there, to prove a kill between any two writes loses nothing.
_write_observers: list[WriteObserver] = []


def observe_writes(observer: WriteObserver) -> Callable[[], None]:
    """Call `observer(label)` after every write step of maintenance; returns the function that removes it."""
    _write_observers.append(observer)
    return lambda: _write_observers.remove(observer)


def _wrote(label: str) -> None:
    for observer in tuple(_write_observers):
        observer(label)


def _stable_id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]


def summary_id_for(member_ids: Sequence[str]) -> str:
    return SUMMARY_PREFIX + _stable_id(*sorted(member_ids))


def _chunks(values: Sequence[str], size: int = IN_CHUNK) -> list[Sequence[str]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


def _after_the_users_turn(runner: ModelRunner | None, limit_seconds: float = 300.0) -> None:
    """Hold a commit (embedding, writes: CPU work) while the user's chat has the model.

    On a small machine the commit would compete for the cores the reply is being computed
    on; uncommitted summaries are only recomputed if the process dies meanwhile.
    """
    deadline = time.monotonic() + limit_seconds
    while runner is not None and (runner.busy or runner.user_waiting) and time.monotonic() < deadline:
        time.sleep(0.02)


def _stopped(cancel: threading.Event | None) -> bool:
    return cancel is not None and cancel.is_set()


# --- compression ------------------------------------------------------------------------------


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

    from assistant.memory.store import sql_time

    where = (
        f"owner = {quote(engine.user)} AND kind = 'episodic' AND status = 'active' AND pinned = false"
        f" AND created_at < {sql_time(cutoff)}"
    )
    rows = engine.store.rows(MEMORIES, where)
    rows.sort(key=lambda row: (aware(row["created_at"]), row["id"]))
    memories = [row_to_memory(row) for row in rows]
    vectors = np.asarray([row["vector"] for row in rows], dtype=np.float32).reshape(len(rows), engine.store.dimension)
    return memories, vectors


def _summaries(engine: MemoryEngine) -> list[Memory]:
    return engine.store.memories(f"owner = {quote(engine.user)} AND kind = 'summary' AND origin = 'summary'")


def _restored(engine: MemoryEngine, memory_ids: Sequence[str]) -> set[str]:
    """Memories the user restored: compression leaves them active for good."""
    found: set[str] = set()
    for chunk in _chunks(list(memory_ids)):
        where = f"owner = {quote(engine.user)} AND action = 'restore' AND {in_list('memory_id', chunk)}"
        found.update(row["memory_id"] for row in engine.store.rows(AUDIT, where, columns=["memory_id"]))
    return found


def _is_short_reply(memory: Memory) -> bool:
    return bool(memory.context) and len(words(memory.text)) <= SHORT_REPLY_WORDS


def group_episodes(memories: Sequence[Memory], vectors: np.ndarray) -> list[list[int]]:
    """Indexes of `memories` (time-ordered) grouped by episode, then by topic within it."""
    import numpy as np

    episodes: list[list[int]] = []
    open_episode: dict[str, int] = {}
    last_seen: dict[str, datetime] = {}
    for index, memory in enumerate(memories):
        moment = aware(memory.created_at)
        bucket = memory.conversation_id or moment.date().isoformat()
        position = open_episode.get(bucket)
        if position is None or moment - last_seen[bucket] > EPISODE_GAP:
            open_episode[bucket] = len(episodes)
            episodes.append([index])
        else:
            episodes[position].append(index)
        last_seen[bucket] = moment

    groups: list[list[int]] = []
    for episode in episodes:
        clusters: list[list[int]] = []
        centroids: list[np.ndarray] = []
        cluster_of: dict[int, int] = {}
        for position, index in enumerate(episode):
            vector = vectors[index]
            best, best_similarity = -1, TOPIC_SIMILARITY
            previous = cluster_of.get(episode[position - 1]) if position else None
            if previous is not None and _is_short_reply(memories[index]) and len(clusters[previous]) < MAX_GROUP:
                # "Honestly shakshuka." means something only next to "What's your comfort food?".
                best_similarity = float("inf")
                best = previous
            for number, centroid in enumerate(centroids):
                if len(clusters[number]) >= MAX_GROUP:
                    continue
                similarity = float(centroid @ vector) / max(float(np.linalg.norm(centroid)), 1e-12)
                if similarity >= best_similarity:
                    best, best_similarity = number, similarity
            if best < 0:
                cluster_of[index] = len(clusters)
                clusters.append([index])
                centroids.append(vector.astype(np.float32).copy())
            else:
                cluster_of[index] = best
                clusters[best].append(index)
                centroids[best] = centroids[best] + vector
        # A lone message joins the closest topic of its episode that has room.
        lone = [cluster for cluster in clusters if len(cluster) == 1]
        kept = [cluster for cluster in clusters if len(cluster) > 1]
        for (index,) in lone:
            room = [cluster for cluster in kept if len(cluster) < MAX_GROUP]
            if room:
                target = max(room, key=lambda cluster: float(vectors[cluster].mean(axis=0) @ vectors[index]))
                target.append(index)
            else:
                kept.append([index])
        for cluster in kept:
            groups.append(sorted(cluster))
    groups.sort(key=lambda cluster: cluster[0])
    return groups


def _line(memory: Memory, *, with_date: bool) -> str:
    text = " ".join(memory.text.split())
    if len(text) > LINE_MAX_CHARS:
        text = text[: LINE_MAX_CHARS - 1].rstrip() + "…"
    speaker = speaker_label("", memory.speaker) or "someone"
    # A short answer means little without the question it answered.
    asker, _, asked = (memory.context or "").partition(": ")
    asked = " ".join(asked.split())
    if asker == "assistant" and asked.endswith("?") and len(text) < 60 and speaker != "assistant":
        text = f'(asked "{asked[:90]}") {text}'
    date = f"[{aware(memory.created_at).date().isoformat()}] " if with_date else ""
    return f"{date}{speaker}: {text}"


def summary_source_lines(members: Sequence[Memory]) -> list[str]:
    """The group as the model is shown it; a model summary must be grounded in these lines."""
    return [_line(member, with_date=True) for member in members]


def summary_header(members: Sequence[Memory]) -> str:
    first, last = aware(members[0].created_at), aware(members[-1].created_at)
    span = describe_time(first) if first.date() == last.date() else f"{describe_time(first)} to {describe_time(last)}"
    return f"Conversation of {span}, {len(members)} messages."


_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+|\d+")


def _is_informative(text: str) -> float:
    words = _WORD.findall(text)
    names = sum(1 for word in words[1:] if word[0].isupper())
    digits = sum(1 for word in words if word.isdigit())
    return min(1.0, 0.15 * names + 0.1 * digits + 0.02 * len(words))


def extractive_summary(members: Sequence[Memory], vectors: np.ndarray, *, max_chars: int = SUMMARY_MAX_CHARS) -> str:
    """Deterministic: the group's most central and informative messages, with speaker and date."""
    return _extract(members, vectors, max_chars=max_chars)[0]


def _extract(members: Sequence[Memory], vectors: np.ndarray, *, max_chars: int) -> tuple[str, list[int]]:
    import numpy as np

    centroid = vectors.mean(axis=0)
    centroid = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
    centrality = vectors @ centroid
    multi_day = aware(members[0].created_at).date() != aware(members[-1].created_at).date()
    scored = []
    for index, memory in enumerate(members):
        from_user = (memory.speaker or "") != "assistant"
        score = float(centrality[index]) + (0.6 if from_user else 0.0) + _is_informative(memory.text)
        scored.append((score, index))
    header = summary_header(members)
    budget = max_chars - len(header) - 1
    chosen: list[int] = []
    seen_texts: set[str] = set()
    for _score, index in sorted(scored, reverse=True):
        line = _line(members[index], with_date=multi_day)
        normalized = " ".join(members[index].text.lower().split())
        if normalized in seen_texts:
            continue
        if len(line) + 1 > budget:
            continue
        chosen.append(index)
        seen_texts.add(normalized)
        budget -= len(line) + 1
    chosen.sort()
    lines = [_line(members[index], with_date=multi_day) for index in chosen]
    return "\n".join([header, *lines]), chosen


_STOP = set(
    "the a an and or but of to in on at for with from by is are was were be been being it its this that these those "
    "they them their there then than user users assistant said says about into over also very just some what when "
    "which who whom will would could should have has had do does did not no yes you your yours we our ours he she "
    "his her him i me my mine so as if up out".split()
)


def _content_words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text) if word.lower() not in _STOP and len(word) > 2]


def usable_summary(summary: str, source_text: str, *, max_chars: int = SUMMARY_MAX_CHARS) -> str | None:
    """Why a model summary cannot be used, or None when it can."""
    text = summary.strip()
    if len(text) < 20:
        return "empty or too short"
    if len(text) > max_chars:
        return "too long"
    words = _WORD.findall(text.lower())
    if len(words) >= 12 and len(set(words)) / len(words) < 0.5:
        return "repetitive"
    grams = [tuple(words[i : i + 4]) for i in range(max(0, len(words) - 3))]
    if grams and max(grams.count(gram) for gram in set(grams)) >= 3:
        return "repetitive"
    content = _content_words(text)
    if not content:
        return "says nothing"
    known = {word[:5] for word in _content_words(source_text)}
    grounded = sum(1 for word in content if word[:5] in known) / len(content)
    if grounded < 0.8:
        return f"not grounded in the conversation ({grounded:.0%} of its words are)"
    numbers = {word for word in words if word.isdigit()}
    if numbers - set(_WORD.findall(source_text)):
        return "mentions numbers the conversation does not"
    return None


def model_summary(runner: ModelRunner, members: Sequence[Memory]) -> tuple[str | None, str]:
    """The model's summary and "" when usable, else None and the reason. Raises GenerationCancelled."""
    from assistant.errors import ModelError
    from assistant.llm.prompts import COMPRESSION_SYSTEM_PROMPT, compression_user_prompt
    from assistant.llm.runner import ChatMessage

    lines = summary_source_lines(members)
    messages = [
        ChatMessage("system", COMPRESSION_SYSTEM_PROMPT),
        ChatMessage("user", compression_user_prompt(lines)),
    ]
    try:
        text = runner.chat(messages, max_tokens=MODEL_SUMMARY_TOKENS, temperature=0.2, background=True)
    except ModelError as error:
        return None, f"the model failed: {error}"
    text = " ".join(text.split())
    header = summary_header(members)
    problem = usable_summary(text, "\n".join(lines), max_chars=SUMMARY_MAX_CHARS - len(header) - 1)
    if problem:
        return None, problem
    return f"{header}\n{text}", ""


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


def _audit_row(engine: MemoryEngine, memory_id: str, action: str, reason: str, at: datetime, detail: str, *key: str):
    return {
        "id": _stable_id(engine.user, memory_id, action, *key),
        "owner": engine.user,
        "memory_id": memory_id,
        "action": action,
        "reason": reason,
        "at": at,
        "detail": detail,
    }


def _archive(engine: MemoryEngine, ids: Sequence[str], now: datetime, extra: dict[str, Any] | None = None) -> None:
    for chunk in _chunks(list(ids)):
        engine.store.update(
            MEMORIES,
            f"owner = {quote(engine.user)} AND {in_list('id', chunk)} AND status = 'active'",
            values={"status": str(Status.ARCHIVED), "updated_at": now, **(extra or {})},
        )


def _extractive_vector(group: Group, chosen: Sequence[int]) -> np.ndarray:
    """The mean of the quoted messages' stored vectors: no re-embedding, and unlike embedding
    the summary text (the embedder truncates long inputs) it covers every line."""
    import numpy as np

    mean = group.vectors[list(chosen) or slice(None)].mean(axis=0)
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
        _audit_row(
            engine, summary.id, "add", "compressed old conversation messages", now, f"kind=summary by={item.method}"
        )
        for summary, item in zip(summaries, prepared, strict=True)
    ]
    engine.store.insert_new(AUDIT, audits)
    _wrote("compress: summaries written")
    archive_audits = [
        _audit_row(engine, member.id, "archive", f"compressed into summary {item.group.id}", now, "", item.group.id)
        for item in prepared
        for member in item.group.members
    ]
    engine.store.insert_new(AUDIT, archive_audits)
    _wrote("compress: archive audits written")
    _archive(engine, [member.id for item in prepared for member in item.group.members], now)
    _wrote("compress: originals archived")


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
    for summary in _summaries(engine):
        for source in summary.sources:
            covered[source] = summary
    unfinished: dict[str, list[str]] = {}
    fresh: list[int] = []
    summarised: list[tuple[Memory, Memory]] = []
    for index, memory in enumerate(candidates):
        summary = next((covered[s] for s in memory.sources if s in covered), None)
        if summary is None:
            fresh.append(index)
        else:
            summarised.append((memory, summary))
    restored = _restored(engine, [memory.id for memory, _summary in summarised])
    for memory, summary in summarised:
        if memory.id not in restored:
            unfinished.setdefault(summary.id, []).append(memory.id)
    if unfinished:
        report.resumed = len(unfinished)
        report.archived.extend(memory_id for ids in unfinished.values() for memory_id in ids)
        if not dry_run:
            rows = [
                _audit_row(engine, memory_id, "archive", f"compressed into summary {summary_id}", now, "", summary_id)
                for summary_id, ids in unfinished.items()
                for memory_id in ids
            ]
            engine.store.insert_new(AUDIT, rows)
            _archive(engine, [memory_id for ids in unfinished.values() for memory_id in ids], now)
            _wrote("compress: resumed groups archived")

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
            if _stopped(cancel):
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
                    text, chosen = _extract(group.members, group.vectors, max_chars=SUMMARY_MAX_CHARS)
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


# --- decay --------------------------------------------------------------------------------------


@dataclass
class DecayReport:
    dry_run: bool = False
    considered: int = 0
    exempt: int = 0
    updated: int = 0
    archived: list[str] = field(default_factory=list)
    cancelled: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def last_use(memory: Memory) -> datetime:
    # An edit, a reinforcement or being made (a summary) counts as a use.
    moments = [aware(memory.created_at)]
    for moment in (memory.updated_at, memory.last_accessed):
        if moment is not None:
            moments.append(aware(moment))
    return max(moments)


def strength_of(memory: Memory, now: datetime, half_life_days: float) -> float:
    """1.0 when just used; halves every (half-life x importance x use) days without use."""
    days = max(0.0, (aware(now) - last_use(memory)).total_seconds() / 86400.0)
    effective = half_life_days * (1.0 + 2.0 * memory.importance) * (1.0 + math.log1p(max(0, memory.access_count)))
    return 0.5 ** (days / effective)


def decay_exempt(memory: Memory) -> bool:
    return memory.pinned or memory.kind in DECAY_EXEMPT_KINDS or memory.importance >= CORE_IMPORTANCE


def decay(
    engine: MemoryEngine,
    now: datetime,
    *,
    half_life_days: float = 90.0,
    threshold: float = 0.05,
    dry_run: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> DecayReport:
    """Recompute strengths of active memories; archive those that fell below `threshold`."""
    report = DecayReport(dry_run=dry_run)
    now = aware(now)
    engine.flush()  # pending recall reinforcement counts as use
    memories = engine.store.memories(f"owner = {quote(engine.user)} AND status = 'active'")
    report.considered = len(memories)
    by_strength: dict[float, list[str]] = {}
    to_archive: list[tuple[Memory, float]] = []
    for memory in memories:
        if decay_exempt(memory):
            report.exempt += 1
            if memory.strength != 1.0:
                by_strength.setdefault(1.0, []).append(memory.id)
            continue
        strength = strength_of(memory, now, half_life_days)
        if strength < threshold:
            to_archive.append((memory, strength))
        elif abs(strength - memory.strength) >= STRENGTH_STEP:
            by_strength.setdefault(round(strength, 2), []).append(memory.id)
    report.updated = sum(len(ids) for ids in by_strength.values())
    report.archived = [memory.id for memory, _strength in to_archive]
    if dry_run:
        return report
    steps = len(by_strength) + (1 if to_archive else 0)
    for done, (strength, ids) in enumerate(sorted(by_strength.items())):
        if _stopped(cancel):
            report.cancelled = True
            return report
        if progress:
            progress("decay", done, steps)
        for chunk in _chunks(ids):
            engine.store.update(
                MEMORIES,
                f"owner = {quote(engine.user)} AND {in_list('id', chunk)} AND status = 'active'",
                values={"strength": strength},
            )
        _wrote("decay: strengths written")
    if to_archive and not _stopped(cancel):
        rows = [
            _audit_row(
                engine,
                memory.id,
                "archive",
                f"decayed: strength {strength:.3f} below {threshold:.3f} after "
                f"{(now - last_use(memory)).days} days without use",
                now,
                f"strength={strength:.4f}",
                "decay",
                last_use(memory).isoformat(),
            )
            for memory, strength in to_archive
        ]
        engine.store.insert_new(AUDIT, rows)
        _wrote("decay: archive audits written")
        by_final: dict[float, list[str]] = {}
        for memory, strength in to_archive:
            by_final.setdefault(round(strength, 3), []).append(memory.id)
        for strength, ids in by_final.items():
            _archive(engine, ids, now, {"strength": strength})
        _wrote("decay: archived")
    if progress:
        progress("decay", steps, steps)
    return report


# --- indexes ----------------------------------------------------------------------------------------

INDEXED_TABLES = (MEMORIES, MESSAGES, AUDIT, CONVERSATIONS, PROFILES)
# Old versions younger than this stay, so a reader in another process is never cut off.
KEEP_VERSIONS_FOR = timedelta(minutes=5)


@dataclass
class IndexReport:
    dry_run: bool = False
    versions_before: dict[str, int] = field(default_factory=dict)
    versions_after: dict[str, int] = field(default_factory=dict)
    size_before: int = 0
    size_after: int = 0
    vector_index: bool = False
    cancelled: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def maintain_indexes(
    engine: MemoryEngine,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    keep_versions_for: timedelta = KEEP_VERSIONS_FOR,
) -> IndexReport:
    """Compact the tables, fold new rows into the text index, build the vector index when due,
    and remove old versions."""
    from assistant.memory.store import with_retries

    store = engine.store
    report = IndexReport(dry_run=dry_run, size_before=tree_size(store.path))
    for name in INDEXED_TABLES:
        table = store.table(name)
        table.checkout_latest()
        report.versions_before[name] = len(table.list_versions())
    if dry_run:
        report.vector_index = store.has_vector_index()
        report.size_after = report.size_before
        return report
    steps = len(INDEXED_TABLES) + 1
    if progress:
        progress("indexes", 0, steps)
    engine.flush()
    store.ensure_indexes()  # text and scalar indexes, a vector index on big tables, compaction
    for done, name in enumerate(INDEXED_TABLES, start=1):
        if _stopped(cancel):
            report.cancelled = True
            break
        table = store.table(name)
        with_retries(lambda table=table: table.optimize(cleanup_older_than=keep_versions_for))
        table.checkout_latest()
        report.versions_after[name] = len(table.list_versions())
        _wrote(f"indexes: {name} optimized")
        if progress:
            progress("indexes", done, steps)
    report.vector_index = store.has_vector_index()
    report.size_after = tree_size(store.path)
    if progress:
        progress("indexes", steps, steps)
    return report


# --- one pass ------------------------------------------------------------------------------------------


@dataclass
class MaintenanceReport:
    dry_run: bool
    compress: CompressReport | None = None
    decay: DecayReport | None = None
    indexes: IndexReport | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "compress": self.compress.as_dict() if self.compress else None,
            "decay": self.decay.as_dict() if self.decay else None,
            "indexes": self.indexes.as_dict() if self.indexes else None,
        }


def run_pass(
    engine: MemoryEngine,
    runner: ModelRunner | None,
    settings: Settings,
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    keep_versions_for: timedelta = KEEP_VERSIONS_FOR,
) -> MaintenanceReport:
    """Compression, then decay, then index upkeep, all at `now` (default: the engine's clock)."""
    moment = aware(now or engine.now())
    report = MaintenanceReport(dry_run=dry_run)
    report.compress = compress(
        engine,
        runner,
        moment,
        age_days=settings.compression_age_days,
        dry_run=dry_run,
        progress=progress,
        cancel=cancel,
    )
    if _stopped(cancel):
        return report
    report.decay = decay(
        engine,
        moment,
        half_life_days=settings.decay_half_life_days,
        threshold=settings.decay_archive_threshold,
        dry_run=dry_run,
        progress=progress,
        cancel=cancel,
    )
    if _stopped(cancel):
        return report
    report.indexes = maintain_indexes(
        engine, dry_run=dry_run, progress=progress, cancel=cancel, keep_versions_for=keep_versions_for
    )
    return report
