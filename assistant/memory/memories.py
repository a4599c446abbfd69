"""Reading and changing memories: get, list, add, edit, supersede, archive, pin, reinforce.

A change never deletes: the old version stays, marked (superseded, archived), and every
change writes an audit entry with its reason. Deleting for good is forgetting.py's job.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from assistant.errors import StoreError
from assistant.memory.embed import embed_array
from assistant.memory.formats import embedding_text_for
from assistant.memory.redacting import redacted_document, redacted_text
from assistant.memory.space import Space
from assistant.memory.store import MEMORIES, PROFILES
from assistant.memory.store.query import all_of, any_of, eq, is_in, is_true, starts_with
from assistant.memory.types import AuditEntry, Kind, Memory, Origin, Status


class Memories:
    """The memories of one space."""

    def __init__(self, space: Space) -> None:
        self.space = space

    # --- reading ------------------------------------------------------------------------------
    def list(
        self,
        *,
        kinds: Iterable[Kind] | None = None,
        statuses: Iterable[Status] | None = None,
        limit: int | None = None,
    ) -> list[Memory]:
        """Memories newest first; all statuses unless `statuses` is given."""
        where = [self.space.owner]
        if kinds:
            where.append(is_in("kind", kinds))
        if statuses:
            where.append(is_in("status", statuses))
        memories = self.space.store.memories(all_of(*where))
        memories.sort(key=lambda memory: (memory.created_at, memory.id), reverse=True)
        return memories[:limit] if limit is not None else memories

    def standing(self, key_prefixes: Sequence[str]) -> builtins.list[Memory]:
        """Active rules and preferences, and the facts that are pinned or have a key starting with
        one of `key_prefixes`: what the assistant keeps in every prompt, in one read."""
        keyed = any_of(*(starts_with("key", prefix) for prefix in key_prefixes))
        always = is_in("kind", [Kind.PROCEDURAL, Kind.PREFERENCE])
        standing_fact = eq("kind", Kind.SEMANTIC) & (is_true("pinned") | keyed)
        return self.space.store.memories(self.space.owner & eq("status", Status.ACTIVE) & (always | standing_fact))

    def active_with_key(self, key: str) -> builtins.list[Memory]:
        """The current memories for a fact key (normally one)."""
        return self.space.store.memories(self.space.owner & eq("key", key) & eq("status", Status.ACTIVE))

    def with_key(self, key: str) -> builtins.list[Memory]:
        """Every memory ever stored under a key, any status, oldest first."""
        memories = self.space.store.memories(self.space.owner & eq("key", key))
        return sorted(memories, key=lambda memory: memory.created_at)

    def audit(self, memory_id: str | None = None) -> builtins.list[AuditEntry]:
        owner = self.space.owner
        where = owner if memory_id is None else owner & eq("memory_id", memory_id)
        return self.space.store.audit_entries(where)

    # --- changing -----------------------------------------------------------------------------
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
        space = self.space
        # Secrets are never memories, whichever door the text came in by (CLI, TUI, chat); the
        # write redacts too, but a text that was nothing but a secret must be refused first.
        text = redacted_text(text).strip()
        if not text:
            raise StoreError("a memory needs some text")
        now = space.now()
        memory = Memory(
            user=space.user,
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
        previous = self.active_with_key(key) if key and kind != Kind.EPISODIC else []
        changes = [memory]
        audits = [space.audit(memory.id, "add", reason, detail=f"kind={kind}")]
        for old in previous:
            changes.append(
                # The old value held until the new one began (for an imported history: when it was said).
                replace(
                    old, status=Status.SUPERSEDED, superseded_by=memory.id, valid_to=memory.valid_from, updated_at=now
                )
            )
            audits.append(space.audit(old.id, "supersede", reason, detail=f"superseded by {memory.id}"))
        vectors = embed_array(space.embedder, [embedding_text_for(memory)])
        if previous:
            import numpy as np

            vectors = np.concatenate([vectors, *[space.vector_of(old.id) for old in previous]])
        return space.write(changes, audits, vectors)[0]

    def reinforce(
        self, memory_id: str, *, sources: Sequence[str] = (), importance: float | None = None, reason: str
    ) -> Memory:
        """A restatement: count a use, add its sources and keep the higher importance."""
        space = self.space
        memory = space.require(memory_id)
        now = space.now()
        updated = replace(
            memory,
            sources=[*memory.sources, *(s for s in sources if s not in memory.sources)],
            importance=max(memory.importance, importance if importance is not None else 0.0),
            access_count=memory.access_count + 1,
            last_accessed=now,
            strength=1.0,
            updated_at=now,
        )
        return space.write([updated], [space.audit(memory_id, "reinforce", reason)], space.vector_of(memory_id))[0]

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
        space = self.space
        memory = space.require(memory_id)
        changed: builtins.list[str] = []
        updated = memory
        text = redacted_text(text) if text is not None else None
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
        updated = replace(updated, updated_at=space.now())
        vectors = None if {"text", "kind"} & set(changed) else space.vector_of(memory_id)
        audit = space.audit(memory_id, "update", reason, detail="changed " + ", ".join(changed))
        return space.write([updated], [audit], vectors)[0]

    def supersede(self, memory_id: str, text: str, *, reason: str, key: str | None = None) -> Memory:
        """Replace a memory with a newer version; the old one stays, marked superseded."""
        space = self.space
        old = space.require(memory_id)
        now = space.now()
        new = Memory(
            user=space.user,
            kind=old.kind,
            text=redacted_text(text).strip(),
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

        vectors = np.concatenate([embed_array(space.embedder, [embedding_text_for(new)]), space.vector_of(old.id)])
        audits = [
            space.audit(new.id, "add", reason, detail=f"supersedes {old.id}"),
            space.audit(old.id, "supersede", reason, detail=f"superseded by {new.id}"),
        ]
        return space.write([new, retired], audits, vectors)[0]

    def set(self, memory_id: str, action: str, reason: str, **values: Any) -> Memory:
        """Change fields that leave the text (and so the vector) alone: status, pinned, strength."""
        space = self.space
        memory = space.require(memory_id)
        updated = replace(memory, updated_at=space.now(), **values)
        return space.write([updated], [space.audit(memory_id, action, reason)], space.vector_of(memory_id))[0]

    def archive(self, memory_id: str, *, reason: str = "archived by the user") -> Memory:
        return self.set(memory_id, "archive", reason, status=Status.ARCHIVED)

    def restore(self, memory_id: str, *, reason: str = "restored by the user") -> Memory:
        # A restore is a use: full strength again, so decay does not archive it straight back.
        return self.set(
            memory_id,
            "restore",
            reason,
            status=Status.ACTIVE,
            superseded_by=None,
            valid_to=None,
            strength=1.0,
            last_accessed=self.space.now(),
        )

    def pin(self, memory_id: str, *, reason: str = "pinned by the user") -> Memory:
        return self.set(memory_id, "pin", reason, pinned=True)

    def unpin(self, memory_id: str, *, reason: str = "unpinned by the user") -> Memory:
        return self.set(memory_id, "unpin", reason, pinned=False)

    def set_strength(self, memory_ids: Sequence[str], strength: float, *, reason: str) -> None:
        """For decay: set strength on many memories in one write."""
        if not memory_ids:
            return
        space = self.space
        space.store.update(MEMORIES, space.owner & is_in("id", memory_ids), values={"strength": strength})
        space.store.write_audit(
            [space.audit(memory_id, "decay", reason, detail=f"strength={strength:.4f}") for memory_id in memory_ids]
        )

    # --- profile ------------------------------------------------------------------------------
    def profile(self) -> dict[str, Any]:
        rows = self.space.store.rows(PROFILES, self.space.owner, limit=1)
        return json.loads(rows[0]["document"]) if rows else {}

    def update_profile(self, changes: dict[str, Any], *, reason: str = "profile updated") -> dict[str, Any]:
        """Merge `changes` into the profile document; a value of None removes that entry."""
        space = self.space
        document = self.profile()
        for name, value in redacted_document(changes).items():
            if value is None:
                document.pop(name, None)
            else:
                document[name] = value
        row = {"owner": space.user, "document": json.dumps(document, ensure_ascii=False), "updated_at": space.now()}
        space.store.upsert(PROFILES, [row], on=("owner",))
        space.store.write_audit(
            [space.audit("profile", "update", reason, detail="fields: " + ", ".join(sorted(changes)))]
        )
        return document
