"""The memory service: one policy per use case, whichever front end asks (real embedder, LanceDB, model).

The same request gives the same result from chat, the CLI and the panel; the prompt a
conversation is given is rebuilt from what is on disk, so a memory forgotten in another
process drops out of the next prompt.
"""

from __future__ import annotations

import json

import pytest

from assistant.application.session import Assistant
from assistant.config import load_settings
from assistant.memory.types import Kind, Status

pytestmark = pytest.mark.slow


@pytest.fixture
def assistant():
    core = Assistant(load_settings(context_size=2048, max_reply_tokens=16, temperature=0.0, model_extraction=False))
    yield core
    core.close()


def sent_text(turn) -> str:
    """Everything the model was given for a turn, as one string."""
    return "\n".join(f"{s.name}: {s.text}" for s in turn.trace.sections) + turn.trace.memory_block


def test_memory_add_learns_like_remember_that_and_reaches_the_profile_and_the_next_prompt(cli):
    added = cli("memory", "add", "I'm allergic to shellfish", "--json")
    assert added.returncode == 0, added.stderr
    learned = json.loads(added.stdout)
    assert [m["key"] for m in learned] == ["user.allergy.shellfish"], learned

    profile = cli("chat", "/profile")
    assert profile.returncode == 0, profile.stderr
    assert "shellfish" in profile.stdout

    asked = cli("chat", "What should I cook for dinner tonight?", "--new", "--show-context", "--no-memory")
    assert "shellfish" not in asked.stdout.split("--- context", 1)[1]  # memory off: nothing recalled
    asked = cli("chat", "What should I cook for dinner tonight?", "--new", "--show-context")
    assert asked.returncode == 0, asked.stderr
    profile_section = asked.stdout.split("[profile]", 1)[1].split("[relevant facts]", 1)[0]
    assert "shellfish" in profile_section


def test_memory_add_raw_stores_the_text_as_given(cli):
    added = cli("memory", "add", "I'm allergic to shellfish", "--raw", "--json")
    assert added.returncode == 0, added.stderr
    memory = json.loads(added.stdout)
    assert memory["text"] == "I'm allergic to shellfish" and memory["key"] is None


def test_remember_in_chat_and_memory_add_store_the_same_memory(assistant, cli):
    assistant.reply("remember that I live in Lisbon")
    from_chat = [(m.key, m.text) for m in assistant.memories.remembered()]
    assistant.memories.forget([m.id for m in assistant.memories.remembered()])

    added = cli("memory", "add", "I live in Lisbon", "--json")
    assert added.returncode == 0, added.stderr
    assert [(m["key"], m["text"]) for m in json.loads(added.stdout)] == from_chat


def test_removing_a_rule_archives_it_in_chat_and_in_the_panel_alike(assistant):
    assistant.reply("/rule add Always answer in French")
    assistant.reply("/rule add Keep answers short")
    removed = assistant.reply("/rule remove 1")
    assert "Rule removed: Always answer in French" in removed.reply
    assistant.memories.save_rules("")  # the panel's rule editor, emptied
    rules = {m.text: m.status for m in assistant.memories.select(kinds=[Kind.PROCEDURAL])}
    assert rules == {"Always answer in French": Status.ARCHIVED, "Keep answers short": Status.ARCHIVED}
    assert assistant.memories.rules() == []


def test_a_memory_forgotten_in_another_process_leaves_the_next_prompt_of_an_open_conversation(assistant, cli):
    fact = assistant.memories.add_raw("User keeps a pet axolotl called Zorblax", reason="test")
    conversation = assistant.new_conversation("pets").id
    first = assistant.reply("What should I feed my pet axolotl?", conversation_id=conversation)
    assert "Zorblax" in first.trace.memory_block  # quoted with this message

    second = assistant.reply("And how warm should its water be for my axolotl?", conversation_id=conversation)
    assert "Zorblax" in sent_text(second)  # still in front of the model, with the first message

    forgotten = cli("memory", "forget", fact.id)
    assert forgotten.returncode == 0, forgotten.stderr

    third = assistant.reply("How big do axolotls get?", conversation_id=conversation)
    assert "Zorblax" not in sent_text(third)
    assert fact.id not in {m.id for m in third.trace.memories}


def test_two_processes_build_the_same_prompt_for_one_conversation(assistant):
    assistant.memories.add_raw("User keeps a pet axolotl called Zorblax", reason="test")
    conversation = assistant.new_conversation("pets").id
    assistant.reply("What should I feed my pet axolotl?", conversation_id=conversation)
    here = Assistant(load_settings(context_size=2048, max_reply_tokens=16, temperature=0.0, model_extraction=False))
    try:
        # Another process's session (a new Assistant has none of the first one's memory of the prompt).
        later = here.reply("How warm should the water be?", conversation_id=conversation)
    finally:
        here.close()
    recent = next(s.text for s in later.trace.sections if s.name == "recent turns")
    assert "Zorblax" in recent  # the first message is resent with the block it was sent with


def test_recall_reinforces_only_what_the_prompt_quoted(assistant):
    quoted = assistant.memories.add_raw("User keeps a pet axolotl called Zorblax", reason="test")
    unrelated = assistant.memories.add_raw("User's favourite colour is teal", reason="test")
    assistant.reply("What should I feed my pet axolotl?", conversation_id=assistant.new_conversation("p").id)
    assistant.engine.flush()
    assert assistant.memories.get(quoted.id).access_count == 1
    assert assistant.memories.get(unrelated.id).access_count == 0


def test_forget_everything_also_removes_what_prompts_were_built_with(assistant, isolated_dirs):
    assistant.memories.add_raw("User keeps a pet axolotl called Zorblax", reason="test")
    assistant.reply("What should I feed my pet axolotl?", conversation_id=assistant.new_conversation("p").id)
    assert list((isolated_dirs / "prompts").rglob("*.json"))
    assistant.memories.forget_all()
    assert not list((isolated_dirs / "prompts").rglob("*.json"))
    assert not list((isolated_dirs / "traces").rglob("*.json"))


def test_an_allergy_in_everyday_words_reaches_a_new_conversations_prompt(cli):
    first = cli(
        "chat",
        "Hi! I'm Sam, I just moved to Berlin and I work as a nurse. "
        "Oh, and shrimp make my throat swell up, so no shrimp please.",
        env={"ASSISTANT_MODEL_EXTRACTION": "false"},
    )
    assert first.returncode == 0, first.stderr
    assert "Saved to memory: You are allergic to shrimp" in first.stderr  # told, not silent

    asked = cli("chat", "Can you give me some dinner ideas?", "--new", "--show-context")
    assert asked.returncode == 0, asked.stderr
    profile = asked.stdout.split("[profile]", 1)[1].split("[relevant facts]", 1)[0]
    assert "User is allergic to shrimp" in profile and "Sam" in profile
