"""ModelRunner: one lazily loaded GGUF model, one generation at a time.

It takes turns on the model by turns.py's policy: the user's chat always comes first, and a
background completion (extraction, summaries) gives way at its next token.

Prompts are rendered with the model's own chat template (from the GGUF metadata) and sent
as plain completions, so what we count is exactly what the model sees, and llama.cpp
reuses the evaluated prefix shared with the previous prompt (chat_cache.py keeps the user's
conversation in that cache across background work). Message text can never become one of
the template's control tokens (prompt_format.py).
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from assistant.errors import ContextOverflowError, ModelError
from assistant.llm.architectures import append_only_cache
from assistant.llm.chat_cache import ChatCache
from assistant.llm.cpu_guard import keep_llama_off_crashing_kernels
from assistant.llm.gguf import GGUFInfo, inspect_gguf
from assistant.llm.native_log import route_native_stderr
from assistant.llm.prompt_format import PromptFormat
from assistant.llm.turns import GenerationCancelled as GenerationCancelled
from assistant.llm.turns import TurnTaking

if TYPE_CHECKING:
    from llama_cpp import Llama

Schema = TypeVar("Schema", bound=BaseModel)

# Background generations (extraction, summaries) run on one thread. On a busy 2-core machine
# (load 5-9) each token of a two-thread decode waits at llama.cpp's barriers for a thread the
# CPU is not running: measured with the starter model, 0.25-2.7 s per token with two threads and
# 47 ms with one, and 7-25 s against 3 s for a 200-token prompt. That wait, not the grammar
# (17-34 ms a token), made the extraction take minutes. The user's chat keeps `threads`.
BACKGROUND_THREADS = 1


class GenerationTimedOut(ModelError):
    """A structured generation ran past the time its caller allowed."""


@dataclass
class ChatMessage:
    role: str
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    finished_at: float | None = None
    stopped: bool = False

    def piece(self) -> None:
        """One more piece of the reply has arrived."""
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.completion_tokens += 1

    @property
    def time_to_first_token(self) -> float | None:
        return None if self.first_token_at is None else self.first_token_at - self.started

    @property
    def tokens_per_second(self) -> float:
        if self.first_token_at is None or self.finished_at is None or self.completion_tokens < 2:
            return 0.0
        elapsed = self.finished_at - self.first_token_at
        return (self.completion_tokens - 1) / elapsed if elapsed > 0 else 0.0


class ModelRunner(TurnTaking):
    def __init__(
        self,
        model_path: Path,
        *,
        context_size: int = 4096,
        threads: int = 2,
        seed: int = -1,
    ) -> None:
        super().__init__()
        self.model_path = Path(model_path)
        self.requested_context = context_size
        self.threads = threads
        self.seed = seed
        self._llama: Llama | None = None
        self._info: GGUFInfo | None = None
        self._format: PromptFormat | None = None
        self._load_lock = threading.Lock()
        self.load_seconds: float | None = None
        self._chat_cache = ChatCache()

    # -- loading -----------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self._llama is not None

    @property
    def info(self) -> GGUFInfo:
        if self._info is None:
            self._info = inspect_gguf(self.model_path)
        return self._info

    @property
    def append_only_cache(self) -> bool:
        """A hybrid or recurrent model: its prompt cache is lost on any change before the prompt's end."""
        return append_only_cache(self.info.architecture)

    @property
    def context_size(self) -> int:
        trained = self.info.context_length
        return min(self.requested_context, trained) if trained else self.requested_context

    def load(self) -> Llama:
        """Load the model once; safe to call from any thread."""
        if self._llama is not None:
            return self._llama
        with self._load_lock:
            if self._llama is not None:
                return self._llama
            info = self.info  # validates the file before llama.cpp sees it
            route_native_stderr()
            started = time.perf_counter()
            try:
                from llama_cpp import Llama

                keep_llama_off_crashing_kernels()
                llama = Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.context_size,
                    n_threads=self.threads,
                    n_threads_batch=self.threads,
                    seed=self.seed if self.seed >= 0 else 0xFFFFFFFF,
                    verbose=False,
                )
            except ImportError as error:
                raise ModelError(f"llama-cpp-python is not installed correctly: {error}") from None
            except (ValueError, RuntimeError, OSError) as error:
                raise ModelError(f"cannot load model {self.model_path.name}: {error}") from None
            self._format = PromptFormat.for_model(llama, info.chat_template, self.model_path)
            self.load_seconds = time.perf_counter() - started
            self._llama = llama
            return llama

    def unload(self) -> bool:
        """Give the model's memory back while nothing uses it; the next generation loads it again.

        False (and nothing changes) when a generation holds the model or a chat waits for it.
        """
        if self._llama is None or self._user_waiting.is_set() or not self._model_lock.acquire(blocking=False):
            return False
        try:
            with self._load_lock:
                if self._llama is None:
                    return False
                # Prompts are still counted while the model is out, by its vocabulary alone (a few
                # MB). Counting runs outside the model lock, so the model is not closed here: it is
                # freed when the last count still using it returns and drops its reference.
                self._format = PromptFormat.for_model(self._vocabulary(), self.info.chat_template, self.model_path)
                self._llama = None
                self._chat_cache = ChatCache()  # its saved cells belong to the context being freed
        finally:
            self._release()
        gc.collect()  # llama-cpp-python's objects hold reference cycles: free the weights now
        return True

    def _vocabulary(self) -> Llama:
        from llama_cpp import Llama

        return Llama(model_path=str(self.model_path), vocab_only=True, verbose=False)

    # -- tokens ------------------------------------------------------------------------

    @property
    def prompt_format(self) -> PromptFormat:
        if self._format is None:
            self.load()
        assert self._format is not None
        return self._format

    def tokenize(self, text: str) -> list[int]:
        """Tokens of a rendered prompt (the template's markup parsed as control tokens)."""
        return self.prompt_format.tokenize_prompt(text)

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes as message content."""
        return self.prompt_format.count_text(text)

    def render(self, messages: Sequence[ChatMessage]) -> str:
        """The exact prompt text the model sees for these messages."""
        return self.prompt_format.render(messages)

    def count_chat_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return len(self.tokenize(self.render(messages)))

    def prefill(self, messages: Sequence[ChatMessage]) -> bool:
        """Evaluate the prompt of `messages` into llama.cpp's cache ahead of a chat that starts with them.

        Only into an empty cache (it never displaces a conversation) and only when no chat waits
        for the model. One batch on one thread: it runs beside other work (a store opening), and
        llama.cpp's threads, which wait for each other at every step, crawl when a core is taken
        from them; small preemptible chunks cost several times more here. A prompt opening is
        short (~100 tokens), and a chat that waits for it would have evaluated the same tokens.
        """
        if self._llama is not None and self._llama.n_tokens > 0:
            return False
        prompt = self.render(messages)
        try:
            with self._turn(background=True):
                llama = self.load()
                tokens = self.tokenize(prompt)
                if llama.n_tokens > 0 or not tokens or self._user_waiting.is_set():
                    return False
                with self._threads_for(llama, background=True):
                    llama.eval(tokens)
                return True
        except GenerationCancelled:
            return False

    # -- generation --------------------------------------------------------------------

    @contextmanager
    def _threads_for(self, llama: Llama, background: bool) -> Iterator[None]:
        """Run a background generation on BACKGROUND_THREADS; the user's chat on `threads`."""
        if not background or self.threads <= BACKGROUND_THREADS:
            yield
            return
        with _threads(llama, BACKGROUND_THREADS, self.threads):
            yield

    def _fit(self, prompt: str, max_tokens: int) -> tuple[list[int], int]:
        tokens = self.tokenize(prompt)
        return tokens, self._reply_room(len(tokens), max_tokens)

    def _reply_room(self, prompt_tokens: int, max_tokens: int, *, about: str = "") -> int:
        """How many tokens the reply may take after a prompt this long; refuses a prompt that leaves none."""
        room = self.context_size - prompt_tokens
        if room < 8:
            raise ContextOverflowError(
                f"the prompt is {about}{prompt_tokens} tokens but the model's context holds "
                f"{self.context_size}; shorten it or raise context_size"
            )
        return min(max_tokens, room)

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 512,
        temperature: float = 0.7,
        cancel: threading.Event | None = None,
        stats: GenerationStats | None = None,
        background: bool = False,
    ) -> Iterator[str]:
        """Yield the reply text piece by piece. Set `cancel` to stop after the next piece."""
        stats = stats if stats is not None else GenerationStats()
        prompt = self.render(messages)
        with self._turn(background=background) as preempted:
            tokens, room = self._fit(prompt, max_tokens)
            stats.prompt_tokens = len(tokens)
            stats.started = time.perf_counter()
            llama = self.load()
            with self._threads_for(llama, background):
                if not self._chat_cache.prepare(llama, tokens, background, preempted):
                    raise GenerationCancelled("preempted by the user's chat")
                try:
                    pieces = llama.create_completion(
                        prompt=tokens,
                        max_tokens=room,
                        temperature=temperature,
                        top_p=0.9,
                        # Small models loop on a phrase without a mild penalty.
                        repeat_penalty=1.1,
                        stop=self.prompt_format.stop_strings or None,
                        stream=True,
                        seed=self.seed if self.seed >= 0 else None,
                    )
                    for chunk in pieces:
                        if (cancel is not None and cancel.is_set()) or (background and preempted.is_set()):
                            stats.stopped = True
                            pieces.close()
                            if background:
                                raise GenerationCancelled("preempted by the user's chat")
                            break
                        text = chunk["choices"][0]["text"]
                        if not text:
                            continue
                        stats.piece()
                        yield text
                except ValueError as error:
                    if "exceed context window" in str(error):
                        raise ContextOverflowError(str(error)) from None
                    raise ModelError(f"generation failed: {error}") from None
                finally:
                    stats.finished_at = time.perf_counter()

    def chat(self, messages: Sequence[ChatMessage], **options: Any) -> str:
        return "".join(self.stream_chat(messages, **options))

    def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: type[Schema],
        *,
        max_tokens: int = 384,
        background: bool = True,
        seconds: float | None = None,
    ) -> Schema:
        """A completion constrained by `schema`'s JSON schema, validated into `schema`.

        Raises ModelError when the model's output does not validate, GenerationTimedOut (a
        ModelError) when it is still generating after `seconds`, and GenerationCancelled when
        the user's chat preempted it; never anything else.
        """
        from llama_cpp import LlamaGrammar

        try:
            grammar = LlamaGrammar.from_json_schema(json.dumps(schema.model_json_schema()), verbose=False)
        except Exception as error:  # llama.cpp's grammar converter raises plain Exceptions
            raise ModelError(f"cannot build a grammar for {schema.__name__}: {error}") from None
        prompt = self.render(messages)
        with self._turn(background=background) as preempted:
            tokens, room = self._fit(prompt, max_tokens)
            llama = self.load()
            with self._threads_for(llama, background):
                if not self._chat_cache.prepare(llama, tokens, background, preempted):
                    raise GenerationCancelled("preempted by the user's chat")
                pieces: list[str] = []
                deadline = time.monotonic() + seconds if seconds is not None else None
                try:
                    for chunk in llama.create_completion(
                        prompt=tokens, max_tokens=room, temperature=0.0, grammar=grammar, stream=True
                    ):
                        if background and preempted.is_set():
                            raise GenerationCancelled("preempted by the user's chat")
                        if deadline is not None and time.monotonic() > deadline:
                            # The grammar checks the whole vocabulary at each token (tens of ms):
                            # on a slow machine a long output could take minutes. Stop, never hang.
                            raise GenerationTimedOut(f"structured generation stopped after {seconds:.0f} s")
                        pieces.append(chunk["choices"][0]["text"])
                except ValueError as error:
                    raise ModelError(f"structured generation failed: {error}") from None
        return parse_json_output("".join(pieces), schema)


@contextmanager
def _threads(llama: Llama, now: int, after: int) -> Iterator[None]:
    """llama.cpp's context on `now` threads, then on `after` again (its own threads if this llama-cpp-python cannot)."""
    try:
        import llama_cpp

        context = llama._ctx.ctx
        llama_cpp.llama_set_n_threads(context, now, now)
    except (AttributeError, ImportError, TypeError):
        yield
        return
    try:
        yield
    finally:
        llama_cpp.llama_set_n_threads(context, after, after)


def parse_json_output(text: str, schema: type[Schema]) -> Schema:
    """A model's JSON output validated into `schema`; ModelError, in one line, when it is not."""
    try:
        # Small models put raw newlines inside strings; accept them rather than fail.
        return schema.model_validate(json.loads(text, strict=False))
    except json.JSONDecodeError as error:
        raise ModelError(f"the model's output was not complete JSON ({error.msg})") from None
    except ValidationError as error:
        problem = error.errors()[0]["msg"] if error.errors() else str(error)
        raise ModelError(f"the model's JSON did not match {schema.__name__}: {problem}") from None
