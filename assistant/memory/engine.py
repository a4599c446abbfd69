"""MemoryEngine: one user's memory space, the API the core, the TUI and the CLI call.

    engine = MemoryEngine.open(settings, user="alice")
    memory = engine.add("Allergic to shellfish", kind=Kind.SEMANTIC, key="allergy")
    hits = engine.recall("what can't I eat?")          # list[RecallHit], reinforces them
    engine.forget([memory.id], reason="user asked")     # gone from every file on disk
    engine.close()                                      # flushes batched reinforcement

Every change writes an audit entry with its reason. Time comes from the `now` callable so
simulations can run a year in seconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant import locations
from assistant.errors import ImportFileError, StoreError
from assistant.memory.embed import Embedder, embed_array, open_embedder
from assistant.memory.recall import Recaller, RecallFilter, RecallWeights, Reinforcer
from assistant.memory.redact import redact
from assistant.memory.store import (
    AUDIT,
    CONVERSATIONS,
    MEMORIES,
    MESSAGES,
    PROFILES,
    SCHEMA_VERSION,
    MemoryStore,
    in_list,
    memory_schema,
    memory_to_row,
    message_to_row,
    now_utc,
    quote,
)
from assistant.memory.types import AuditEntry, Conversation, Kind, Memory, Message, Origin, RecallHit, Role, Status

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import numpy as np

    from assistant.config import Settings

EXPORT_FORMAT = "assistant-export"
EXPORT_VERSION = 1
IMPORT_CHUNK = 1024
CONTEXT_CHARS = 200
# How much of the answered message's meaning goes into a reply's vector.
CONTEXT_VECTOR_WEIGHT = 0.2
DEFAULT_CONVERSATION = "imported"
EMBED_AHEAD_KEPT = 16

ProgressCallback = Callable[[int, int], None]


@dataclass
class ImportReport:
    """What an import did: counts, and the bad lines by number with the reason."""

    imported: int = 0
    already_present: int = 0
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    restored: dict[str, int] = field(default_factory=dict)  # for export files: records per type

    @property
    def kind(self) -> str:
        return "export" if self.restored else "messages"


def speaker_label(role: str, speaker: str | None) -> str:
    return speaker if speaker else role


def describe_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %A %B %Y")


def episodic_embedding_text(memory: Memory) -> str:
    return f"{speaker_label('', memory.speaker) or 'someone'}: {memory.text}"


def search_text_for(memory: Memory) -> str:
    """What the full-text index sees: the text plus who said it, when, and what it answered."""
    if memory.kind != Kind.EPISODIC:
        return memory.text if not memory.key else f"{memory.key} {memory.text}"
    parts = [memory.speaker or "", memory.text, describe_time(memory.created_at)]
    if memory.context:
        parts.append(memory.context)
    return "\n".join(part for part in parts if part)


def embedding_text_for(memory: Memory) -> str:
    if memory.kind == Kind.EPISODIC:
        return episodic_embedding_text(memory)
    return memory.text


def display_text(memory: Memory) -> str:
    """The text shown for a memory: for a message, who said it."""
    if memory.kind == Kind.EPISODIC and memory.speaker:
        return f"{memory.speaker}: {memory.text}"
    return memory.text


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _stable_id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]


def episodic_memory_id(message_id: str) -> str:
    return f"ep-{message_id}"


def _normalize_rows(vectors: np.ndarray) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def memory_json(memory: Memory, score: float | None = None) -> dict[str, Any]:
    """The public JSON shape of `memory search` (and with list extras, `memory list`)."""
    return {
        "id": memory.id,
        "text": display_text(memory),
        "kind": str(memory.kind),
        "score": round(score, 6) if score is not None else None,
        "created_at": iso(memory.created_at),
        "sources": list(memory.sources),
    }


def memory_list_json(memory: Memory) -> dict[str, Any]:
    return {
        **memory_json(memory, score=memory.strength),
        "status": str(memory.status),
        "pinned": memory.pinned,
        "strength": memory.strength,
        "key": memory.key,
    }


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
        if not user or not user.strip():
            raise StoreError("the user name must not be empty")
        self.store = store
        self.embedder = embedder
        self.user = user
        self.now = now
        self.recall_k = recall_k
        self.recaller = Recaller(store, half_life_days=half_life_days, weights=weights, now=now)
        self.reinforcer = Reinforcer(store, user)
        # Counts changes that can take something back (forget, supersede, archive, edit): a
        # prompt that quoted a memory earlier in a conversation must not quote it again after.
        self.revision = 0
        # Vectors computed ahead of use (embed_ahead), by text; a few turns' worth.
        self._ahead: OrderedDict[str, np.ndarray] = OrderedDict()
        self._ahead_lock = threading.Lock()

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
            recall_k=settings.recall_k,
        )

    # --- helpers -------------------------------------------------------------------------------
    @property
    def _owner(self) -> str:
        return f"owner = {quote(self.user)}"

    def _audit(self, memory_id: str, action: str, reason: str, detail: str = "") -> AuditEntry:
        if action not in ("add", "reinforce"):
            self.revision += 1
        return AuditEntry(self.user, memory_id, action, reason, at=self.now(), detail=detail)

    def _write(
        self, memories: Sequence[Memory], audits: Sequence[AuditEntry], vectors: np.ndarray | None = None
    ) -> None:
        if vectors is None:
            vectors = embed_array(self.embedder, [embedding_text_for(memory) for memory in memories])
        table = memory_rows(memories, vectors, self.store.dimension)
        self.store.upsert(MEMORIES, table)
        self.store.write_audit(audits)

    def require(self, memory_id: str) -> Memory:
        memory = self.get(memory_id)
        if memory is None:
            raise StoreError(f"no memory {memory_id!r} for user {self.user!r}")
        return memory

    def _vector_of(self, memory_id: str) -> np.ndarray:
        import numpy as np

        rows = self.store.rows(MEMORIES, f"{self._owner} AND id = {quote(memory_id)}", columns=["vector"], limit=1)
        return np.asarray([rows[0]["vector"]], dtype=np.float32)

    # --- reading --------------------------------------------------------------------------------
    def get(self, memory_id: str) -> Memory | None:
        found = self.store.memories(f"{self._owner} AND id = {quote(memory_id)}", limit=1)
        return found[0] if found else None

    def list(
        self,
        *,
        kinds: Iterable[Kind] | None = None,
        statuses: Iterable[Status] | None = None,
        limit: int | None = None,
    ) -> list[Memory]:
        """Memories newest first; all statuses unless `statuses` is given."""
        where = [self._owner]
        if kinds:
            where.append(in_list("kind", [str(kind) for kind in kinds]))
        if statuses:
            where.append(in_list("status", [str(status) for status in statuses]))
        memories = self.store.memories(" AND ".join(where))
        memories.sort(key=lambda memory: (memory.created_at, memory.id), reverse=True)
        return memories[:limit] if limit is not None else memories

    def standing(self, key_prefixes: Sequence[str]) -> list[Memory]:
        """Active rules and preferences, and the facts that are pinned or have a key starting with
        one of `key_prefixes`: what the assistant keeps in every prompt, in one read."""
        # starts_with, not LIKE: the prefixes hold "_", which LIKE reads as any character.
        keyed = " OR ".join(f"starts_with(key, {quote(prefix)})" for prefix in key_prefixes) or "FALSE"
        always = in_list("kind", [str(Kind.PROCEDURAL), str(Kind.PREFERENCE)])
        return self.store.memories(
            f"{self._owner} AND status = '{Status.ACTIVE}' AND "
            f"({always} OR (kind = '{Kind.SEMANTIC}' AND (pinned OR {keyed})))"
        )

    def sources_of(self, memory: Memory) -> list[Message]:
        if not memory.sources:
            return []
        messages = self.store.messages(f"{self._owner} AND {in_list('id', memory.sources)}")
        return sorted(messages, key=lambda message: message.created_at)

    def messages(self, conversation_id: str | None = None, *, limit: int | None = None) -> list[Message]:
        where = (
            self._owner if conversation_id is None else f"{self._owner} AND conversation_id = {quote(conversation_id)}"
        )
        messages = sorted(self.store.messages(where), key=lambda message: (message.created_at, message.id))
        return messages[-limit:] if limit else messages

    def conversations(self) -> list[Conversation]:
        return sorted(self.store.conversations(self._owner), key=lambda c: c.updated_at, reverse=True)

    def create_conversation(self, title: str | None = None) -> Conversation:
        now = self.now()
        conversation = Conversation(
            self.user, title=(title or "New conversation").strip()[:200], created_at=now, updated_at=now
        )
        self.store.upsert(
            CONVERSATIONS,
            [
                {
                    "id": conversation.id,
                    "owner": self.user,
                    "title": conversation.title,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        return conversation

    def rename_conversation(self, conversation_id: str, title: str) -> None:
        title = " ".join(title.split())[:200]
        if not title:
            raise StoreError("a conversation title must not be empty")
        self.require_conversation(conversation_id)
        self.store.update(CONVERSATIONS, f"{self._owner} AND id = {quote(conversation_id)}", values={"title": title})

    def delete_conversation(self, conversation_id: str) -> int:
        """Delete a conversation and its messages for good (their episodic memories too)."""
        self.require_conversation(conversation_id)
        messages = self.messages(conversation_id)
        where = f"{self._owner} AND conversation_id = {quote(conversation_id)}"
        self.store.delete(MESSAGES, where)
        if messages:
            ids = [episodic_memory_id(message.id) for message in messages]
            self.store.delete(MEMORIES, f"{self._owner} AND {in_list('id', ids)}")
        self.store.delete(CONVERSATIONS, f"{self._owner} AND id = {quote(conversation_id)}")
        self.store.write_audit([self._audit(conversation_id, "forget", "conversation deleted by the user")])
        self.store.purge([MEMORIES, MESSAGES, CONVERSATIONS])
        return len(messages)

    def require_conversation(self, conversation_id: str) -> Conversation:
        found = self.store.conversations(f"{self._owner} AND id = {quote(conversation_id)}")
        if not found:
            raise StoreError(f"no conversation {conversation_id!r} for user {self.user!r}")
        return found[0]

    def audit(self, memory_id: str | None = None) -> list[AuditEntry]:
        where = self._owner if memory_id is None else f"{self._owner} AND memory_id = {quote(memory_id)}"
        return self.store.audit_entries(where)

    # --- recall ---------------------------------------------------------------------------------
    def search(
        self, query: str, *, k: int | None = None, filters: RecallFilter | None = None, reinforce: bool = True
    ) -> list[RecallHit]:
        return self.search_many([query], k=k, filters=filters, reinforce=reinforce)[0]

    recall = search

    def embed_ahead(self, texts: Sequence[str]) -> None:
        """Embed, in one batch, texts that are about to be searched for or stored.

        A chat turn embeds the user's message twice, as the recall query and as the episodic
        memory; one batch of two costs little more than one text.
        """
        with self._ahead_lock:
            missing = [text for text in dict.fromkeys(texts) if text not in self._ahead]
            if missing:
                for text, vector in zip(missing, embed_array(self.embedder, missing), strict=True):
                    self._ahead[text] = vector
            while len(self._ahead) > EMBED_AHEAD_KEPT:
                self._ahead.popitem(last=False)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        with self._ahead_lock:
            ready = [self._ahead.get(text) for text in texts]
        if texts and all(vector is not None for vector in ready):
            return np.stack(ready)
        return embed_array(self.embedder, texts)

    def embedding_text_of(self, message: Message) -> str:
        """The text a stored message is embedded by (see embed_ahead)."""
        return episodic_embedding_text(
            Memory(
                user=self.user,
                kind=Kind.EPISODIC,
                text=message.content,
                speaker=speaker_label(str(message.role), message.speaker),
            )
        )

    def search_many(
        self,
        queries: Sequence[str],
        *,
        k: int | None = None,
        filters: RecallFilter | None = None,
        reinforce: bool = True,
    ) -> list[list[RecallHit]]:
        """Recall for many queries with one batched embedding; reinforcement is written in batches."""
        if not queries:
            return []
        vectors = self._embed(list(queries))
        results = []
        for query, vector in zip(queries, vectors, strict=True):
            hits = self.recaller.recall(query, vector, self.user, k=k or self.recall_k, filters=filters)
            if reinforce and hits:
                self.reinforcer.record([hit.memory.id for hit in hits], self.now())
            results.append(hits)
        return results

    def flush(self) -> None:
        """Write pending reinforcement."""
        self.reinforcer.flush()

    def tidy(self) -> list[str]:
        """Between turns: compact what the last writes fragmented, so recall stays fast until maintenance.

        Only an optimisation: a failure (another process holding a conflicting commit for two
        minutes, a full disk) is logged and left to the next turn or the maintenance pass.
        """
        self.flush()
        try:
            return self.store.tidy()
        except (StoreError, OSError, RuntimeError, ValueError) as error:
            log.warning("compacting the memory store failed: %s", error)
            return []

    def close(self) -> None:
        self.flush()
        self.recaller.close()

    def __enter__(self) -> MemoryEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        """Store a new memory. A semantic fact with the `key` of an active fact supersedes it."""
        # Secrets are never memories, whichever door the text came in by (CLI, TUI, chat).
        text = redact(text).text.strip()
        if not text:
            raise StoreError("a memory needs some text")
        now = self.now()
        memory = Memory(
            user=self.user,
            kind=kind,
            text=text,
            key=key,
            created_at=now,
            updated_at=now,
            valid_from=valid_from or now,
            importance=importance,
            pinned=pinned,
            origin=origin,
            sources=list(sources),
        )
        # A new value for a known key supersedes the current one, whatever the kind.
        previous = self._active_with_key(key) if key and kind != Kind.EPISODIC else []
        changes = [memory]
        audits = [self._audit(memory.id, "add", reason, detail=f"kind={kind}")]
        for old in previous:
            changes.append(
                replace(old, status=Status.SUPERSEDED, superseded_by=memory.id, valid_to=now, updated_at=now)
            )
            audits.append(self._audit(old.id, "supersede", reason, detail=f"superseded by {memory.id}"))
        vectors = embed_array(self.embedder, [embedding_text_for(memory)])
        if previous:
            import numpy as np

            vectors = np.concatenate([vectors, *[self._vector_of(old.id) for old in previous]])
        self._write(changes, audits, vectors)
        return memory

    def _active_with_key(self, key: str) -> list[Memory]:
        return self.store.memories(f"{self._owner} AND key = {quote(key)} AND status = 'active'")

    def active_with_key(self, key: str) -> list[Memory]:
        """The current memories for a fact key (normally one)."""
        return self._active_with_key(key)

    def with_key(self, key: str) -> list[Memory]:
        """Every memory ever stored under a key, any status, oldest first."""
        memories = self.store.memories(f"{self._owner} AND key = {quote(key)}")
        return sorted(memories, key=lambda memory: memory.created_at)

    def reinforce(
        self, memory_id: str, *, sources: Sequence[str] = (), importance: float | None = None, reason: str
    ) -> Memory:
        """A restatement: count a use, add its sources and keep the higher importance."""
        memory = self.require(memory_id)
        now = self.now()
        updated = replace(
            memory,
            sources=[*memory.sources, *(s for s in sources if s not in memory.sources)],
            importance=max(memory.importance, importance if importance is not None else 0.0),
            access_count=memory.access_count + 1,
            last_accessed=now,
            strength=1.0,
            updated_at=now,
        )
        self._write([updated], [self._audit(memory_id, "reinforce", reason)], self._vector_of(memory_id))
        return updated

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
        memory = self.require(memory_id)
        changed = []
        updated = memory
        text = redact(text).text if text is not None else None
        if text is not None and text.strip() and text.strip() != memory.text:
            updated, changed = replace(updated, text=text.strip()), [*changed, "text"]
        if key is not None and key != memory.key:
            updated, changed = replace(updated, key=key or None), [*changed, "key"]
        if kind is not None and kind != memory.kind:
            updated, changed = replace(updated, kind=kind), [*changed, "kind"]
        if importance is not None and importance != memory.importance:
            updated, changed = replace(updated, importance=importance), [*changed, "importance"]
        if not changed:
            return memory
        updated = replace(updated, updated_at=self.now())
        vectors = None if {"text", "kind"} & set(changed) else self._vector_of(memory_id)
        self._write(
            [updated], [self._audit(memory_id, "update", reason, detail="changed " + ", ".join(changed))], vectors
        )
        return updated

    def supersede(self, memory_id: str, text: str, *, reason: str, key: str | None = None) -> Memory:
        """Replace a memory with a newer version; the old one stays, marked superseded."""
        old = self.require(memory_id)
        now = self.now()
        new = Memory(
            user=self.user,
            kind=old.kind,
            text=text.strip(),
            key=key or old.key,
            created_at=now,
            updated_at=now,
            valid_from=now,
            importance=old.importance,
            pinned=old.pinned,
            origin=old.origin,
            sources=list(old.sources),
        )
        retired = replace(old, status=Status.SUPERSEDED, superseded_by=new.id, valid_to=now, updated_at=now)
        import numpy as np

        vectors = np.concatenate([embed_array(self.embedder, [embedding_text_for(new)]), self._vector_of(old.id)])
        audits = [
            self._audit(new.id, "add", reason, detail=f"supersedes {old.id}"),
            self._audit(old.id, "supersede", reason, detail=f"superseded by {new.id}"),
        ]
        self._write([new, retired], audits, vectors)
        return new

    def _set(self, memory_id: str, action: str, reason: str, **values: Any) -> Memory:
        memory = self.require(memory_id)
        updated = replace(memory, updated_at=self.now(), **values)
        self._write([updated], [self._audit(memory_id, action, reason)], self._vector_of(memory_id))
        return updated

    def archive(self, memory_id: str, *, reason: str = "archived by the user") -> Memory:
        return self._set(memory_id, "archive", reason, status=Status.ARCHIVED)

    def restore(self, memory_id: str, *, reason: str = "restored by the user") -> Memory:
        # A restore is a use: full strength again, so decay does not archive it straight back.
        return self._set(
            memory_id,
            "restore",
            reason,
            status=Status.ACTIVE,
            superseded_by=None,
            valid_to=None,
            strength=1.0,
            last_accessed=self.now(),
        )

    def pin(self, memory_id: str, *, reason: str = "pinned by the user") -> Memory:
        return self._set(memory_id, "pin", reason, pinned=True)

    def unpin(self, memory_id: str, *, reason: str = "unpinned by the user") -> Memory:
        return self._set(memory_id, "unpin", reason, pinned=False)

    def set_strength(self, memory_ids: Sequence[str], strength: float, *, reason: str) -> None:
        """For decay: set strength on many memories in one write."""
        if not memory_ids:
            return
        self.store.update(MEMORIES, f"{self._owner} AND {in_list('id', memory_ids)}", values={"strength": strength})
        self.store.write_audit(
            [self._audit(memory_id, "decay", reason, detail=f"strength={strength:.4f}") for memory_id in memory_ids]
        )

    # --- forgetting -------------------------------------------------------------------------------
    def forget(
        self,
        memory_ids: Sequence[str],
        *,
        reason: str = "forgotten at the user's request",
        with_sources: bool | None = None,
    ) -> int:
        """Delete memories so that their text is in no file on disk.

        A message's own episodic memory takes the message with it. Other memories keep the
        conversation messages they came from unless `with_sources` is true.
        """
        memories = [self.require(memory_id) for memory_id in dict.fromkeys(memory_ids)]
        if not memories:
            return 0
        message_ids: list[str] = []
        for memory in memories:
            if with_sources or (with_sources is None and memory.kind == Kind.EPISODIC):
                message_ids.extend(memory.sources)
        touched = [MEMORIES]
        # Order matters for a crash part-way: the messages go before the memories, so a killed
        # forget leaves the memory in place and running forget again finishes the job.
        if message_ids:
            where_messages = f"{self._owner} AND {in_list('id', message_ids)}"
            doomed = self.store.rows(MESSAGES, where_messages, columns=["conversation_id", "content"])
            conversation_ids = {row["conversation_id"] for row in doomed if row["conversation_id"]}
            self._drop_quoted_context(conversation_ids, [row["content"] or "" for row in doomed])
            self.store.delete(MESSAGES, where_messages)
            self._retitle(conversation_ids)
            touched.append(CONVERSATIONS)
            # Episodic memories of those messages would keep their text: they go too.
            self.store.delete(
                MEMORIES, f"{self._owner} AND {in_list('id', [episodic_memory_id(i) for i in message_ids])}"
            )
            touched.append(MESSAGES)
        self.store.delete(MEMORIES, f"{self._owner} AND {in_list('id', [m.id for m in memories])}")
        self.store.write_audit([self._audit(memory.id, "forget", reason) for memory in memories])
        self.store.purge(touched)
        return len(memories)

    def _drop_quoted_context(self, conversation_ids: set[str], contents: Sequence[str]) -> None:
        """An episode quotes the message before it (text and vector): a forgotten message must not live on there."""
        prefixes = [content[:CONTEXT_CHARS] for content in contents if content]
        if not conversation_ids or not prefixes:
            return
        where = f"{self._owner} AND {in_list('conversation_id', conversation_ids)} AND context IS NOT NULL"
        quoting = [m for m in self.store.memories(where) if any(p in (m.context or "") for p in prefixes)]
        if quoting:
            audits = [self._audit(m.id, "update", "its context quoted a forgotten message") for m in quoting]
            self._write([replace(m, context=None) for m in quoting], audits)

    def _retitle(self, conversation_ids: Iterable[str]) -> None:
        """A title may quote a deleted message: derive it again from what is left (or drop the conversation)."""
        for conversation_id in conversation_ids:
            remaining = self.messages(conversation_id)
            where = f"{self._owner} AND id = {quote(conversation_id)}"
            if not remaining:
                self.store.delete(CONVERSATIONS, where)
            else:
                self.store.update(CONVERSATIONS, where, values={"title": _title_from(remaining[0].content)})

    def forget_all(self, *, reason: str = "the user deleted everything") -> None:
        """Delete the whole space: memories, messages, conversations, profile and audit log."""
        for name in (MEMORIES, MESSAGES, CONVERSATIONS, PROFILES, AUDIT):
            self.store.delete(name, self._owner)
        self.store.purge([MEMORIES, MESSAGES, CONVERSATIONS, PROFILES, AUDIT])
        self.store.write_audit([self._audit("*", "forget_all", reason)])

    # --- profile ----------------------------------------------------------------------------------
    def profile(self) -> dict[str, Any]:
        rows = self.store.rows(PROFILES, self._owner, limit=1)
        return json.loads(rows[0]["document"]) if rows else {}

    def update_profile(self, changes: dict[str, Any], *, reason: str = "profile updated") -> dict[str, Any]:
        """Merge `changes` into the profile document; a value of None removes that entry."""
        document = self.profile()
        for name, value in changes.items():
            if value is None:
                document.pop(name, None)
            else:
                document[name] = value
        self.store.upsert(
            PROFILES,
            [{"owner": self.user, "document": json.dumps(document, ensure_ascii=False), "updated_at": self.now()}],
            on=("owner",),
        )
        self.store.write_audit(
            [self._audit("profile", "update", reason, detail="fields: " + ", ".join(sorted(changes)))]
        )
        return document

    # --- messages -----------------------------------------------------------------------------------
    def add_messages(self, messages: Sequence[Message], *, reason: str = "conversation message") -> list[Memory]:
        """Log messages (the episodic record) and index each as an episodic memory; idempotent by id."""
        new = self._unseen(messages)
        if not new:
            return []
        memories = self._store_messages(new, Origin.EXTRACTED, reason, {})
        return memories

    def _present(self, table: str, ids: Sequence[str]) -> set[str]:
        """Which of `ids` this space already holds in `table`."""
        ids = list(dict.fromkeys(ids))
        present: set[str] = set()
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            present.update(
                row["id"] for row in self.store.rows(table, f"{self._owner} AND {in_list('id', chunk)}", columns=["id"])
            )
        return present

    def _unseen(self, messages: Sequence[Message]) -> list[Message]:
        present = self._present(MESSAGES, [message.id for message in messages])
        seen: set[str] = set()
        fresh = []
        for message in messages:
            if message.id in present or message.id in seen:
                continue
            seen.add(message.id)
            fresh.append(message)
        return fresh

    def _previous_messages(self, messages: Sequence[Message]) -> dict[str, Message]:
        """The message each one answered: the one before it in its conversation, from this batch or the log."""
        previous: dict[str, Message] = {}
        last_in: dict[str, Message] = {}
        missing: set[str] = set()
        for message in messages:
            before = last_in.get(message.conversation_id)
            if before is not None:
                previous[message.id] = before
            else:
                missing.add(message.conversation_id)
            last_in[message.conversation_id] = message
        for conversation_id in missing:
            first = next(m for m in messages if m.conversation_id == conversation_id)
            logged = self.store.rows(
                MESSAGES,
                f"{self._owner} AND conversation_id = {quote(conversation_id)} AND created_at <= "
                f"CAST({quote(first.created_at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=' '))} AS TIMESTAMP)",
                columns=["id", "owner", "role", "content", "conversation_id", "speaker", "created_at"],
            )
            logged = [row for row in logged if row["id"] != first.id]
            if logged:
                from assistant.memory.store import row_to_message

                row = max(logged, key=lambda r: (r["created_at"], r["id"]))
                previous[first.id] = row_to_message(row)
        return previous

    def _store_messages(
        self, messages: Sequence[Message], origin: Origin, reason: str, carried: dict[str, tuple[str, Any]]
    ) -> list[Memory]:
        import numpy as np

        previous = self._previous_messages(messages)
        memories = []
        for message in messages:
            before = previous.get(message.id)
            context = None
            if before is not None:
                context = f"{speaker_label(str(before.role), before.speaker)}: {before.content[:CONTEXT_CHARS]}"
            memories.append(
                Memory(
                    user=self.user,
                    kind=Kind.EPISODIC,
                    text=message.content,
                    id=episodic_memory_id(message.id),
                    created_at=message.created_at,
                    updated_at=message.created_at,
                    valid_from=message.created_at,
                    importance=0.3,
                    origin=origin,
                    sources=[message.id],
                    speaker=speaker_label(str(message.role), message.speaker),
                    conversation_id=message.conversation_id,
                    context=context,
                )
            )
        vectors = self._embed([embedding_text_for(memory) for memory in memories])
        position = {message.id: index for index, message in enumerate(messages)}
        blended = vectors.copy()
        for index, message in enumerate(messages):
            before = previous.get(message.id)
            if before is None:
                continue
            if before.id in position:
                blended[index] += CONTEXT_VECTOR_WEIGHT * vectors[position[before.id]]
            elif before.id in carried:
                blended[index] += CONTEXT_VECTOR_WEIGHT * np.asarray(carried[before.id][1], dtype=np.float32)
        blended = _normalize_rows(blended)
        for message, vector in zip(messages, vectors, strict=True):
            carried[message.id] = (message.conversation_id, vector)
        # The messages go last: a stored message means its whole batch is stored, so a batch cut
        # short by a crash stays unseen and the next import (or the same turn again) finishes it.
        inserted = self.store.insert_new(MEMORIES, memory_rows(memories, blended, self.store.dimension))
        self._touch_conversations(messages)
        audits = [
            {
                "id": _stable_id(self.user, memory.id, "add"),
                "owner": self.user,
                "memory_id": memory.id,
                "action": "add",
                "reason": reason,
                "at": self.now(),
                "detail": f"kind=episodic origin={origin}",
            }
            for memory in memories
        ]
        if inserted < len(memories):
            # Some episodes were stored by an attempt that died before its messages: one "add" each.
            logged = self._present(AUDIT, [row["id"] for row in audits])
            audits = [row for row in audits if row["id"] not in logged]
        self.store.append(AUDIT, audits)
        self.store.insert_new(MESSAGES, [message_to_row(message) for message in messages])
        return memories

    def _touch_conversations(self, messages: Sequence[Message]) -> None:
        spans: dict[str, tuple[datetime, datetime, Message]] = {}
        for message in messages:
            first, last, opener = spans.get(message.conversation_id, (message.created_at, message.created_at, message))
            if message.created_at < first:
                first, opener = message.created_at, message
            spans[message.conversation_id] = (first, max(last, message.created_at), opener)
        existing = {c.id: c for c in self.store.conversations(f"{self._owner} AND {in_list('id', list(spans))}")}
        rows = []
        for conversation_id, (first, last, opener) in spans.items():
            known = existing.get(conversation_id)
            title = known.title if known else _title_from(opener.content)
            rows.append(
                {
                    "id": conversation_id,
                    "owner": self.user,
                    "title": title,
                    "created_at": min(first, known.created_at) if known else first,
                    "updated_at": max(last, known.updated_at) if known else last,
                }
            )
        self.store.upsert(CONVERSATIONS, rows)

    # --- import / export ---------------------------------------------------------------------------
    def import_file(self, path: Path, *, progress: ProgressCallback | None = None) -> ImportReport:
        """Import JSON Lines messages, or restore an `assistant memory export` file."""
        try:
            # Invalid bytes become lone surrogates, so one bad line is reported and the rest imported.
            handle = open(path, encoding="utf-8", errors="surrogateescape")  # noqa: SIM115 - closed below
        except OSError as error:
            raise ImportFileError(f"cannot read {path}: {error.strerror or error}") from None
        with handle:
            try:
                first = handle.readline()
            except UnicodeDecodeError:
                raise ImportFileError(f"{path} is not UTF-8 text") from None
            header = _export_header(first)
            handle.seek(0)
            if header is not None:
                return self.import_export(handle, progress=progress)
            return self.import_jsonl(handle, total_bytes=_size(path), progress=progress)

    def import_jsonl(
        self, lines: Iterable[str], *, total_bytes: int = 0, progress: ProgressCallback | None = None
    ) -> ImportReport:
        report = ImportReport()
        carried: dict[str, tuple[str, Any]] = {}
        batch: list[Message] = []
        done_bytes = 0

        def flush() -> None:
            fresh = self._unseen(batch)
            report.already_present += len(batch) - len(fresh)
            if fresh:
                self._store_messages(fresh, Origin.IMPORTED, "imported from a file", carried)
                report.imported += len(fresh)
            batch.clear()
            if len(carried) > 4 * IMPORT_CHUNK:
                for key in list(carried)[: len(carried) - IMPORT_CHUNK]:
                    del carried[key]
            if progress:
                progress(done_bytes, total_bytes)

        try:
            for number, line in enumerate(lines, start=1):
                done_bytes += len(line.encode("utf-8", "surrogateescape"))
                if not line.strip():
                    continue
                try:
                    batch.append(self._parse_message(line, number))
                except ValueError as error:
                    report.bad_lines.append((number, str(error)))
                    continue
                if len(batch) >= IMPORT_CHUNK:
                    flush()
        except UnicodeDecodeError as error:
            report.bad_lines.append((-1, f"the rest of the file is not UTF-8 text ({error.reason})"))
        if batch:
            flush()
        self.store.ensure_indexes()
        return report

    def _parse_message(self, line: str, number: int) -> Message:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"not valid JSON ({error.msg})") from None
        try:
            line.encode("utf-8")
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("not UTF-8 text (invalid bytes or a lone surrogate escape)") from None
        if not isinstance(record, dict):
            raise ValueError("expected a JSON object")
        role = record.get("role")
        if role not in ("user", "assistant"):
            raise ValueError('\'role\' must be "user" or "assistant"')
        content = record.get("content")
        if not isinstance(content, str) or not content.strip():
            raise ValueError("'content' must be a non-empty string")
        for name in ("id", "session_id", "speaker", "timestamp"):
            value = record.get(name)
            if value is not None and not isinstance(value, str | int):
                raise ValueError(f"{name!r} must be a string")
        raw_time = record.get("timestamp")
        try:
            created_at = parse_time(str(raw_time)) if raw_time is not None else self.now()
        except ValueError:
            raise ValueError(f"'timestamp' is not ISO-8601: {raw_time!r}") from None
        session = str(record["session_id"]) if record.get("session_id") is not None else DEFAULT_CONVERSATION
        message_id = record.get("id")
        if message_id is None or str(message_id) == "":
            message_id = _stable_id(session, str(number), role, content, str(raw_time or ""))
        speaker = record.get("speaker")
        return Message(
            user=self.user,
            role=Role(role),
            content=content,
            conversation_id=session,
            id=str(message_id),
            speaker=str(speaker) if speaker else None,
            created_at=created_at,
        )

    def export(self, path: Path) -> dict[str, int]:
        """Write the whole space as JSON Lines: a header, then one record per row (vectors included)."""
        counts: dict[str, int] = {}
        path = Path(path)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            header = {
                "format": EXPORT_FORMAT,
                "version": EXPORT_VERSION,
                "schema_version": SCHEMA_VERSION,
                "user": self.user,
                "exported_at": iso(self.now()),
                "dimension": self.store.dimension,
                "embedder": str(getattr(self.embedder, "path", type(self.embedder).__name__)),
            }
            handle.write(json.dumps(header, ensure_ascii=False) + "\n")
            for record_type, record in self._export_records():
                counts[record_type] = counts.get(record_type, 0) + 1
                handle.write(json.dumps({"type": record_type, **record}, ensure_ascii=False) + "\n")
        return counts

    def _export_records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for record_type, name, order in (
            ("profile", PROFILES, "owner"),
            ("conversation", CONVERSATIONS, "id"),
            ("message", MESSAGES, "id"),
            ("memory", MEMORIES, "id"),
            ("audit", AUDIT, "id"),
        ):
            rows = self.store.arrow(name, self._owner).to_pylist()
            rows.sort(key=lambda row, order=order: str(row[order]))
            for row in rows:
                row.pop("owner", None)
                row.pop("_rowid", None)
                yield record_type, {key: _json_value(value) for key, value in row.items()}

    def import_export(self, lines: Iterable[str], *, progress: ProgressCallback | None = None) -> ImportReport:
        """Restore an export file into this space (as this user); re-running it changes nothing."""
        report = ImportReport()
        iterator = iter(lines)
        header = _export_header(next(iterator, ""))
        if header is None:
            raise ImportFileError("not an assistant export file")
        if header.get("version") != EXPORT_VERSION:
            raise ImportFileError(f"unsupported export version {header.get('version')!r}")
        if int(header.get("dimension", self.store.dimension)) != self.store.dimension:
            raise ImportFileError(
                f"the export holds {header['dimension']}-dimensional vectors but this embedder makes "
                f"{self.store.dimension}"
            )
        tables = {
            "profile": PROFILES,
            "conversation": CONVERSATIONS,
            "message": MESSAGES,
            "memory": MEMORIES,
            "audit": AUDIT,
        }
        pending: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
        schemas = {kind: self.store.table(name).schema for kind, name in tables.items()}

        def flush(kind: str) -> None:
            rows = pending[kind]
            if not rows:
                return
            import pyarrow as pa

            table = pa.Table.from_pylist(rows, schema=schemas[kind])
            self.store.upsert(tables[kind], table, on=("owner",) if kind == "profile" else ("owner", "id"))
            report.restored[kind] = report.restored.get(kind, 0) + len(rows)
            rows.clear()

        for number, line in enumerate(iterator, start=2):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                kind = record.pop("type")
                if kind not in tables:
                    raise ValueError(f"unknown record type {kind!r}")
                pending[kind].append(_restore_row(record, schemas[kind], self.user))
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                report.bad_lines.append((number, f"bad export record ({error})"))
                continue
            if len(pending[kind]) >= IMPORT_CHUNK:
                flush(kind)
                if progress:
                    progress(number, 0)
        for kind in tables:
            flush(kind)
        report.imported = report.restored.get("memory", 0)
        self.store.ensure_indexes()
        return report

    # --- upkeep -----------------------------------------------------------------------------------------
    def maintain(self) -> None:
        """Fold new rows into the indexes (and build the vector index once the space is big)."""
        self.flush()
        self.store.ensure_indexes()

    def stats(self) -> dict[str, Any]:
        memories = self.store.rows(MEMORIES, self._owner, columns=["kind", "status", "pinned"])
        by_kind: dict[str, int] = {}
        by_status: dict[str, int] = {}
        for row in memories:
            by_kind[row["kind"]] = by_kind.get(row["kind"], 0) + 1
            by_status[row["status"]] = by_status.get(row["status"], 0) + 1
        return {
            "user": self.user,
            "memories": len(memories),
            "by_kind": by_kind,
            "by_status": by_status,
            "pinned": sum(1 for row in memories if row["pinned"]),
            "messages": self.store.count(MESSAGES, self._owner),
            "conversations": self.store.count(CONVERSATIONS, self._owner),
            "audit_entries": self.store.count(AUDIT, self._owner),
            "profile_fields": len(self.profile()),
            "schema_version": SCHEMA_VERSION,
            "store": str(self.store.path),
            "size_bytes": tree_size(self.store.path),
        }


def memory_rows(memories: Sequence[Memory], vectors: np.ndarray, dimension: int) -> Any:
    """Memories as an Arrow table in the store's schema (fast path for big batches)."""
    import numpy as np
    import pyarrow as pa

    schema = memory_schema(dimension)
    rows = [memory_to_row(memory, None, search_text_for(memory)) for memory in memories]  # type: ignore[arg-type]
    columns = {name: [row[name] for row in rows] for name in schema.names if name != "vector"}
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    arrays = [
        pa.FixedSizeListArray.from_arrays(flat, dimension)
        if name == "vector"
        else pa.array(columns[name], type=schema.field(name).type)
        for name in schema.names
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _title_from(text: str) -> str:
    return " ".join(text.split())[:60] or "Conversation"


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    return value


def _restore_row(record: dict[str, Any], schema: Any, owner: str) -> dict[str, Any]:
    import pyarrow as pa

    row: dict[str, Any] = {"owner": owner}
    for name in schema.names:
        if name == "owner":
            continue
        value = record.get(name)
        if value is not None and pa.types.is_timestamp(schema.field(name).type):
            value = parse_time(value)
        row[name] = value
    return row


def _export_header(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, TypeError):
        return None
    if isinstance(record, dict) and record.get("format") == EXPORT_FORMAT:
        return record
    return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def tree_size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total
