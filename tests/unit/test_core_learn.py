"""Learning after an exchange, on the real model, embedder and LanceDB.

What the user states outright is saved before the model is asked: it is in memory at once,
stays when the user's next message takes the model away, and is not counted again when
learning is retried.
"""

from __future__ import annotations

import contextlib

import pytest

from assistant.application.session import Assistant, LearnReport
from assistant.config import load_settings
from assistant.llm.runner import GenerationCancelled
from assistant.memory.types import Kind

pytestmark = pytest.mark.slow

STATEMENT = "I live in Lisbon and on weekends I restore old bicycles with my neighbour."


@pytest.fixture
def assistant():
    core = Assistant(load_settings(context_size=2048, max_reply_tokens=16, temperature=0.0, model_extraction=True))
    yield core
    core.close()


def lisbon_facts(core: Assistant):
    return [m for m in core.engine.list() if m.kind != Kind.EPISODIC and "Lisbon" in m.text]


def test_a_stated_fact_is_saved_before_the_model_and_survives_its_cancellation(assistant):
    turn = assistant.reply(STATEMENT, conversation_id=assistant.new_conversation("weekend").id)
    stated: list[LearnReport] = []
    in_store_when_told: list[list[str]] = []
    user_turn = contextlib.ExitStack()

    def on_stated(report: LearnReport) -> None:
        stated.append(report)
        in_store_when_told.append([m.text for m in lisbon_facts(assistant)])
        # The user's next message arrives and takes the model before its extraction starts.
        user_turn.enter_context(assistant.runner._turn(background=False))

    with user_turn, pytest.raises(GenerationCancelled):
        assistant.learn(turn, on_stated=on_stated)

    [report] = stated
    assert [m.text for m in report.saved] == ["User lives in Lisbon"]
    assert in_store_when_told == [["User lives in Lisbon"]]
    [fact] = lisbon_facts(assistant)
    assert fact.sources == [turn.user_message_id]

    # Retried once the model is free: the model's pass runs, the stated fact is not restated.
    retried: list[LearnReport] = []
    assistant.learn(turn, on_stated=retried.append)
    assert [(report.saved, report.reinforced) for report in retried] == [([], [])]
    [again] = lisbon_facts(assistant)
    assert again.id == fact.id and again.access_count == fact.access_count
    assert [entry.action for entry in assistant.engine.audit(fact.id)] == ["add"]


def test_without_a_model_pass_one_report_holds_everything(assistant):
    turn = assistant.reply(STATEMENT, conversation_id=assistant.new_conversation("weekend").id)
    told: list[LearnReport] = []
    report = assistant.learn(turn, use_model=False, on_stated=told.append)
    assert told == []
    assert [m.text for m in report.saved] == ["User lives in Lisbon"]
