"""The core's context across turns, on the real model, embedder and LanceDB.

One conversation in one process: a memory block rides with its message while that message is
in the window (so llama.cpp's prefix cache holds), and a forgotten memory is never quoted again.
"""

from __future__ import annotations

import pytest

from assistant.application.session import Assistant
from assistant.config import load_settings
from assistant.memory.engine import episodic_memory_id

pytestmark = pytest.mark.slow


@pytest.fixture
def assistant():
    core = Assistant(load_settings(context_size=2048, max_reply_tokens=16, temperature=0.0, model_extraction=False))
    yield core
    core.close()


def say(core: Assistant, conversation: str, text: str):
    turn = core.reply(text, conversation_id=conversation)
    core.learn(turn)
    return turn


def test_memory_blocks_ride_with_their_message_and_a_forget_drops_them(assistant):
    say(assistant, assistant.new_conversation("family").id, "My sister is called Marta and she lives in Porto.")
    conversation = assistant.new_conversation("trip").id
    first = say(assistant, conversation, "Who is Marta?")
    assert "Marta" in first.trace.memory_block  # recalled and quoted this turn

    second = say(assistant, conversation, "What is a good gift for Marta?")
    shown = [m for m in second.trace.memories if "Marta" in m.text]
    assert shown, "the memory is still in front of the model"
    assert "Marta" not in second.trace.memory_block  # but through the earlier block, not quoted again
    assert any(m.section == "recent turns" for m in shown)

    assistant.reply("forget that my sister is called Marta", conversation_id=conversation)
    third = assistant.reply("Tell me about Marta.", conversation_id=conversation)
    sent = "\n".join(f"{s.name}: {s.text}" for s in third.trace.sections) + third.trace.memory_block
    assert "called Marta" not in sent and not [m for m in third.trace.memories if "sister" in m.text.lower()]


def test_a_general_question_gets_only_memories_clearly_about_it(assistant):
    conversation = assistant.new_conversation("bakery").id
    say(assistant, conversation, "I work at a bakery as a pastry chef.")
    say(assistant, conversation, "I have a dog named Rex.")
    other = assistant.new_conversation("questions").id  # a fresh window: nothing shown yet

    general = say(assistant, other, "Why does bread go stale?")
    assert "bakery" not in general.trace.memory_block  # loosely related, and the question is not about the user

    personal = say(assistant, other, "Why does my bread go stale so fast?")
    assert "bakery" in personal.trace.memory_block  # the same note, now that the user speaks of themselves

    named = say(assistant, other, "Is Rex too old to learn to swim?")
    assert "Rex" in named.trace.memory_block  # a name the memory shares makes it about the user


def test_recall_runs_while_the_message_is_stored_and_never_quotes_that_message(assistant):
    conversation = assistant.new_conversation("echo").id
    for _ in range(3):
        turn = say(assistant, conversation, "Remind me what I said about the blue bicycle in the shed.")
        quoted = [m for m in turn.trace.memories if m.section == "past conversations"]
        assert episodic_memory_id(turn.user_message_id) not in {m.id for m in quoted}
        assert turn.user_message_id in {m.id for m in assistant.conversation_messages(conversation)}
