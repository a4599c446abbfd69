"""MemoryEngine: one user's memory space, the one object the core, the TUI and the CLI hold.

    engine = MemoryEngine.open(settings, user="alice")
    memory = engine.add("Allergic to shellfish", kind=Kind.SEMANTIC, key="allergy")
    hits = engine.search("what can't I eat?", reinforce=False)   # list[RecallHit]
    engine.mark_used([hit.memory.id for hit in hits[:3]])         # only what the prompt showed
    engine.forget([memory.id], reason="user asked")     # gone from every file on disk
    engine.close()                                      # flushes batched reinforcement

The engine is a front for small parts that share one `Space` (store, embedder, user, clock):

    message_log.py    MessageLog     conversations, messages, their episodic memories
    memories.py       Memories       get, list, add, edit, supersede, archive, pin, reinforce, profile
    forgetting.py     Forgetting     forget, forget everything, delete a conversation
    import_export.py  ImportExport   JSON Lines import, export and restore
    upkeep.py         Upkeep         batched reinforcement, compaction, indexes, statistics
    recall.py         Recaller       hybrid search (the engine adds embedding and reinforcement)

Every change writes an audit entry with its reason. Time comes from the `now` callable so
simulations can run a year in seconds.
"""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant import locations
from assistant.memory.embed import Embedder, open_embedder, vectors_ready
from assistant.memory.forgetting import Forgetting
from assistant.memory.formats import (
    describe_time,
    display_text,
    embedding_text_for,
    episodic_embedding_text,
    episodic_memory_id,
    iso,
    memory_json,
    memory_list_json,
    memory_rows,
    parse_time,
    search_text_for,
    speaker_label,
)
from assistant.memory.import_export import ImportExport, ImportReport, ProgressCallback
from assistant.memory.memories import Memories
from assistant.memory.message_log import Carried, MessageLog
from assistant.memory.recall import Recaller, RecallFilter, RecallWeights
from assistant.memory.reinforcement import Reinforcer
from assistant.memory.space import Space
from assistant.memory.store import MemoryStore, now_utc
from assistant.memory.types import AuditEntry, Conversation, Kind, Memory, Message, Origin, RecallHit, Status
from assistant.memory.upkeep import Upkeep, tree_size

if TYPE_CHECKING:
    from assistant.config import Settings

# The shapes other modules import from here, as well as the engine.
__all__ = [
    "ImportReport",
    "MemoryEngine",
    "ProgressCallback",
    "describe_time",
    "display_text",
    "embedding_text_for",
    "episodic_embedding_text",
    "episodic_memory_id",
    "iso",
    "memory_json",
    "memory_list_json",
    "memory_rows",
    "parse_time",
    "search_text_for",
    "speaker_label",
    "tree_size",
]


