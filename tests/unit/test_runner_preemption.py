"""The user's chat takes the model from a background completion even while its prompt is evaluated.

Real starter model. llama.cpp cannot be interrupted inside one prompt evaluation, so background
prompts are evaluated in chunks; these tests check the chunking is invisible in the output and
that a user turn stops it between chunks rather than after the whole prompt.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from assistant.llm.chat_cache import PREFILL_CHUNK_TOKENS, ChatCache
from assistant.llm.runner import ChatMessage, GenerationCancelled, ModelRunner

pytestmark = pytest.mark.slow

LONG_TEXT = " ".join(f"On day {n} the user talked about gardening, tomatoes and the weather." for n in range(40))


@pytest.fixture(scope="module")
def runner(starter_model_path) -> ModelRunner:
    runner = ModelRunner(starter_model_path, context_size=2048, threads=2)
    runner.load()
    return runner


def summary_prompt() -> list[ChatMessage]:
    return [ChatMessage("system", "Summarise the notes in one sentence."), ChatMessage("user", LONG_TEXT)]


def last_logits(llama) -> np.ndarray:
    """llama.cpp's scores for the token after the last one evaluated (llama-cpp-python keeps no copy)."""
    return np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).copy()


def test_a_chunked_background_prompt_reads_every_token_in_order(runner: ModelRunner, monkeypatch) -> None:
    # Not compared with the prompt read in one go: other batch shapes round differently, and a
    # greedy reply can part from it at a near-tie many tokens in (CI saw that). Read in the same
    # chunks by plain evaluation, the scores must be the very same numbers.
    llama = runner.load()
    tokens = runner.tokenize(runner.render(summary_prompt()))
    llama.reset()
    chunks: list[list[int]] = []
    real_eval = llama.eval
    monkeypatch.setattr(llama, "eval", lambda batch: (chunks.append(list(batch)), real_eval(batch))[1])
    assert ChatCache().prefill(llama, tokens, threading.Event())
    monkeypatch.setattr(llama, "eval", real_eval)
    assert len(chunks) > 4 and [token for chunk in chunks for token in chunk] == tokens[:-1]
    llama.eval(tokens[-1:])
    prefilled = last_logits(llama)

    llama.reset()
    for chunk in chunks:
        llama.eval(chunk)
    llama.eval(tokens[-1:])
    assert llama.n_tokens == len(tokens)
    assert np.array_equal(prefilled, last_logits(llama))
    runner.load().reset()
    assert runner.chat(summary_prompt(), max_tokens=24, temperature=0.0, background=True).strip()


def test_the_user_takes_the_model_in_the_middle_of_a_background_prompt(runner: ModelRunner, monkeypatch) -> None:
    llama = runner.load()
    llama.reset()
    prompt_tokens = runner.count_tokens(runner.render(summary_prompt()))
    assert prompt_tokens > 8 * PREFILL_CHUNK_TOKENS[1], "the prompt must take many chunks"
    chunks: list[int] = []
    started = threading.Event()
    real_eval = llama.eval

    def counting_eval(tokens):
        chunks.append(len(tokens))
        started.set()
        return real_eval(tokens)

    monkeypatch.setattr(llama, "eval", counting_eval)
    outcome: list[BaseException | str] = []

    def background() -> None:
        try:
            outcome.append(runner.chat(summary_prompt(), max_tokens=24, background=True))
        except BaseException as error:  # noqa: BLE001 - the outcome is what the test checks
            outcome.append(error)

    worker = threading.Thread(target=background)
    worker.start()
    assert started.wait(60)
    reply = runner.chat([ChatMessage("user", "Say hello.")], max_tokens=8, temperature=0.0)
    worker.join(60)
    assert reply.strip()
    assert len(outcome) == 1 and isinstance(outcome[0], GenerationCancelled)
    # It gave way between chunks, long before its prompt was fully evaluated.
    assert sum(chunks) < prompt_tokens / 2, (sum(chunks), prompt_tokens)


def conversation(turns: int) -> list[ChatMessage]:
    messages = [ChatMessage("system", "You are a helpful assistant. Answer in one short sentence.")]
    for n in range(turns):
        messages.append(ChatMessage("user", f"Tell me fact number {n} about tomatoes and how to grow them well."))
        messages.append(ChatMessage("assistant", f"Fact {n}: tomatoes like warm soil, sun and steady watering."))
    return messages


def test_the_users_conversation_survives_background_work_in_the_cache(runner: ModelRunner, monkeypatch) -> None:
    llama = runner.load()
    chat = conversation(12)
    follow_up = [
        *chat,
        ChatMessage("user", "And one more?"),
        ChatMessage("assistant", "Sure."),
        ChatMessage("user", "Why?"),
    ]
    # The baseline reads the follow-up in the same batches (the first turn's cells, then the rest),
    # so the replies can be compared to the letter.
    llama.reset()
    runner.chat([*chat, ChatMessage("user", "And one more?")], max_tokens=4, temperature=0.0)
    uninterrupted = runner.chat(follow_up, max_tokens=12, temperature=0.0)

    llama.reset()
    runner.chat([*chat, ChatMessage("user", "And one more?")], max_tokens=4, temperature=0.0)
    runner.chat(summary_prompt(), max_tokens=8, temperature=0.0, background=True)  # overwrites the cache

    evaluated: list[int] = []
    real_eval = llama.eval
    monkeypatch.setattr(llama, "eval", lambda tokens: (evaluated.append(len(tokens)), real_eval(tokens))[1])
    after_background = runner.chat(follow_up, max_tokens=12, temperature=0.0)
    prompt_tokens = runner.count_tokens(runner.render(follow_up))
    assert prompt_tokens > 300 and sum(evaluated[:1]) < 40  # the conversation came back from the saved cells
    assert after_background == uninterrupted and after_background.strip()  # the restored cells are the chat's own
