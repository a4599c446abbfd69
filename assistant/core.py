"""The Assistant facade: the headless core that the CLI and the TUI drive."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from assistant.config import Settings
from assistant.llm.catalog import resolve_model
from assistant.llm.runner import ChatMessage, GenerationStats, ModelRunner

BASE_SYSTEM_PROMPT = (
    "You are a helpful, private assistant running on the user's own computer. "
    "Answer clearly and concisely."
)


def open_runner(settings: Settings) -> ModelRunner:
    model = resolve_model(settings.model)
    return ModelRunner(
        model.path, context_size=settings.context_size, threads=settings.threads, seed=settings.seed
    )


class Assistant:
    def __init__(self, settings: Settings, *, runner: ModelRunner | None = None) -> None:
        self.settings = settings
        self._runner = runner
        self._runner_lock = threading.Lock()
        self.last_stats: GenerationStats | None = None

    @property
    def runner(self) -> ModelRunner:
        with self._runner_lock:
            if self._runner is None:
                self._runner = open_runner(self.settings)
            return self._runner

    def stream_reply(self, text: str, *, cancel: threading.Event | None = None) -> Iterator[str]:
        messages = [ChatMessage("system", BASE_SYSTEM_PROMPT), ChatMessage("user", text)]
        stats = GenerationStats()
        self.last_stats = stats
        yield from self.runner.stream_chat(
            messages,
            max_tokens=self.settings.max_reply_tokens,
            temperature=self.settings.temperature,
            cancel=cancel,
            stats=stats,
        )