class MemoryEngine:
    """One user's memory space on top of the shared store."""

    def __init__(
        self,
        store: MemoryStore,
        embedder: Embedder,
        user: str,
        *,
        now: Callable[[], datetime] = now_utc,
        half_life_days: float = 30.0,
        weights: RecallWeights | None = None,
        recall_k: int = 8,
    ) -> None:
        self.space = Space(store, embedder, user, now)
        self.store = store
        self.embedder = embedder
        self.user = user
        self.now = now
        self.recall_k = recall_k
        self.recaller = Recaller(store, half_life_days=half_life_days, weights=weights, now=now)
        self.reinforcer = Reinforcer(store, user)
        self.log = MessageLog(self.space)
        self.memories = Memories(self.space)
        self.forgetting = Forgetting(self.space, self.log)
        self.transfer = ImportExport(self.space, self.log)
        self.upkeep = Upkeep(self.space, self.reinforcer, self.memories)

    @classmethod
    def open(
        cls,
        settings: Settings,
        user: str | None = None,
        *,
        now: Callable[[], datetime] = now_utc,
        embedder: Embedder | None = None,
        path: Path | None = None,
    ) -> MemoryEngine:
        """Open `user`'s space (default: settings.user) in the data dir's memory store."""
        embedder = embedder or open_embedder(settings.embedder)
        locations.ensure_private_dir(locations.data_dir())
        store = MemoryStore(path or locations.memory_dir(), embedder.dimension)
        return cls(
            store,
            embedder,
            user or settings.user,
            now=now,
            half_life_days=settings.recency_half_life_days,
            weights=RecallWeights(dense_share=settings.recall_dense_share),
            recall_k=settings.recall_k,
        )

    def close(self) -> None:
        self.upkeep.flush()
        self.recaller.close()

    def __enter__(self) -> MemoryEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- recall ---------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        filters: RecallFilter | None = None,
        reinforce: bool = True,
        text_only: bool = False,
    ) -> list[RecallHit]:
        """Hybrid recall. With `reinforce` every hit counts as used; a caller that shows only some
        of them (a prompt with a budget) passes False and calls `mark_used` with those it showed."""
        return self.search_many([query], k=k, filters=filters, reinforce=reinforce, text_only=text_only)[0]

    @property
    def vectors_ready(self) -> bool:
        """False while the embedder loads behind: searches may go by full text, messages wait for vectors."""
        return vectors_ready(self.embedder)

    def fill_missing_vectors(self) -> int:
        """Embed the memories stored without a vector while the embedder loaded; returns how many."""
        return self.upkeep.fill_missing_vectors()

    recall = search

    def search_many(
        self,
        queries: Sequence[str],
        *,
        k: int | None = None,
        filters: RecallFilter | None = None,
        reinforce: bool = True,
        text_only: bool = False,
    ) -> list[list[RecallHit]]:
        """Recall for many queries with one batched embedding (`text_only`: none, see `vectors_ready`)."""
        if not queries:
            return []
        embed, phrasings = self.space.vectors.embed, self.recaller.phrasings
        # One query is embedded inside recall, beside its text search.
        lone: Any = [lambda: embed(phrasings(queries, self.user))[0]] if len(queries) == 1 else None
        vectors: Any = [None] * len(queries) if text_only else lone or embed(phrasings(queries, self.user))
        results = []
        for query, vector in zip(queries, vectors, strict=True):
            hits = self.recaller.recall(query, vector, self.user, k=k or self.recall_k, filters=filters)
            if reinforce and hits:
                self.reinforcer.record([hit.memory.id for hit in hits], self.now())
            results.append(hits)
        return results

    def mark_used(self, memory_ids: Sequence[str]) -> None:
        """Count one use of each of exactly these memories (each once), now: what decay reads as use.

        Written in batches with recall's reinforcement (`flush` or `close` writes them); an id
        that is not in this space, or forgotten meanwhile, changes nothing.
        """
        if memory_ids:
            self.reinforcer.record(list(dict.fromkeys(memory_ids)), self.now())

    def embed_ahead(self, texts: Sequence[str]) -> None:
        """Embed, in one batch, texts that are about to be searched for or stored.

        A chat turn embeds the user's message twice, as the recall query and as the episodic
        memory; one batch of two costs little more than one text.
        """
        self.space.vectors.embed_ahead(texts)

    # --- reading memories -----------------------------------------------------------------------
    def get(self, memory_id: str) -> Memory | None:
        return self.space.get(memory_id)

    def get_many(self, memory_ids: Sequence[str]) -> list[Memory]:
        return self.space.get_many(memory_ids)

    def require(self, memory_id: str) -> Memory:
        return self.space.require(memory_id)

    def list(
        self,
        *,
        kinds: Iterable[Kind] | None = None,
        statuses: Iterable[Status] | None = None,
        limit: int | None = None,
    ) -> list[Memory]:
        return self.memories.list(kinds=kinds, statuses=statuses, limit=limit)

    def standing(self, key_prefixes: Sequence[str]) -> builtins.list[Memory]:
        return self.memories.standing(key_prefixes)

    def active_with_key(self, key: str) -> builtins.list[Memory]:
        return self.memories.active_with_key(key)

    def with_key(self, key: str) -> builtins.list[Memory]:
        return self.memories.with_key(key)

    def audit(self, memory_id: str | None = None) -> builtins.list[AuditEntry]:
        return self.memories.audit(memory_id)

    def profile(self) -> dict[str, Any]:
        return self.memories.profile()

    # --- changing memories ----------------------------------------------------------------------
    def add(
        self,
        text: str,
        *,
        kind: Kind = Kind.SEMANTIC,
        key: str | None = None,
        importance: float = 0.5,
        pinned: bool = False,
        origin: Origin = Origin.EXPLICIT,
        sources: Sequence[str] = (),
        reason: str = "added by the user",
        valid_from: datetime | None = None,
    ) -> Memory:
        return self.memories.add(
            text,
            kind=kind,
            key=key,
            importance=importance,
            pinned=pinned,
            origin=origin,
            sources=sources,
            reason=reason,
            valid_from=valid_from,
        )

    def update(
        self,
        memory_id: str,
        *,
        text: str | None = None,
        key: str | None = None,
        kind: Kind | None = None,
        importance: float | None = None,
        reason: str = "edited by the user",
    ) -> Memory:
        return self.memories.update(memory_id, text=text, key=key, kind=kind, importance=importance, reason=reason)

    def supersede(self, memory_id: str, text: str, *, reason: str, key: str | None = None) -> Memory:
        return self.memories.supersede(memory_id, text, reason=reason, key=key)

    def reinforce(
        self, memory_id: str, *, sources: Sequence[str] = (), importance: float | None = None, reason: str
    ) -> Memory:
        return self.memories.reinforce(memory_id, sources=sources, importance=importance, reason=reason)

    def archive(self, memory_id: str, *, reason: str = "archived by the user") -> Memory:
        return self.memories.archive(memory_id, reason=reason)

    def restore(self, memory_id: str, *, reason: str = "restored by the user") -> Memory:
        return self.memories.restore(memory_id, reason=reason)

    def pin(self, memory_id: str, *, reason: str = "pinned by the user") -> Memory:
        return self.memories.pin(memory_id, reason=reason)

    def unpin(self, memory_id: str, *, reason: str = "unpinned by the user") -> Memory:
        return self.memories.unpin(memory_id, reason=reason)

    def set_strength(self, memory_ids: Sequence[str], strength: float, *, reason: str) -> None:
        self.memories.set_strength(memory_ids, strength, reason=reason)

    def update_profile(self, changes: dict[str, Any], *, reason: str = "profile updated") -> dict[str, Any]:
        return self.memories.update_profile(changes, reason=reason)

    # --- forgetting -----------------------------------------------------------------------------
    def forget(
        self,
        memory_ids: Sequence[str],
        *,
        reason: str = "forgotten at the user's request",
        with_sources: bool | None = None,
    ) -> int:
        return self.forgetting.forget(memory_ids, reason=reason, with_sources=with_sources)

    def forget_all(self, *, reason: str = "the user deleted everything") -> None:
        self.forgetting.forget_all(reason=reason)

    def delete_conversation(self, conversation_id: str) -> int:
        return self.forgetting.delete_conversation(conversation_id)

    # --- messages and conversations -------------------------------------------------------------
    def add_messages(
        self, messages: Sequence[Message], *, reason: str = "conversation message"
    ) -> builtins.list[Memory]:
        return self.log.add_messages(messages, reason=reason)

    def unseen_messages(self, messages: Sequence[Message]) -> builtins.list[Message]:
        """Those of `messages` not logged yet (each id once): what an import still has to store."""
        return self.log.unseen(messages)

    def store_imported(
        self,
        messages: Sequence[Message],
        *,
        reason: str,
        carried: Carried,
        redacted: Counter[str] | None = None,
        titles: Mapping[str, str] | None = None,
    ) -> None:
        """Log unseen imported messages (see MessageLog.store_messages); `ensure_indexes` afterwards."""
        self.log.store_messages(messages, Origin.IMPORTED, reason, carried, redacted=redacted, titles=titles)

    def ensure_indexes(self) -> None:
        self.store.ensure_indexes()

    def messages_by_id(self, message_ids: Sequence[str]) -> dict[str, Message]:
        return self.log.messages_by_id(message_ids)

    def messages(self, conversation_id: str | None = None, *, limit: int | None = None) -> builtins.list[Message]:
        return self.log.messages(conversation_id, limit=limit)

    def sources_of(self, memory: Memory) -> builtins.list[Message]:
        return self.log.sources_of(memory)

    def embedding_text_of(self, message: Message) -> str:
        return self.log.embedding_text_of(message)

    def conversations(self) -> builtins.list[Conversation]:
        return self.log.conversations()

    def create_conversation(self, title: str | None = None) -> Conversation:
        return self.log.create_conversation(title)

    def rename_conversation(self, conversation_id: str, title: str) -> None:
        self.log.rename_conversation(conversation_id, title)

    def require_conversation(self, conversation_id: str) -> Conversation:
        return self.log.require_conversation(conversation_id)

    # --- import / export ------------------------------------------------------------------------
    def import_file(self, path: Path, *, progress: ProgressCallback | None = None) -> ImportReport:
        return self.transfer.import_file(path, progress=progress)

    def import_jsonl(
        self, lines: Iterable[str], *, total_bytes: int = 0, progress: ProgressCallback | None = None
    ) -> ImportReport:
        return self.transfer.import_jsonl(lines, total_bytes=total_bytes, progress=progress)

    def import_export(self, lines: Iterable[str], *, progress: ProgressCallback | None = None) -> ImportReport:
        return self.transfer.import_export(lines, progress=progress)

    def export(self, path: Path) -> dict[str, int]:
        return self.transfer.export(path)

    # --- upkeep ---------------------------------------------------------------------------------
    def flush(self) -> None:
        self.upkeep.flush()

    def tidy(self) -> builtins.list[str]:
        return self.upkeep.tidy()

    def maintain(self) -> None:
        self.upkeep.maintain()

    def stats(self) -> dict[str, Any]:
        return self.upkeep.stats()
