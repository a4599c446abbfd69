"""RemoteRunner: the chat model served by an OpenAI-compatible engine the user runs.

For users whose good model lives on a bigger machine (Ollama, llama.cpp's server, LM Studio,
vLLM on their own network): `--model http://HOST:PORT/v1#MODEL`. Only the model is remote;
memory, recall and learning stay on this computer, and the only connections made are to
that endpoint (the offline proof in the test suite checks it).

It keeps the local runner's contract, so nothing above it knows the difference: the user's
chat preempts background completions (the same lock), Esc closes the stream, JSON output is
constrained by schema where the server can, and tokens are counted by the server's own
tokenizer where it has an endpoint for it, else estimated from the characters, calibrated
by the prompt sizes the server reports.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from assistant.errors import ModelError
from assistant.llm.gguf import GGUFInfo
from assistant.llm.openai_api import (
    Endpoint,
    delta_text,
    http_error,
    is_endpoint,
    json_body,
    message_text,
    server_events,
)
from assistant.llm.prompt_format import ControlTokens
from assistant.llm.runner import (
    ChatMessage,
    GenerationCancelled,
    GenerationStats,
    GenerationTimedOut,
    ModelRunner,
    Schema,
    parse_json_output,
)

CONNECT_TIMEOUT = 10.0
# A big model on a busy machine may think for a while before its first token.
READ_TIMEOUT = 300.0
# Characters per token before the server has told us better: low, so the budget errs short.
FIRST_CHARS_PER_TOKEN = 3.0
# The role markup a chat template adds around each message, in tokens (an estimate).
PER_MESSAGE_TOKENS = 6


# The server's vocabulary is not known here, so text is defused against the markup of every
# common template family (`<|…|>` markup always is): a message or memory holding it must not
# become a control token when the server renders its template.
KNOWN_MARKUP = ControlTokens(
    (
        "<start_of_turn>",
        "<end_of_turn>",
        "[INST]",
        "[/INST]",
        "<s>",
        "</s>",
        "<bos>",
        "<eos>",
        "[SYSTEM_PROMPT]",
        "[/SYSTEM_PROMPT]",
        "[AVAILABLE_TOOLS]",
        "<think>",
        "</think>",
    )
)


class RemoteRunner(ModelRunner):
    """A ModelRunner whose model answers over HTTP; the lock and its user-first policy are inherited."""

    def __init__(self, endpoint: Endpoint, *, context_size: int = 4096, seed: int = -1) -> None:
        super().__init__(Path(endpoint.label), context_size=context_size, seed=seed)
        self.endpoint = endpoint
        self._model_name: str | None = endpoint.model
        self._server_context: int | None = None
        self._tokenizer: str | None = None  # which tokenize endpoint answered, "" for none
        self._chars_per_token = FIRST_CHARS_PER_TOKEN
        self._schema_format: str | None = None  # "json_schema" or "json_object", once one worked
        self._connected = threading.Lock()

    # -- connecting --------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return self.load_seconds is not None  # set once the server has answered

    @property
    def info(self) -> GGUFInfo:
        self.load()
        return GGUFInfo(
            path=self.model_path,
            version=0,
            tensor_count=0,
            architecture="remote",
            name=self._model_name or "",
            context_length=self._server_context,
            chat_template=None,
            file_size=0,
        )

    @property
    def context_size(self) -> int:
        self.load()
        served = self._server_context
        return min(self.requested_context, served) if served else self.requested_context

    def load(self) -> Any:
        """Reach the server once: which model to ask for, and how big its context is."""
        if self.load_seconds is not None:
            return self
        with self._connected:
            if self.load_seconds is not None:
                return self
            started = time.perf_counter()
            served = [item.get("id") for item in self._get("/models").get("data", []) if isinstance(item, dict)]
            if self._model_name is None:
                if not served:
                    raise ModelError(f"the model server at {self.endpoint.base} lists no model")
                self._model_name = str(served[0])
            self._server_context = self._probe_context()
            self.load_seconds = time.perf_counter() - started
        return self

    def unload(self) -> bool:
        return False  # the model lives in the server's memory, not ours

    def _probe_context(self) -> int | None:
        # llama.cpp's server reports its context in /props; others don't say (the setting rules).
        try:
            props = self._get("/props", root=True)
        except ModelError:
            return None
        settings = props.get("default_generation_settings", {}) if isinstance(props, dict) else {}
        n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
        return int(n_ctx) if isinstance(n_ctx, int) and n_ctx > 0 else None

    # -- HTTP --------------------------------------------------------------------------

    def _url(self, path: str, root: bool = False) -> str:
        return (self.endpoint.root if root else self.endpoint.base) + path

    def _open(
        self, path: str, body: dict[str, Any] | None, *, root: bool = False, timeout: float = READ_TIMEOUT
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self._url(path, root),
            data=data,
            headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
            method="GET" if body is None else "POST",
        )
        try:
            return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - the user's own endpoint
        except urllib.error.HTTPError as error:
            raise http_error(error, self.endpoint) from None
        except TimeoutError:
            raise  # the caller says what waiting too long means
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            if isinstance(getattr(error, "reason", None), TimeoutError):
                raise TimeoutError(str(error)) from None
            reason = getattr(error, "reason", error)
            raise ModelError(f"cannot reach the model server at {self.endpoint.base}: {reason}") from None

    def _get(self, path: str, *, root: bool = False) -> Any:
        with self._open(path, None, root=root, timeout=CONNECT_TIMEOUT) as response:
            return json_body(response, self.endpoint)

    def _post(self, path: str, body: dict[str, Any], *, root: bool = False, timeout: float | None = None) -> Any:
        try:
            with self._open(path, body, root=root, timeout=timeout or READ_TIMEOUT) as response:
                return json_body(response, self.endpoint)
        except TimeoutError:
            raise GenerationTimedOut(f"the model server took longer than {timeout or READ_TIMEOUT:.0f} s") from None

    # -- tokens ------------------------------------------------------------------------

    def tokenize(self, text: str) -> list[int]:
        raise ModelError("a remote model's token ids are not available here; count tokens instead")

    def count_tokens(self, text: str) -> int:
        return _cached_count(self, text)

    def _count_uncached(self, text: str) -> int:
        self.load()
        if self._tokenizer is None:
            self._tokenizer = self._find_tokenizer()
        if self._tokenizer == "llama-cpp-python":
            return int(
                self._post("/extras/tokenize/count", {"input": text, "model": self._model_name}, root=True)["count"]
            )
        if self._tokenizer == "llama.cpp":
            return len(self._post("/tokenize", {"content": text}, root=True)["tokens"])
        return math.ceil(len(text) / self._chars_per_token)

    def _find_tokenizer(self) -> str:
        probes = (
            ("llama-cpp-python", "/extras/tokenize/count", {"input": "a", "model": self._model_name}),
            ("llama.cpp", "/tokenize", {"content": "a"}),
        )
        for name, path, body in probes:
            try:
                self._post(path, body, root=True)
                return name
            except ModelError:
                continue
        return ""

    def render(self, messages: Sequence[ChatMessage]) -> str:
        """What is sent, as readable text (the server applies the model's own template)."""
        return "\n\n".join(f"[{message.role}]\n{message.content}" for message in messages)

    def count_chat_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return sum(self.count_tokens(message.content) + PER_MESSAGE_TOKENS for message in messages)

    def _calibrate(self, messages: Sequence[ChatMessage], usage: Any) -> None:
        prompt_tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        chars = sum(len(message.content) for message in messages)
        if self._tokenizer == "" and isinstance(prompt_tokens, int) and prompt_tokens > 0 and chars > 200:
            measured = chars / prompt_tokens
            self._chars_per_token = max(1.5, min(6.0, 0.7 * self._chars_per_token + 0.3 * measured))
            _cached_count.cache_clear()

    # -- generation --------------------------------------------------------------------

    def _request(self, messages: Sequence[ChatMessage], max_tokens: int, **extra: Any) -> tuple[dict[str, Any], int]:
        """The request body, and the prompt's size in tokens (estimated where the server can't count)."""
        prompt_tokens = self.count_chat_tokens(messages)
        body: dict[str, Any] = {
            "model": self._model_name,
            "messages": [{"role": m.role, "content": KNOWN_MARKUP.defuse(m.content)} for m in messages],
            "max_tokens": self._reply_room(prompt_tokens, max_tokens, about="about "),
            **extra,
        }
        if self.seed >= 0:
            body["seed"] = self.seed
        return body, prompt_tokens

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
        stats = stats if stats is not None else GenerationStats()
        self.load()
        with self._turn(background=background) as preempted:
            body, stats.prompt_tokens = self._request(
                messages, max_tokens, temperature=temperature, top_p=0.9, stream=True
            )
            stats.started = time.perf_counter()
            response = self._open("/chat/completions", body)
            try:
                for event in server_events(response, self.endpoint):
                    if (cancel is not None and cancel.is_set()) or (background and preempted.is_set()):
                        stats.stopped = True
                        if background:
                            raise GenerationCancelled("preempted by the user's chat")
                        break
                    if event.get("usage"):
                        self._calibrate(messages, event["usage"])
                    text = delta_text(event)
                    if not text:
                        continue
                    stats.piece()
                    yield text
            finally:
                response.close()  # on Esc this is what stops the server generating
                stats.finished_at = time.perf_counter()

    def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: type[Schema],
        *,
        max_tokens: int = 384,
        background: bool = True,
        seconds: float | None = None,
    ) -> Schema:
        self.load()
        json_schema = schema.model_json_schema()
        formats = {
            "json_schema": {"type": "json_schema", "json_schema": {"name": schema.__name__, "schema": json_schema}},
            "json_object": {"type": "json_object", "schema": json_schema},
        }
        order = [self._schema_format] if self._schema_format else list(formats)
        with self._turn(background=background) as preempted:
            for index, name in enumerate(order):
                body, _ = self._request(messages, max_tokens, temperature=0.0, response_format=formats[name])
                try:
                    answer = self._post("/chat/completions", body, timeout=seconds)
                except GenerationTimedOut:
                    raise
                except ModelError as error:
                    if index + 1 < len(order) and "answered HTTP" in str(error):
                        # It refused this form of schema (llama-cpp-python takes only json_object
                        # with a schema, and says so with a 500); try the next form.
                        continue
                    raise
                self._schema_format = name
                break
            if background and preempted.is_set():
                raise GenerationCancelled("preempted by the user's chat")
        self._calibrate(messages, answer.get("usage"))
        return parse_json_output(message_text(answer), schema)


@lru_cache(maxsize=4096)
def _cached_count(runner: RemoteRunner, text: str) -> int:
    # The context assembler counts the same memory lines turn after turn: ask the server once.
    return runner._count_uncached(text)


__all__ = ["Endpoint", "RemoteRunner", "is_endpoint"]
