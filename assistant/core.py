"""The Assistant: the headless core that the CLI and the TUI drive.

One turn is: redact secrets, answer memory commands deterministically, or else recall,
assemble the context under the token budget, stream the model's reply and log both
messages. Learning (extraction and consolidation) runs after the reply, in the caller's
background job, so it never delays the answer.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from assistant import chat_commands, locations
from assistant.config import Settings
from assistant.context import (
    ContextInputs,
    ContextTrace,
    ShownBlock,
    TraceMemory,
    TraceSection,
    assemble,
    shown_block,
)
from assistant.errors import AssistantError
from assistant.learning.consolidate import Applied, Consolidator
from assistant.learning.explicit import extract_explicit
from assistant.learning.model_extraction import extract_with_model, model_additions
from assistant.learning.pasted import authored_text
from assistant.llm.catalog import resolve_model
from assistant.llm.runner import GenerationStats, ModelRunner
from assistant.memory.commands import parse_command
from assistant.memory.engine import MemoryEngine
from assistant.memory.language import words
from assistant.memory.recall import RecallFilter
from assistant.memory.redact import notice as redaction_notice
from assistant.memory.redact import redact
from assistant.memory.types import Conversation, Kind, Memory, Message, RecallHit, Role, new_id, utcnow

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Kinds recalled as "relevant facts"; episodic messages go to "past conversations".
FACT_KINDS = (Kind.SEMANTIC, Kind.PREFERENCE, Kind.SUMMARY)
RECALL_KINDS = (Kind.SEMANTIC, Kind.PREFERENCE, Kind.SUMMARY, Kind.EPISODIC)
# Recall always returns its best k; below these cosine similarities to the message a memory is
# noise that costs prompt tokens (and prompt evaluation time) without helping the answer.
# Set on all-MiniLM-L6-v2: "Where do I live?" meets "User lives in Lisbon" at 0.33, "How can I
# train my dog?" meets "User has a dog named Rex" at 0.26, unrelated facts stay below 0.15.
FACT_MIN_SIMILARITY = 0.2
EPISODE_MIN_SIMILARITY = 0.3
# A message that says nothing about the user ("Why does bread go stale?") gets only memories
# clearly about it: a loosely related note ("User works at a bakery", 0.27) costs prompt tokens
# on every such turn, and a small model talks about the note instead of answering. A name the
# memory shares with the message makes it about the user again ("Is Rex too old to swim?").
GENERAL_FACT_MIN_SIMILARITY = 0.35
GENERAL_EPISODE_MIN_SIMILARITY = 0.45
FIRST_PERSON = frozenset("i i'm i've i'd i'll me my mine myself we we're we've our ours us".split())
# Facts so important for the user's safety or identity that they are always in context.
PROFILE_KEY_PREFIXES = ("user.name", "user.preferred_name", "user.allergy", "user.health", "user.diet")
# Reserve a few tokens beyond the reply for the generation prompt and stop token.
TEMPLATE_SLACK = 16


def open_runner(settings: Settings) -> ModelRunner:
    model = resolve_model(settings.model)
    return ModelRunner(model.path, context_size=settings.context_size, threads=settings.threads, seed=settings.seed)


@dataclass
class Turn:
    conversation_id: str | None
    user_text: str  # as stored: secrets redacted
    user_message_id: str | None = None
    assistant_message_id: str | None = None
    reply: str = ""
    trace: ContextTrace = field(default_factory=ContextTrace)
    stats: GenerationStats | None = None
    notices: list[str] = field(default_factory=list)
    is_command: bool = False
    incognito: bool = False
    used_memory: bool = True
    stopped: bool = False
    at: datetime = field(default_factory=utcnow)
    saved_ids: list[str] = field(default_factory=list)  # memories a command saved (for undo)


@dataclass
class LearnReport:
    saved: list[Memory] = field(default_factory=list)
    reinforced: list[Memory] = field(default_factory=list)
    superseded: list[Memory] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.saved or self.reinforced or self.superseded)


@dataclass
class Recalled:
    """What memory offers one turn: the standing rules and profile, and the recall hits."""

    rules: list[Memory]
    profile: list[Memory]
    hits: list[RecallHit]


class Assistant:
    def __init__(
        self,
        settings: Settings,
        *,
        runner: ModelRunner | None = None,
        engine: MemoryEngine | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.user = settings.user
        self.clock = clock
        self._runner = runner
        self._engine = engine
        self._lock = threading.Lock()
        self.last_turn: Turn | None = None
        # Per conversation: where the history window started last turn (keeps the prefix cache).
        self._window_starts: dict[str, str] = {}
        # Per conversation: the memory block each user message was sent with, resent verbatim
        # while it stays in the window (again for the prefix cache). Dropped whenever the
        # engine takes something back, so a forgotten memory is never quoted again.
        self._shown_blocks: dict[str, dict[str, ShownBlock]] = {}
        self._profile_ids: dict[str, frozenset[str]] = {}  # per conversation, for the same reason
        self._shown_revision = 0
        # Recall runs here while the user's message is being stored: both must finish before
        # the model starts, and the store's writes and reads wait on disk more than on the CPU.
        self._recall_worker: ThreadPoolExecutor | None = None

    # -- lazily opened parts ---------------------------------------------------------------

    @property
    def runner(self) -> ModelRunner:
        with self._lock:
            if self._runner is None:
                self._runner = open_runner(self.settings)
            return self._runner

    @property
    def engine(self) -> MemoryEngine:
        with self._lock:
            if self._engine is None:
                self._engine = MemoryEngine.open(self.settings, self.user, now=self.clock)
            return self._engine

    @property
    def consolidator(self) -> Consolidator:
        return Consolidator(self.engine)

    def warm_up(self) -> None:
        """Load the model, the embedder and the store (blocking: call it off the UI thread)."""
        self.runner.load()
        if self.settings.memory_enabled:
            self.engine.embedder.embed(["warm up"])
            self.engine.stats()

    def cancel_background(self) -> None:
        """Stop background model work (extraction, summaries) at its next token."""
        if self._runner is not None:
            self._runner.cancel_background()

    def close(self) -> None:
        if self._recall_worker is not None:
            self._recall_worker.shutdown(wait=True)
            self._recall_worker = None
        if self._engine is not None:
            self._engine.close()

    # -- conversations ---------------------------------------------------------------------

    def list_conversations(self) -> list[Conversation]:
        return self.engine.conversations()

    def new_conversation(self, title: str | None = None) -> Conversation:
        return self.engine.create_conversation(title=title)

    def rename_conversation(self, conversation_id: str, title: str) -> None:
        self.engine.rename_conversation(conversation_id, title)

    def delete_conversation(self, conversation_id: str) -> None:
        self.engine.delete_conversation(conversation_id)
        self._window_starts.pop(conversation_id, None)
        self._shown_blocks.pop(conversation_id, None)
        self._profile_ids.pop(conversation_id, None)

    def conversation_messages(self, conversation_id: str) -> list[Message]:
        return self.engine.messages(conversation_id)

    def latest_conversation_id(self) -> str | None:
        conversations = self.list_conversations()
        return conversations[0].id if conversations else None

    # -- one turn --------------------------------------------------------------------------

    def stream_reply(
        self,
        text: str,
        *,
        conversation_id: str | None = None,
        cancel: threading.Event | None = None,
        use_memory: bool | None = None,
        incognito: bool = False,
    ) -> Iterator[str]:
        """Yield the reply piece by piece; `last_turn` holds the whole turn afterwards."""
        text = text.strip()
        if not text:
            raise AssistantError("the message is empty")
        memory_on = self.settings.memory_enabled if use_memory is None else use_memory
        redaction = redact(text)
        turn = Turn(conversation_id=None, user_text=redaction.text, incognito=incognito, used_memory=memory_on)
        turn.at = self.clock()
        if redaction.found:
            turn.notices.append(redaction_notice(redaction.found))
        self.last_turn = turn

        command = parse_command(text)
        if command is not None:
            turn.is_command = True
            turn.conversation_id = conversation_id
            answer = chat_commands.run(self, command, turn)
            turn.reply = answer.text
            turn.saved_ids = [memory.id for memory in answer.saved]
            yield answer.text
            if answer.log_exchange and not incognito:
                self._log_exchange(turn)
            return

        user_message = Message(self.user, Role.USER, redaction.text, conversation_id or "", created_at=self.clock())
        if memory_on and not incognito:
            self.engine.embed_ahead([redaction.text, self.engine.embedding_text_of(user_message)])
        recalling = self._start_recall(redaction.text) if memory_on else None  # a secret never reaches the model
        if not incognito:
            turn.conversation_id = (
                conversation_id or self.engine.create_conversation(title=_title_from(redaction.text)).id
            )
            user_message = replace(user_message, conversation_id=turn.conversation_id)
            self.engine.add_messages([user_message])
            turn.user_message_id = user_message.id
        messages, trace = self._context_for(turn, redaction.text, recalling() if recalling else None)
        turn.trace = trace
        stats = GenerationStats()
        turn.stats = stats
        pieces: list[str] = []
        try:
            for piece in self.runner.stream_chat(
                messages,
                max_tokens=self.settings.max_reply_tokens,
                temperature=self.settings.temperature,
                cancel=cancel,
                stats=stats,
            ):
                pieces.append(piece)
                yield piece
        finally:
            turn.reply = "".join(pieces).strip()
            turn.stopped = stats.stopped
            if not incognito and turn.conversation_id is not None and turn.reply:
                # The model saw the user's words as typed and may echo a secret: store the reply redacted too.
                reply_message = Message(
                    self.user, Role.ASSISTANT, redact(turn.reply).text, turn.conversation_id, created_at=self.clock()
                )
                self.engine.add_messages([reply_message])
                turn.assistant_message_id = reply_message.id
                self._save_trace(reply_message.id, trace)
            if self._engine is not None:
                self._engine.flush()

    def reply(self, text: str, **options: object) -> Turn:
        """The whole reply at once (scripts and tests)."""
        for _ in self.stream_reply(text, **options):  # type: ignore[arg-type]
            pass
        assert self.last_turn is not None
        return self.last_turn

    def prepare_user_message(self, turn: Turn) -> str:
        """Give the turn's user message its id now, so memories can cite it as their source."""
        if turn.user_message_id is None:
            turn.user_message_id = new_id()
        return turn.user_message_id

    def _log_exchange(self, turn: Turn) -> None:
        """Log a command and its answer as an ordinary exchange of the conversation."""
        if turn.conversation_id is None:
            turn.conversation_id = self.engine.create_conversation(title=_title_from(turn.user_text)).id
        user_id = self.prepare_user_message(turn)
        user_message = Message(
            self.user, Role.USER, turn.user_text, turn.conversation_id, id=user_id, created_at=turn.at
        )
        reply = Message(self.user, Role.ASSISTANT, turn.reply, turn.conversation_id, created_at=self.clock())
        self.engine.add_messages([user_message, reply])
        turn.assistant_message_id = reply.id

    def budget(self) -> int:
        """Prompt tokens for this turn: the context minus the reply reserve (never more than half)."""
        context = self.runner.context_size
        available = context - min(self.settings.max_reply_tokens, context // 2) - TEMPLATE_SLACK
        return min(self.settings.token_budget, available) if self.settings.token_budget else available

    def _start_recall(self, query: str) -> Callable[[], Recalled]:
        """Start reading what memory offers for `query`; the returned call waits for it."""
        if self._recall_worker is None:
            self._recall_worker = ThreadPoolExecutor(max_workers=2, thread_name_prefix="recall")
        standing = self._recall_worker.submit(self.standing_memories)
        hits = self._recall_worker.submit(
            self.engine.search, query, k=self.settings.recall_k * 2, filters=RecallFilter(kinds=RECALL_KINDS)
        )
        return lambda: Recalled(*standing.result(), hits.result())

    def _context_for(self, turn: Turn, query: str, recalled: Recalled | None) -> tuple[list, ContextTrace]:
        """The messages for this turn; `recalled` is None with memory off."""
        history: list[Message] = []
        if turn.conversation_id is not None:
            history = [m for m in self.engine.messages(turn.conversation_id) if m.id != turn.user_message_id]
        conversation = turn.conversation_id or ""
        inputs = ContextInputs(
            user_text=query,
            history=history,
            now=turn.at,
            window_start_id=self._window_starts.get(conversation),
        )
        if recalled is not None:
            if self.engine.revision != self._shown_revision:
                self._shown_blocks.clear()
                self._profile_ids.clear()
                self._shown_revision = self.engine.revision
            inputs.shown_blocks = self._shown_blocks.get(conversation, {})
            inputs.frozen_profile_ids = self._profile_ids.get(conversation)
            inputs.cap_history = True
            inputs.rules, inputs.profile = recalled.rules, recalled.profile
            in_profile = {m.id for m in inputs.profile}
            hits = recalled.hits
            personal = about_the_user(query)
            inputs.facts = [
                h
                for h in hits
                if h.memory.kind in FACT_KINDS
                and h.memory.id not in in_profile
                and h.similarity >= min_similarity(h, query, personal)
            ][: self.settings.recall_k]
            # Excerpts of this conversation still in the window are skipped by assemble(), and
            # this very message (stored while recall ran, so it may or may not be among the hits) here.
            inputs.episodes = [
                h
                for h in hits
                if h.memory.kind == Kind.EPISODIC
                and turn.user_message_id not in h.memory.sources
                and h.similarity >= min_similarity(h, query, personal)
            ][: max(2, self.settings.recall_k // 2)]
        messages, trace = assemble(
            inputs,
            budget=self.budget(),
            count_tokens=self.runner.count_tokens,
            count_chat_tokens=self.runner.count_chat_tokens,
        )
        if turn.conversation_id and trace.window_start_id:
            self._window_starts[turn.conversation_id] = trace.window_start_id
        block = shown_block(trace)
        if block is not None and turn.conversation_id and turn.user_message_id:
            self._shown_blocks.setdefault(turn.conversation_id, {})[turn.user_message_id] = block
        if recalled is not None and turn.conversation_id:
            self._profile_ids[turn.conversation_id] = frozenset(trace.profile_ids)
        return messages, trace

    # -- what is always in context ---------------------------------------------------------

    def rules(self) -> list[Memory]:
        """Procedural rules: only the user's own `/rule add` commands ever create them."""
        return self.standing_memories()[0]

    def profile_memories(self) -> list[Memory]:
        return self.standing_memories()[1]

    def standing_memories(self) -> tuple[list[Memory], list[Memory]]:
        """The rules and the profile, read in one query (they are in every prompt)."""
        standing = self.engine.standing(PROFILE_KEY_PREFIXES)
        rules = sorted((m for m in standing if m.kind == Kind.PROCEDURAL), key=lambda m: m.created_at)
        profile = [m for m in standing if m.kind != Kind.PROCEDURAL]
        return rules, sorted(profile, key=lambda m: (not m.pinned, -m.importance, m.created_at))

    # -- learning after a reply ------------------------------------------------------------

    def learn(
        self,
        turn: Turn,
        *,
        use_model: bool | None = None,
        on_stated: Callable[[LearnReport], None] | None = None,
    ) -> LearnReport:
        """Extract memories from the user's side of `turn` and consolidate them, then tidy the store.

        What the user stated outright (the deterministic rules) is saved first, so it is in
        memory at once and stays saved when the model's extraction is cancelled. The model's
        extraction runs next when `use_model`, and may raise GenerationCancelled when the user's
        chat needs the model; the caller retries, and what was already saved from this message
        is not counted again. With a model pass, `on_stated` receives the rules' part of the
        report (possibly empty) as soon as it is saved, and the returned report holds the
        model's part.
        Callers run this after every stored exchange, off the reply path (memory on or off).
        """
        report = self._extract(turn, use_model, on_stated)
        if not turn.incognito:
            self.engine.tidy()
        return report

    def _extract(
        self, turn: Turn, use_model: bool | None, on_stated: Callable[[LearnReport], None] | None
    ) -> LearnReport:
        report = LearnReport()
        if turn.incognito or turn.is_command or not turn.used_memory or turn.user_message_id is None:
            return report
        own_text = authored_text(turn.user_text)  # pasted files and quotes are data, not facts about the user
        if not own_text.strip():
            return report
        explicit = extract_explicit(own_text, now=turn.at, source_id=turn.user_message_id)  # deduplicated
        for applied in self.consolidator.apply_all(explicit):
            _record(report, applied)
        self.engine.flush()
        if use_model is None:
            use_model = self.settings.model_extraction and worth_asking_the_model(own_text)
        if not use_model:
            return report
        if on_stated is not None:
            on_stated(report)  # even when empty: the caller learns the rules' part is done
            report = LearnReport()
        result = extract_with_model(self.runner, own_text, turn.reply, source_id=turn.user_message_id, now=turn.at)
        if result.error:
            # The raw message stays in the episodic log; nothing is lost, only not distilled.
            log.warning("model extraction failed for message %s: %s", turn.user_message_id, result.error)
            report.error = result.error
        for applied in self.consolidator.apply_all(model_additions(explicit, result.candidates)):
            _record(report, applied)
        self.engine.flush()
        return report

    def undo_learned(self, memory_ids: list[str]) -> None:
        """Undo "Saved to memory": forget the new memories and bring back what they superseded."""
        self.consolidator.undo(memory_ids)

    # -- context inspector ----------------------------------------------------------------

    def _trace_dir(self) -> Path:
        return locations.ensure_private_dir(locations.data_dir() / "traces" / _safe_name(self.user))

    def _save_trace(self, assistant_message_id: str, trace: ContextTrace) -> None:
        """Persist ids, scores and token counts only: no text, so forgetting stays complete."""
        record = trace.as_dict()
        for section in record["sections"]:
            section["text"] = ""
        for memory in record["memories"]:
            memory["text"] = ""
        record["memory_block"] = ""
        path = self._trace_dir() / f"{_safe_name(assistant_message_id)}.json"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(record, handle)

    def trace_for(self, assistant_message_id: str) -> ContextTrace | None:
        """What the model was given for a reply: exact for the latest turn, rebuilt from ids before."""
        turn = self.last_turn
        if turn is not None and turn.assistant_message_id == assistant_message_id:
            return turn.trace
        path = self._trace_dir() / f"{_safe_name(assistant_message_id)}.json"
        if not path.exists():
            return None
        trace = ContextTrace.from_dict(json.loads(path.read_text(encoding="utf-8")))
        for item in trace.memories:
            memory = self.engine.get(item.id)
            item.text = memory.text if memory else "(forgotten)"
        by_section: dict[str, list[TraceMemory]] = {}
        for item in trace.memories:
            by_section.setdefault(item.section, []).append(item)
        for section in trace.sections:
            if section.name in by_section:
                section.text = "\n".join(f"- {m.text}" for m in by_section[section.name])
        return trace


def about_the_user(text: str) -> bool:
    """Does the message speak of its writer ("my dog", "I want")?"""
    return any(word in FIRST_PERSON for word in words(text))


def shares_a_name(memory_text: str, text: str) -> bool:
    """A capitalised word of the memory (past its first word: "Rex", "Lisbon") is in the text."""
    names = {word.casefold() for word in re.findall(r"(?<=\s)[A-Z][\w'-]+", memory_text)}
    return bool(names.intersection(words(text)))


def min_similarity(hit: RecallHit, query: str, personal: bool) -> float:
    """How close a recalled memory must be to the message to be worth its prompt tokens."""
    episode = hit.memory.kind == Kind.EPISODIC
    if personal or shares_a_name(hit.memory.text, query):
        return EPISODE_MIN_SIMILARITY if episode else FACT_MIN_SIMILARITY
    return GENERAL_EPISODE_MIN_SIMILARITY if episode else GENERAL_FACT_MIN_SIMILARITY


def worth_asking_the_model(user_text: str) -> bool:
    """Questions and one-word replies rarely state anything about the user: skip the model."""
    words = user_text.split()
    return len(words) >= 4 and not user_text.rstrip().endswith("?")


def _record(report: LearnReport, applied: Applied) -> None:
    if applied.action == "add":
        report.saved.append(applied.memory)
        if applied.replaced:
            report.superseded.extend(applied.replaced)
    elif applied.action == "reinforce":
        report.reinforced.append(applied.memory)
    if applied.notice:
        report.notices.append(applied.notice)


def _title_from(text: str) -> str:
    words = " ".join(text.split())
    return words[:48] + ("…" if len(words) > 48 else "") or "New conversation"


def _safe_name(value: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in value)[:120] or "_"


__all__ = ["Assistant", "LearnReport", "RecallHit", "TraceSection", "Turn", "open_runner"]
