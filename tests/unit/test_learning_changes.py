"""Learning that changes what is known, on the real model, embedder and LanceDB: a moved city
supersedes the old one, a retraction ends the fact or the health note that quoted it, and a
statement no rule reads is kept as a note, with the same notice as any saved fact."""

from __future__ import annotations

import pytest

from assistant.application.session import Assistant
from assistant.config import load_settings
from assistant.learning.schema import second_person
from assistant.memory.types import Status

pytestmark = pytest.mark.slow


@pytest.fixture
def assistant():
    core = Assistant(load_settings(context_size=2048, max_reply_tokens=16, temperature=0.0, model_extraction=False))
    yield core
    core.close()


def say(core: Assistant, text: str, conversation: str):
    turn = core.reply(text, conversation_id=conversation)
    return core.learn(turn, use_model=False)


def in_context(turn) -> str:
    """What the model was given for this turn: every section of its prompt."""
    return "\n".join(section.text for section in turn.trace.sections) + "\n" + turn.trace.memory_block


def active(core: Assistant, prefix: str):
    return [m for m in core.engine.list() if (m.key or "").startswith(prefix) and m.status == Status.ACTIVE]


def test_a_move_supersedes_and_scratch_that_moves_back(assistant):
    chat = assistant.new_conversation("moves").id
    say(assistant, "I live in Lisbon.", chat)
    say(assistant, "Let me tell you, I just moved to Berlin last month.", chat)
    report = say(assistant, "Scratch that, I moved back to Porto.", chat)
    assert [m.text for m in active(assistant, "user.home")] == ["User lives in Porto"]
    assert any("replaces: You live in Berlin" in notice for notice in report.notices)


def test_a_retraction_ends_the_health_note_that_quoted_it_and_adds_nothing(assistant):
    chat = assistant.new_conversation("health").id
    saved = say(assistant, "Penicillin and I really don't get along.", chat)
    [note] = active(assistant, "user.health.note.")
    assert saved.notices == [f"Saved to memory: {second_person(note.text)}"]
    ended = say(assistant, "I'm not allergic to penicillin after all, the test came back clear.", chat)
    assert active(assistant, "user.health.note.") == [] and active(assistant, "user.allergy.") == []
    assert ended.saved == [] and any(notice.startswith("No longer true:") for notice in ended.notices)


def test_a_family_member_allergy_is_theirs_and_a_diet_retraction_ends_the_diet(assistant):
    chat = assistant.new_conversation("family").id
    say(assistant, "My daughter is allergic to peanuts. I'm vegetarian.", chat)
    assert [m.key for m in active(assistant, "user.family.")] == ["user.family.daughter.allergy.peanut"]
    assert active(assistant, "user.allergy.") == []
    profile = [m.text for m in assistant.memories.profile()]
    assert "User's daughter is allergic to peanuts" in profile  # in every prompt, like the user's own
    say(assistant, "I'm not vegetarian anymore, I started eating chicken again.", chat)
    assert active(assistant, "user.diet") == []


def test_a_statement_no_rule_reads_is_kept_as_a_note_of_its_family_with_undo(assistant):
    chat = assistant.new_conversation("pet").id
    report = say(assistant, "My dog turned out to be a brilliant swimmer.", chat)
    [note] = active(assistant, "user.note.pet.")
    assert report.notices == [f"Saved to memory: {second_person(note.text)}"] and "brilliant swimmer" in note.text
    assistant.undo_learned([m.id for m in report.saved])
    assert active(assistant, "user.note.") == []


def test_settling_and_being_somewhere_now_are_moves_that_supersede(assistant):
    chat = assistant.new_conversation("settling").id
    say(assistant, "I live in Lisbon.", chat)
    say(assistant, "We moved around a lot but ended up settling in Braga.", chat)
    assert [m.text for m in active(assistant, "user.home")] == ["User lives in Braga"]
    report = say(assistant, "we're in Coimbra now", chat)
    assert [m.text for m in active(assistant, "user.home")] == ["User lives in Coimbra"]
    assert any("replaces: You live in Braga" in notice for notice in report.notices)


def test_a_paraphrased_allergy_is_one_fact_and_a_bare_retraction_ends_it_and_the_note(assistant):
    chat = assistant.new_conversation("peanuts").id
    say(assistant, "Peanuts and I really don't get along.", chat)  # no rule reads it: a note
    [note] = active(assistant, "user.health.note.")
    report = say(assistant, "Oh and peanuts… they make my throat swell up. So no peanuts please!", chat)
    assert [m.text for m in active(assistant, "user.allergy.")] == ["User is allergic to peanuts"]
    assert [m.id for m in active(assistant, "user.health.note.")] == [note.id]  # no second note
    assert len(report.saved) == 1
    # In a new conversation the allergy is in the profile (in this one, the window shows the user's words).
    next_turn = assistant.reply("Any ideas for a snack?", conversation_id=assistant.new_conversation("snack").id)
    assert "User is allergic to peanuts" in in_context(next_turn)
    ended = say(assistant, "Never mind the peanut thing… I'm not allergic after all", chat)
    assert active(assistant, "user.allergy.") == [] and active(assistant, "user.health.note.") == []
    assert ended.saved == [] and any(notice.startswith("No longer true:") for notice in ended.notices)
    after = assistant.reply("Any ideas for a snack?", conversation_id=assistant.new_conversation("again").id)
    assert "allergic to peanuts" not in in_context(after)


def test_a_portuguese_message_saves_home_and_allergy_that_english_ends(assistant):
    chat = assistant.new_conversation("pt").id
    say(assistant, "Moro em Lisboa e sou alérgica a amendoim", chat)
    assert [m.text for m in active(assistant, "user.home")] == ["User lives in Lisboa"]
    assert [m.key for m in active(assistant, "user.allergy.")] == ["user.allergy.peanut"]
    assert "User is allergic to amendoim" in [m.text for m in assistant.memories.profile()]
    say(assistant, "I'm not allergic to peanuts after all.", chat)
    assert active(assistant, "user.allergy.") == []


def test_the_users_own_retraction_leaves_a_family_members_allergy_note(assistant):
    # From a CLI trial: "never mind the peanut thing" ended the note about the daughter's allergy too.
    chat = assistant.new_conversation("family").id
    say(assistant, "Peanuts make my throat swell up.", chat)
    say(assistant, "A minha filha é alérgica a amendoim.", chat)
    [daughter] = [m for m in active(assistant, "user.health.note.") if "filha" in m.text]
    say(assistant, "Never mind the peanut thing… I'm not allergic after all", chat)
    assert active(assistant, "user.allergy.") == []
    assert [m.id for m in active(assistant, "user.health.note.") if "filha" in m.text] == [daughter.id]
