"""The core's context across turns, on the real model, embedder and LanceDB.

One conversation in one process: a memory block rides with its message while that message is
in the window (so llama.cpp's prefix cache holds), and a forgotten memory is never quoted again.
"""

from __future__ import annotations

import pytest

from assistant.config import load_settings
from assistant.core import Assistant

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
    conversation = assistant.new_conversation("trip").id
    say(assistant, conversation, "My sister is called Marta and she lives in Porto.")
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
