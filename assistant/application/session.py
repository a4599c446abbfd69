"""The chat session: the headless core that the CLI and the TUI drive.

One turn is: redact secrets, answer memory commands deterministically (through the memory
service), or else recall, assemble the context under the token budget, stream the model's
reply and log both messages. Learning runs after the reply, in the caller's background job
(the scheduler), so it never delays the answer.

Nothing the user can see depends on this process: what each message was sent with lives on
disk (`prompt_state`), so the CLI and the TUI build the same prompt for a conversation, and a
memory forgotten anywhere drops out of every next prompt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

from assistant.application.chat_commands import handlers as chat_commands
from assistant.application.chat_commands.grammar import parse_command
from assistant.application.context import ContextInputs, ContextTrace, assemble, shown_block
from assistant.application.learning_pass import learn_from_turn
from assistant.application.memory_service import MemoryService
from assistant.application.prompt_state import BLOCK_SECTIONS, PromptState, PromptStates, shown_blocks
from assistant.application.recall_policy import RECALL_KINDS, worth_quoting
from assistant.application.traces import TraceStore
from assistant.application.turn import LearnReport, Turn
from assistant.application.warm_up import warm_up
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.llm.opening import open_runner
from assistant.llm.runner import ChatMessage, GenerationStats, ModelRunner
from assistant.memory.embed import Embedder, open_embedder
from assistant.memory.engine import MemoryEngine
from assistant.memory.recall import RecallFilter
from assistant.memory.redact import notice as redaction_notice
from assistant.memory.redact import redact
from assistant.memory.types import Conversation, Memory, Message, RecallHit, Role, utcnow

Clock = Callable[[], datetime]
TEXT_ONLY_NOTE = "recall by full text, profile and rules only: the embedder was still loading"
# Reserve a few tokens beyond the reply for the generation prompt and stop token.
TEMPLATE_SLACK = 16


@dataclass
class Recalled:
    """What memory offers one turn: the standing rules and profile, and the recall hits."""

    rules: list[Memory]
    profile: list[Memory]
    hits: list[RecallHit]
    text_only: bool = False  # found by full text alone (no vectors yet): see recall_policy


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
        self._embedder: Embedder | None = None  # made before the engine when a warm-up loads it behind
        self._memories: MemoryService | None = None
        self._lock = threading.Lock()
        self._runner_lock = threading.Lock()
        self.last_turn: Turn | None = None
        self.prompt_states = PromptStates(self.user)
        self.traces = TraceStore(self.user)
        # Recall runs here while the user's message is being stored: both must finish before
        # the model starts, and the store's writes and reads wait on disk more than on the CPU.
        self._recall_worker: ThreadPoolExecutor | None = None

    # -- lazily opened parts ---------------------------------------------------------------

    @property
    def runner(self) -> ModelRunner:
        with self._runner_lock:  # not the engine's: the model loads while the store opens
            if self._runner is None:
                self._runner = open_runner(self.settings)
            return self._runner

    @property
    def engine(self) -> MemoryEngine:
        with self._lock:
            if self._engine is None:
                self._engine = MemoryEngine.open(self.settings, self.user, now=self.clock, embedder=self._embedder)
            return self._engine

    @property
    def memories(self) -> MemoryService:
        """Every memory use case (remember, forget, rules, profile, …), as every front end sees them."""
        engine = self.engine
        with self._lock:
            if self._memories is None:
                self._memories = MemoryService(engine, clock=self.clock, on_forget_all=self._forget_prompt_state)
            return self._memories

    def _forget_prompt_state(self) -> None:
        self.prompt_states.drop_all()
        self.traces.drop_all()

    def warm_up(self, before_embedder: Callable[[], None] | None = None) -> None:
        """Load the model, the store and the embedder (blocking: call it off the UI thread; see warm_up.py)."""
        warm_up(self, before_embedder)

    def expect_warm_up(self) -> Embedder:
        """Say a `warm_up` is coming, before any chat starts: the embedder will load behind (embed.py)."""
        embedder = self._embedder  # without the lock: a chat may hold it for seconds, opening the store
        if embedder is None:
            with self._lock:  # the engine's, or the one it will open with (made now, without the store)
                engine = self._engine
                embedder = self._embedder = engine.embedder if engine else open_embedder(self.settings.embedder)
        promise = getattr(embedder, "will_load_behind", None)
        if promise is not None and self.settings.memory_enabled:
            promise()
        return embedder

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
        self.prompt_states.drop(conversation_id)

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
            answer = chat_commands.run(self.memories, command, turn)
            turn.reply = answer.text
            turn.saved_ids = [memory.id for memory in answer.saved]
            yield answer.text
            if answer.log_exchange and not incognito:
                self._log_exchange(turn)
            return

        user_message = Message(self.user, Role.USER, redaction.text, conversation_id or "", created_at=self.clock())
        # While the embedder loads behind, recall goes by full text and the message waits for its vector.
        text_only = memory_on and not self.engine.vectors_ready
        if memory_on and not incognito and not text_only:
            self.engine.embed_ahead([redaction.text, self.engine.embedding_text_of(user_message)])
        recalling = self._start_recall(redaction.text, text_only) if memory_on else None  # never a secret
        if not incognito:
            turn.conversation_id = (
                conversation_id or self.engine.create_conversation(title=_title_from(redaction.text)).id
            )
            user_message = replace(user_message, conversation_id=turn.conversation_id)
            self.engine.add_messages([user_message])
            turn.user_message_id = user_message.id
        messages, trace = self._context_for(turn, redaction.text, recalling() if recalling else None)
        trace.notes += [TEXT_ONLY_NOTE] if text_only else []
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
                # The model may echo a secret: the message log redacts it where messages are written.
                reply_message = Message(
                    self.user, Role.ASSISTANT, turn.reply, turn.conversation_id, created_at=self.clock()
                )
                self.engine.add_messages([reply_message])
                turn.assistant_message_id = reply_message.id
                self.traces.save(reply_message.id, trace)
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
        return turn.ensure_user_message_id()

    def _log_exchange(self, turn: Turn) -> None:
        """Log a command and its answer as an ordinary exchange of the conversation."""
        if turn.conversation_id is None:
            turn.conversation_id = self.engine.create_conversation(title=_title_from(turn.user_text)).id
        user_id = turn.ensure_user_message_id()
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

    def _start_recall(self, query: str, text_only: bool = False) -> Callable[[], Recalled]:
        """Start reading what memory offers for `query`; the returned call waits for it."""
        if self._recall_worker is None:
            self._recall_worker = ThreadPoolExecutor(max_workers=2, thread_name_prefix="recall")
        standing = self._recall_worker.submit(self.memories.standing)
        # Not reinforced here: only what the prompt ends up quoting counts as used (see _context_for).
        hits = self._recall_worker.submit(
            self.engine.search,
            query,
            k=self.settings.recall_k * 2,
            filters=RecallFilter(kinds=RECALL_KINDS),
            reinforce=False,
            text_only=text_only,
        )
        return lambda: Recalled(*standing.result(), hits.result(), text_only=text_only)

    def _context_for(self, turn: Turn, query: str, recalled: Recalled | None) -> tuple[list[ChatMessage], ContextTrace]:
        """The messages for this turn; `recalled` is None with memory off."""
        history: list[Message] = []
        conversation = turn.conversation_id
        if conversation is not None:
            history = [m for m in self.engine.messages(conversation) if m.id != turn.user_message_id]
        state = self.prompt_states.load(conversation) if conversation else PromptState()
        inputs = ContextInputs(user_text=query, history=history, now=turn.at, window_start_id=state.window_start_id)
        if recalled is not None:
            current = {memory.id: memory for memory in self.memories.by_ids(sorted(state.memory_ids()))}
            inputs.shown_blocks = shown_blocks(state, current)
            inputs.frozen_profile_ids = frozenset(state.profile_ids) if state.profile_ids is not None else None
            inputs.cap_history = True
            inputs.rules, inputs.profile = recalled.rules, recalled.profile
            inputs.facts, inputs.episodes = worth_quoting(
                recalled.hits,
                query,
                recall_k=self.settings.recall_k,
                in_profile={m.id for m in inputs.profile},
                user_message_id=turn.user_message_id,
                text_only=recalled.text_only,
            )
        messages, trace = assemble(
            inputs,
            budget=self.budget(),
            count_tokens=self.runner.count_tokens,
            count_chat_tokens=self.runner.count_chat_tokens,
        )
        if recalled is not None:
            # Decay counts use: a memory is used when the prompt quotes it, not when recall merely found it.
            used = [m.id for m in trace.memories if m.section in BLOCK_SECTIONS]
            if used:
                self.engine.mark_used(used)
        if conversation is not None:
            self.prompt_states.record(
                conversation,
                window_start_id=trace.window_start_id or state.window_start_id,
                profile_ids=list(trace.profile_ids) if recalled is not None else None,
                message_id=turn.user_message_id,
                block=shown_block(trace),
                at=turn.at,
                keep=_window_ids(history, trace.window_start_id),
            )
        return messages, trace

    # -- what is always in context ---------------------------------------------------------

    def rules(self) -> list[Memory]:
        return self.memories.rules()

    def profile_memories(self) -> list[Memory]:
        return self.memories.profile()

    def standing_memories(self) -> tuple[list[Memory], list[Memory]]:
        return self.memories.standing()

    # -- learning after a reply ------------------------------------------------------------

    def learn(
        self,
        turn: Turn,
        *,
        use_model: bool | None = None,
        on_stated: Callable[[LearnReport], None] | None = None,
    ) -> LearnReport:
        """Learn from the user's side of `turn` (see learning_pass), then tidy the store."""
        report = learn_from_turn(
            turn,
            engine=self.engine,
            runner=lambda: self.runner,
            settings=self.settings,
            use_model=use_model,
            on_stated=on_stated,
        )
        if not turn.incognito:
            self.engine.tidy()
        return report

    def undo_learned(self, memory_ids: list[str]) -> None:
        """Undo "Saved to memory": forget the new memories and bring back what they superseded."""
        self.memories.undo_learned(memory_ids)

    # -- context inspector ----------------------------------------------------------------

    def trace_for(self, assistant_message_id: str) -> ContextTrace | None:
        """What the model was given for a reply: exact for the latest turn, rebuilt from ids before."""
        turn = self.last_turn
        if turn is not None and turn.assistant_message_id == assistant_message_id:
            return turn.trace
        return self.traces.load(assistant_message_id, self.engine.get)


def _window_ids(history: list[Message], window_start_id: str | None) -> set[str] | None:
    """Ids of the history messages from the window's start on (their blocks may be resent)."""
    if window_start_id is None:
        return None
    ids = [m.id for m in history]
    if window_start_id not in ids:
        return None
    return set(ids[ids.index(window_start_id) :])


def _title_from(text: str) -> str:
    words = " ".join(text.split())
    return words[:48] + ("…" if len(words) > 48 else "") or "New conversation"


__all__ = ["Assistant", "LearnReport", "RecallHit", "Turn", "open_runner"]
