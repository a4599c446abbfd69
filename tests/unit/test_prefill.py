"""The start of a first prompt is evaluated ahead, while the store opens, and the first chat reuses it.

The real starter model; what the first chat's completion evaluates is seen by recording the
token batches llama.cpp is given.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from assistant.application.context import ContextInputs, assemble, opening_messages
from assistant.application.session import Assistant
from assistant.config import Settings
from assistant.llm.chat_cache import shared_prefix
from assistant.llm.runner import ModelRunner

NOW = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)


@pytest.fixture
def runner(starter_model_path: Path) -> ModelRunner:
    runner = ModelRunner(starter_model_path, context_size=2048, threads=2, seed=1)
    runner.load()
    return runner


def first_turn(runner: ModelRunner, text: str):
    messages, _ = assemble(
        ContextInputs(user_text=text, history=[], now=NOW),
        budget=1500,
        count_tokens=runner.count_tokens,
        count_chat_tokens=runner.count_chat_tokens,
    )
    return messages


def recorded_evals(llama) -> list[int]:
    sizes: list[int] = []
    evaluate = llama.eval

    def recording(tokens):
        sizes.append(len(tokens))
        return evaluate(tokens)

    llama.eval = recording
    return sizes


def test_a_first_chat_evaluates_only_what_follows_the_prefilled_opening(runner: ModelRunner) -> None:
    opening = runner.tokenize(runner.render(opening_messages(NOW)))
    assert runner.prefill(opening_messages(NOW))
    llama = runner.load()
    assert list(llama.input_ids[: llama.n_tokens]) == opening
    import llama_cpp

    assert llama_cpp.llama_n_threads(llama._ctx.ctx) == 2, "the prefill's one thread was not given back"

    messages = first_turn(runner, "Give me three tips for remembering names")
    prompt = runner.tokenize(runner.render(messages))
    reused = shared_prefix(opening, prompt)
    assert reused >= len(opening) - 3, "the opening is how a first prompt starts"
    sizes = recorded_evals(llama)
    reply = runner.chat(messages, max_tokens=4, temperature=0.0)
    assert reply.strip()
    assert sizes[0] == len(prompt) - reused, "the first chat evaluated the opening again"


def test_prefill_never_displaces_a_conversation(runner: ModelRunner) -> None:
    messages = first_turn(runner, "What is a good name for a cat")
    runner.chat(messages, max_tokens=4, temperature=0.0)
    llama = runner.load()
    before = list(llama.input_ids[: llama.n_tokens])
    assert not runner.prefill(opening_messages(NOW))
    assert list(llama.input_ids[: llama.n_tokens]) == before


def test_a_waiting_chat_stops_the_prefill(runner: ModelRunner) -> None:
    runner._user_waiting.set()  # a chat is waiting for the model
    try:
        assert not runner.prefill(opening_messages(NOW))
    finally:
        runner._user_waiting.clear()
    assert runner.load().n_tokens == 0


def test_warm_up_leaves_the_opening_in_the_model_cache(starter_model_path: Path) -> None:
    runner = ModelRunner(starter_model_path, context_size=2048, threads=2, seed=1)
    assistant = Assistant(Settings(memory_enabled=False), runner=runner, clock=lambda: NOW)
    assistant.warm_up()
    llama = runner.load()
    assert list(llama.input_ids[: llama.n_tokens]) == runner.tokenize(runner.render(opening_messages(NOW)))
