"""Space: one user's slice of the shared store, and what every part of the engine shares.

The engine's parts (message log, memories, forgetting, import/export, upkeep) each hold the
same `Space`: the store, the embedder, the user, the clock, and the revision counter a prompt
checks to know whether something it quoted may have been taken back.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from assistant.errors import StoreError
from assistant.memory.embed import Embedder, embed_array
from assistant.memory.formats import embedding_text_for, memory_rows
from assistant.memory.redacting import redacted_memory
from assistant.memory.store import MEMORIES, MemoryStore
from assistant.memory.store.query import Where, eq, is_in, owned_by
from assistant.memory.types import AuditEntry, Memory

if TYPE_CHECKING:
    import numpy as np

# Vectors computed ahead of use (embed_ahead): a few turns' worth.
EMBED_AHEAD_KEPT = 16
KEPT_FROM_EMBED = 4  # texts embedded at once that are kept as well (queries, not an import's batches)


class Space:
    """One user's memory space on the shared store, with the embedder and the clock."""

    def __init__(self, store: MemoryStore, embedder: Embedder, user: str, now: Callable[[], datetime]) -> None:
        if not user or not user.strip():
            raise StoreError("the user name must not be empty")
        self.store = store
        self.embedder = embedder
        self.user = user
        self.now = now
        self.vectors = VectorCache(embedder)

    @property
    def owner(self) -> Where:
        """The filter every query on this space starts with."""
        return owned_by(self.user)

    def audit(self, memory_id: str, action: str, reason: str, detail: str = "") -> AuditEntry:
        return AuditEntry(self.user, memory_id, action, reason, at=self.now(), detail=detail)

    def write(
        self, memories: Sequence[Memory], audits: Sequence[AuditEntry], vectors: np.ndarray | None = None
    ) -> list[Memory]:
        """Store whole memories (replacing any with the same id) and their audit entries; returns them as stored.

        Secrets are redacted here, whatever the caller did: a memory whose text changed gets a
        vector of its redacted text, so not even its meaning keeps the secret.
        """
        cleaned = [redacted_memory(memory) for memory in memories]
        if vectors is None:
            vectors = embed_array(self.embedder, [embedding_text_for(memory) for memory in cleaned])
        else:
            pairs = enumerate(zip(memories, cleaned, strict=True))
            changed = [index for index, (before, after) in pairs if before is not after]
            if changed:
                vectors = vectors.copy()
                fresh = embed_array(self.embedder, [embedding_text_for(cleaned[index]) for index in changed])
                for index, vector in zip(changed, fresh, strict=True):
                    vectors[index] = vector
        self.store.upsert(MEMORIES, memory_rows(cleaned, vectors, self.store.dimension))
        self.store.write_audit(audits)
        return cleaned

    def get(self, memory_id: str) -> Memory | None:
        found = self.store.memories(self.owner & eq("id", memory_id), limit=1)
        return found[0] if found else None

    def get_many(self, memory_ids: Sequence[str]) -> list[Memory]:
        """Those of `memory_ids` that exist, in the order asked, in one read."""
        if not memory_ids:
            return []
        found = {memory.id: memory for memory in self.store.memories(self.owner & is_in("id", list(memory_ids)))}
        return [found[memory_id] for memory_id in dict.fromkeys(memory_ids) if memory_id in found]

    def require(self, memory_id: str) -> Memory:
        memory = self.get(memory_id)
        if memory is None:
            raise StoreError(f"no memory {memory_id!r} for user {self.user!r}")
        return memory

    def vector_of(self, memory_id: str) -> np.ndarray:
        import numpy as np

        rows = self.store.rows(MEMORIES, self.owner & eq("id", memory_id), columns=["vector"], limit=1)
        return np.asarray([rows[0]["vector"]], dtype=np.float32)

    def present(self, table: str, ids: Sequence[str]) -> set[str]:
        """Which of `ids` this space already holds in `table`."""
        ids = list(dict.fromkeys(ids))
        present: set[str] = set()
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            where = self.owner & is_in("id", chunk)
            present.update(row["id"] for row in self.store.rows(table, where, columns=["id"]))
        return present


class VectorCache:
    """Vectors of texts about to be searched for or stored, computed in one batch ahead of use."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._ahead: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed_ahead(self, texts: Sequence[str]) -> None:
        with self._lock:
            missing = [text for text in dict.fromkeys(texts) if text not in self._ahead]
            if missing:
                self._keep(missing, embed_array(self.embedder, missing))

    def _keep(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        for text, vector in zip(texts, vectors, strict=True):
            self._ahead[text] = vector
            self._ahead.move_to_end(text)
        while len(self._ahead) > EMBED_AHEAD_KEPT:
            self._ahead.popitem(last=False)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """The vectors of `texts`: from the ones embedded ahead when all are there, else computed.

        A few texts computed here are kept too: a question asked again (the same search, a
        turn retried) is not embedded twice.
        """
        import numpy as np

        with self._lock:
            ready = [self._ahead.get(text) for text in texts]
        if texts and all(vector is not None for vector in ready):
            return np.stack(ready)  # type: ignore[arg-type]
        vectors = embed_array(self.embedder, texts)
        if len(texts) <= KEPT_FROM_EMBED:
            with self._lock:
                self._keep(texts, vectors)
        return vectors
