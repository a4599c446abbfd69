"""Warming an assistant up: the model, the store and the embedder, in the order a first chat needs them.

A first chat needs the model and the store; it can do without the embedder (importing
sentence-transformers takes seconds: torch, transformers). So the embedder promises itself
first (see memory/embed.py `will_load_behind`) and loads last: a chat meanwhile recalls by
full text, profile and rules and stores its messages without vectors, and once it has loaded
those vectors are filled in. The store opens beside the model: importing lancedb is Python
work, loading the model is native and leaves the interpreter free. Once the model is loaded,
and while the store may still be opening, the start of the first prompt (the system message
as far as it is known without memory) is evaluated into the model's cache: a first chat then
evaluates only the rest of its prompt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from assistant.application.context import opening_messages
from assistant.config import Settings
from assistant.llm.runner import ModelRunner
from assistant.memory.embed import Embedder
from assistant.memory.engine import MemoryEngine


class Assistant(Protocol):
    """What a warm-up needs of application.session.Assistant (named here: session imports this module)."""

    settings: Settings
    clock: Callable[[], datetime]

    @property
    def runner(self) -> ModelRunner: ...

    @property
    def engine(self) -> MemoryEngine: ...

    def expect_warm_up(self) -> Embedder: ...


log = logging.getLogger(__name__)


def warm_up(assistant: Assistant, before_embedder: Callable[[], None] | None = None) -> None:
    """Blocking: call it off the UI thread (the service calls it from its warm-up thread).

    `before_embedder` is called between the model and the embedder: importing torch holds the
    interpreter for seconds, so the service waits there until no request is being answered.
    """
    if not assistant.settings.memory_enabled:
        assistant.runner.load()
        _prefill_opening(assistant)
        return
    embedder = assistant.expect_warm_up()
    failed: list[BaseException] = []

    def open_store() -> None:
        try:
            assistant.engine.stats()
        except BaseException as error:  # raised below, on the caller's thread
            failed.append(error)

    started = time.perf_counter()
    store = threading.Thread(target=open_store, name="warm-up-store", daemon=True)
    store.start()
    try:
        assistant.runner.load()
        log.info("warm-up: model loaded after %.2f s", time.perf_counter() - started)
        _prefill_opening(assistant)
        log.info("warm-up: the prompt's opening evaluated after %.2f s", time.perf_counter() - started)
    finally:
        store.join()
        log.info("warm-up: store open after %.2f s", time.perf_counter() - started)
        if before_embedder is not None:
            before_embedder()
        load = getattr(embedder, "load", None)
        if load is not None:
            load()
        else:
            embedder.embed(["warm up"])
        log.info("warm-up: embedder loaded after %.2f s", time.perf_counter() - started)
    if failed:
        raise failed[0]
    filled = assistant.engine.fill_missing_vectors()
    if filled:
        log.info("warm-up: embedded %d memories stored while the embedder loaded", filled)


def _prefill_opening(assistant: Assistant) -> None:
    """The system message every first prompt starts with, into the model's cache (a chat preempts it)."""
    assistant.runner.prefill(opening_messages(assistant.clock()))
