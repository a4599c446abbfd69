"""The memory service: every memory use case, with one policy each, for every front end.

Chat commands ("remember that …", "/forget …"), the CLI (`assistant memory …`) and the TUI's
memory panel all call this class, so the same request behaves the same wherever it comes
from. The policies, decided once:

- **Remember / add**: text the user asks to keep goes through the same learning as chat
  (the rules give keyed facts, so "I'm allergic to shellfish" lands in the always-in-context
  profile); only `add_raw` stores text exactly as given (the CLI's `--raw`, `--key`, `--kind`).
- **Secrets** are redacted where memories and messages are written (the engine), whichever
  door the text came in by; a request that is nothing but a secret saves nothing.
- **Remove a rule or a profile line** archives it: it leaves the prompt, stays visible in
  the panel and can be restored. **Forget** deletes for good, from every file on disk.
- **Forget by meaning** picks one memory only when it clearly matches best; otherwise the
  caller shows the candidates and asks. The assistant's replies to the forgotten memory's
  source messages go with it (they usually repeat the fact).
- **Searching** from a front end is not a use: it never reinforces what it finds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from assistant.application.views import MemoryDetail
from assistant.errors import StoreError
from assistant.learning.consolidate import Applied, Consolidator
from assistant.learning.explicit import extract_explicit
from assistant.learning.remember import remember_candidates
from assistant.learning.schema import in_profile, profile_key_prefixes
from assistant.memory.engine import ImportReport, MemoryEngine, ProgressCallback, episodic_memory_id
from assistant.memory.language import normalize_text
from assistant.memory.recall import RecallFilter
from assistant.memory.types import Kind, Memory, Message, Origin, RecallHit, Role, Status, utcnow

# Cosine similarity a memory needs with a "forget ..." query to count as a match.
FORGET_MATCH = 0.55
# How far ahead the best match must be to be chosen without asking.
FORGET_MARGIN = 0.08
# Facts so important for the user's safety or identity that they are always in context.
PROFILE_KEY_PREFIXES = profile_key_prefixes()  # from the fact schema's in_profile rows
RELATIVES_PREFIX = "user.family."
# What counts as "a memory" for the user: not the raw message log.
REMEMBERED_KINDS = (Kind.SEMANTIC, Kind.PREFERENCE, Kind.PROCEDURAL, Kind.SUMMARY)
MEMORY_ID = re.compile(r"^(?:ep-)?[0-9a-f]{6,64}$")


@dataclass
class Remembered:
    """What one "remember …" request changed: new memories, ones it confirmed, ones it replaced."""

    saved: list[Memory] = field(default_factory=list)
    confirmed: list[Memory] = field(default_factory=list)
    replaced: dict[str, list[Memory]] = field(default_factory=dict)  # new memory id -> what it superseded
    refused_rules: list[str] = field(default_factory=list)  # rules a caller may not set (see `remember`)

    @property
    def memories(self) -> list[Memory]:
        return [*self.saved, *self.confirmed]


@dataclass
class ForgetMatches:
    """The memories a "forget …" request names; `ambiguous` when the user must choose."""

    memories: list[Memory]
    ambiguous: bool = False


class MemoryService:
    """One user's memory space, as the front ends see it."""

    def __init__(
        self,
        engine: MemoryEngine,
        *,
        clock: Callable[[], datetime] = utcnow,
        on_forget_all: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        # What else holds traces of the space (the session's prompt state and context traces).
        self._on_forget_all = on_forget_all
        self.consolidator = Consolidator(engine)

    @property
    def user(self) -> str:
        return self.engine.user

    # -- reading ---------------------------------------------------------------------------

    def get(self, memory_id: str) -> Memory | None:
        return self.engine.get(memory_id)

    def require(self, memory_id: str) -> Memory:
        return self.engine.require(memory_id)

    def by_ids(self, memory_ids: Sequence[str]) -> list[Memory]:
        return self.engine.get_many(memory_ids)

    def detail(self, memory_id: str) -> MemoryDetail | None:
        """A memory with why it exists (its source messages) and its history."""
        memory = self.engine.get(memory_id)
        if memory is None:
            return None
        history = sorted(self.engine.audit(memory_id), key=lambda entry: entry.at)
        return MemoryDetail(memory, self.engine.sources_of(memory), history)

    def search(self, query: str, *, k: int | None = None, filters: RecallFilter | None = None) -> list[RecallHit]:
        return self.engine.search(query, k=k, filters=filters, reinforce=False)

    def search_many(
        self, queries: Sequence[str], *, k: int | None = None, filters: RecallFilter | None = None
    ) -> list[list[RecallHit]]:
        return self.engine.search_many(queries, k=k, filters=filters, reinforce=False)

    def select(
        self,
        *,
        kinds: Sequence[Kind] | None = None,
        statuses: Sequence[Status] | None = None,
        limit: int | None = None,
    ) -> list[Memory]:
        return self.engine.list(kinds=kinds, statuses=statuses, limit=limit)

    def remembered(self) -> list[Memory]:
        """Every active memory the user would call one (facts, preferences, rules, summaries)."""
        return self.engine.list(kinds=list(REMEMBERED_KINDS), statuses=[Status.ACTIVE])

    def count(self) -> int:
        return len(self.remembered())

    def standing(self) -> tuple[list[Memory], list[Memory]]:
        """The rules and the profile, read in one query (they are in every prompt)."""
        standing = self.engine.standing(PROFILE_KEY_PREFIXES + (RELATIVES_PREFIX,))
        # A relative's allergy, condition or diet is in the profile (the user cooks and cares for
        # them); their other facts are found by recall. The store reads by prefix, the schema decides.
        standing = [m for m in standing if not (m.key or "").startswith(RELATIVES_PREFIX) or in_profile(m.key)]
        rules = sorted((m for m in standing if m.kind == Kind.PROCEDURAL), key=lambda m: m.created_at)
        profile = [m for m in standing if m.kind != Kind.PROCEDURAL]
        return rules, sorted(profile, key=lambda m: (not m.pinned, -m.importance, m.created_at))

    def rules(self) -> list[Memory]:
        """Procedural rules: only the user's own requests ever create them."""
        return self.standing()[0]

    def profile(self) -> list[Memory]:
        """What is always in context about the user: preferences, pinned and key facts."""
        return self.standing()[1]

    def sources_of(self, memory: Memory) -> list[Message]:
        return self.engine.sources_of(memory)

    # -- remembering -----------------------------------------------------------------------

    def remember(
        self,
        text: str,
        *,
        source_id: str = "",
        at: datetime | None = None,
        rules_allowed: bool = True,
        via: str = "",
    ) -> Remembered:
        """Keep what the user asked to keep, learned as chat learns it (keys, profile, supersede).

        `rules_allowed=False` is for doors other programs use (MCP): a rule steers every reply,
        so only the user sets one, in the app or the CLI. `via` is added to the audit reasons.
        """
        candidates = remember_candidates(text, now=at or self.clock(), source_id=source_id)
        refused = [] if rules_allowed else [c.text for c in candidates if c.kind is Kind.PROCEDURAL]
        kept = [c for c in candidates if rules_allowed or c.kind is not Kind.PROCEDURAL]
        return self._apply(self.consolidator.apply_all(kept, via=via), refused)

    def _apply(self, applied: list[Applied], refused_rules: Sequence[str] = ()) -> Remembered:
        result = Remembered(refused_rules=list(refused_rules))
        for change in applied:
            if change.memory is None:
                continue
            if change.action == "reinforce":
                result.confirmed.append(change.memory)
            elif change.action == "add":
                result.saved.append(change.memory)
                if change.replaced:
                    result.replaced[change.memory.id] = list(change.replaced)
        return result

    def add_raw(
        self,
        text: str,
        *,
        kind: Kind = Kind.SEMANTIC,
        key: str | None = None,
        importance: float = 0.5,
        pinned: bool = False,
        reason: str = "added by the user",
    ) -> Memory:
        """Store `text` as given (a new value for an active `key` still supersedes the old one)."""
        return self.engine.add(text, kind=kind, key=key, importance=importance, pinned=pinned, reason=reason)

    def add_rule(self, text: str, *, source_id: str = "", reason: str = "rule added by the user") -> Memory:
        return self.engine.add(
            text,
            kind=Kind.PROCEDURAL,
            importance=1.0,
            origin=Origin.EXPLICIT,
            sources=[source_id] if source_id else [],
            reason=reason,
        )

    def remove_rule(self, rule_id: str, *, reason: str = "rule removed by the user") -> Memory:
        """A removed rule leaves the prompt and stays restorable: removing is not forgetting."""
        return self.engine.archive(rule_id, reason=reason)

    def save_rules(self, text: str) -> tuple[int, int]:
        """One rule per line: new lines are added, removed lines archived. Returns (added, removed)."""
        return self._save_lines(text, self.rules(), Kind.PROCEDURAL, "rule")

    def save_profile(self, text: str) -> tuple[int, int]:
        """One entry per line: new lines become preferences, removed lines are archived."""
        return self._save_lines(text, self.profile(), Kind.PREFERENCE, "profile")

    def _save_lines(self, text: str, current: list[Memory], kind: Kind, what: str) -> tuple[int, int]:
        wanted = [line.strip() for line in text.splitlines() if line.strip()]
        current_texts = {memory.text for memory in current}
        removed = [memory for memory in current if memory.text not in wanted]
        added = [line for line in dict.fromkeys(wanted) if line not in current_texts]
        for memory in removed:
            self.engine.archive(memory.id, reason=f"{what} removed in the memory panel")
        for line in added:
            importance = 1.0 if kind == Kind.PROCEDURAL else 0.5
            self.engine.add(
                line,
                kind=kind,
                importance=importance,
                origin=Origin.EXPLICIT,
                reason=f"{what} added in the memory panel",
            )
        return len(added), len(removed)

    def undo_learned(self, memory_ids: Sequence[str]) -> None:
        """Undo "Saved to memory": forget the new memories and bring back what they superseded."""
        self.consolidator.undo(memory_ids)

    # -- changing --------------------------------------------------------------------------

    def edit(
        self,
        memory_id: str,
        *,
        text: str | None = None,
        key: str | None = None,
        kind: Kind | None = None,
        importance: float | None = None,
        reason: str = "edited by the user",
    ) -> Memory:
        return self.engine.update(memory_id, text=text, key=key, kind=kind, importance=importance, reason=reason)

    def set_pinned(self, memory_id: str, pinned: bool, *, reason: str | None = None) -> Memory:
        if pinned:
            return self.engine.pin(memory_id, reason=reason or "pinned by the user")
        return self.engine.unpin(memory_id, reason=reason or "unpinned by the user")

    def set_archived(self, memory_id: str, archived: bool, *, reason: str | None = None) -> Memory:
        if archived:
            return self.engine.archive(memory_id, reason=reason or "archived by the user")
        return self.engine.restore(memory_id, reason=reason or "restored by the user")

    # -- forgetting ------------------------------------------------------------------------

    def forget(
        self,
        memory_ids: Sequence[str],
        *,
        reason: str = "forgotten at the user's request",
        with_sources: bool | None = None,
    ) -> int:
        """Delete memories for good (a message's own episodic memory takes the message with it)."""
        return self.engine.forget(list(memory_ids), reason=reason, with_sources=with_sources)

    def forget_all(self, *, reason: str = "the user deleted everything") -> None:
        self.engine.forget_all(reason=reason)
        if self._on_forget_all is not None:
            self._on_forget_all()

    def forget_matches(self, query: str, *, everything: bool = False) -> ForgetMatches:
        """The memories a "forget …" request names: an id, a keyed statement, or by meaning."""
        query = query.strip()
        if MEMORY_ID.match(query) and (memory := self.engine.get(query)) is not None:
            return ForgetMatches([memory])
        statement = re.sub(r"(?i)^(?:that|about|the fact that)\s+", "", query)
        keyed = self._keyed_matches(statement)
        if keyed:
            return ForgetMatches(keyed, ambiguous=len(keyed) > 1 and not everything)
        scored = self._by_meaning(statement)
        good = [(score, memory) for score, memory in scored if score >= FORGET_MATCH]
        if everything or len(good) <= 1:
            return ForgetMatches([memory for _, memory in good])
        if good[0][0] - good[1][0] >= FORGET_MARGIN:
            return ForgetMatches([good[0][1]])
        return ForgetMatches([memory for _, memory in good], ambiguous=True)

    def _keyed_matches(self, statement: str) -> list[Memory]:
        keyed: dict[str, Memory] = {}
        for candidate in extract_explicit(statement, now=self.clock(), source_id=""):
            if not candidate.key:
                continue
            for memory in self.engine.with_key(candidate.key):
                if not candidate.value or normalize_text(candidate.value) in normalize_text(memory.text):
                    keyed[memory.id] = memory
        return list(keyed.values())

    def _by_meaning(self, statement: str) -> list[tuple[float, Memory]]:
        statuses = (Status.ACTIVE, Status.SUPERSEDED, Status.ARCHIVED)
        filters = RecallFilter(kinds=REMEMBERED_KINDS, statuses=statuses)
        hits = self.engine.search(statement, k=8, filters=filters, reinforce=False)
        if not hits:
            return []
        vectors = self.engine.embedder.embed([statement, *(hit.memory.text for hit in hits)])
        scored = [
            (float(sum(a * b for a, b in zip(vectors[0], vector, strict=True))), hit.memory)
            for hit, vector in zip(hits, vectors[1:], strict=True)
        ]
        return sorted(scored, key=lambda pair: pair[0], reverse=True)

    def forget_with_replies(self, memories: Sequence[Memory], *, reason: str) -> int:
        """Forget memories, the messages they came from and the assistant's answers to those."""
        answers = [episodic_memory_id(reply.id) for reply in self._answers_to(memories)]
        doomed = [m.id for m in memories] + [a for a in answers if self.engine.get(a) is not None]
        return self.engine.forget(doomed, reason=reason, with_sources=True)

    def _answers_to(self, memories: Sequence[Memory]) -> list[Message]:
        """The assistant's replies that directly followed the messages these memories came from."""
        answers: list[Message] = []
        for memory in memories:
            for source in self.engine.sources_of(memory):
                conversation = self.engine.messages(source.conversation_id)
                position = next((i for i, m in enumerate(conversation) if m.id == source.id), None)
                if position is not None and position + 1 < len(conversation):
                    following = conversation[position + 1]
                    if following.role == Role.ASSISTANT:
                        answers.append(following)
        return answers

    # -- moving the space ------------------------------------------------------------------

    def export(self, path: Path) -> dict[str, int]:
        path = path.expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return dict(self.engine.export(path))

    def import_file(self, path: Path, *, progress: ProgressCallback | None = None) -> ImportReport:
        return self.engine.import_file(path, progress=progress)

    def stats(self) -> dict[str, object]:
        return self.engine.stats()

    def conversation_title(self, conversation_id: str) -> str:
        try:
            return self.engine.require_conversation(conversation_id).title
        except StoreError:
            return "a deleted conversation"

    def conversation_count(self) -> int:
        return len(self.engine.conversations())
