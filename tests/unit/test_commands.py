"""Memory commands typed in chat are recognised deterministically, and only at the start of a message."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.application.chat_commands.grammar import (
    AddRule,
    Command,
    CommandError,
    Forget,
    ForgetAll,
    Help,
    ListKnowledge,
    ListRules,
    Remember,
    RemoveRule,
    ShowMemories,
    ShowProfile,
    parse_command,
)

CASES: list[tuple[str, Command]] = [
    ("remember that I live in Lisbon", Remember("I live in Lisbon")),
    ("Remember: my sister is called Ana.", Remember("my sister is called Ana")),
    ("Please remember I'm allergic to cats", Remember("I'm allergic to cats")),
    ("REMEMBER THAT I HATE MONDAYS", Remember("I HATE MONDAYS")),
    ("can you remember that I like green tea?", Remember("I like green tea")),
    ("Could you please remember that my flight is on Friday?", Remember("my flight is on Friday")),
    ("Don't forget that my mum's birthday is June 2", Remember("my mum's birthday is June 2")),
    ("  remember   that   I’m vegan  ", Remember("I'm vegan")),
    ("remember to buy milk tomorrow", Remember("I need to buy milk tomorrow")),
    ("remember to always answer in French", AddRule("Always answer in French")),
    ("forget that I live in Lisbon", Forget("I live in Lisbon")),
    ("Forget my address.", Forget("my address")),
    ("please forget everything about Lisbon", Forget("Lisbon", everything_about=True)),
    ("forget about my ex", Forget("my ex", everything_about=True)),
    ("delete the memory about my address", Forget("my address")),
    ("forget everything you know about me", ForgetAll()),
    ("Forget everything.", ForgetAll()),
    ("what do you know about me?", ListKnowledge()),
    ("What do you remember about me", ListKnowledge()),
    ("what have you learned about me?", ListKnowledge()),
    ("So, what do you know about me??", ListKnowledge()),
    ("show me what you remember", ListKnowledge()),
    ("/remember I live in Porto", Remember("I live in Porto")),
    ("/forget Porto", Forget("Porto")),
    ("/memories", ShowMemories(None)),
    ("/memories green tea", ShowMemories("green tea")),
    ("/profile", ShowProfile()),
    ("/rule add Always answer in French", AddRule("Always answer in French")),
    ("/rule list", ListRules()),
    ("/rule", ListRules()),
    ("/rule remove 2", RemoveRule("2")),
    ("/rule remove 3f9a2c", RemoveRule("3f9a2c")),
    ("/help", Help()),
    ("/REMEMBER I like tea", Remember("I like tea")),
]

NOT_COMMANDS = [
    "he told me to remember that I owe him money",
    "I told her to forget that I live in Lisbon",
    "Can you help me remember that song's name? It goes la la la",
    "remember when we talked about Rome?",
    "Remember how we met?",
    "do you remember my name?",
    "forget it",
    "Forget it, never mind.",
    "I forget things all the time",
    "Please remove the background from this photo",
    "/usr/bin/python crashes when I run it",
    "What do you know about black holes?",
    "what do you know about me and my sister's trip? just kidding, tell me a joke",
    "",
    "   ",
    "I remember that day well",
]


@pytest.mark.parametrize(("message", "expected"), CASES, ids=[m for m, _ in CASES])
def test_commands_are_recognised(message: str, expected: Command) -> None:
    assert parse_command(message) == expected


@pytest.mark.parametrize("message", NOT_COMMANDS)
def test_ordinary_chat_is_not_a_command(message: str) -> None:
    assert parse_command(message) is None


@pytest.mark.parametrize(
    ("message", "hint"),
    [
        ("/remember", "/remember TEXT"),
        ("/forget", "/forget QUERY"),
        ("/rule add", "/rule add TEXT"),
        ("/rule remove", "/rule remove N|ID"),
        ("/rule frobnicate x", "/rule add TEXT"),
        ("/frobnicate", "/remember TEXT"),
    ],
)
def test_bad_slash_commands_explain_what_to_type(message: str, hint: str) -> None:
    command = parse_command(message)
    assert isinstance(command, CommandError)
    assert hint in command.message and "\n" not in command.message


def test_unknown_slash_command_names_the_command() -> None:
    command = parse_command("/frobnicate now")
    assert isinstance(command, CommandError) and "/frobnicate" in command.message


def test_rule_reference_is_a_position_or_an_id() -> None:
    assert RemoveRule("2").position == 2
    assert RemoveRule("3f9a2c").position is None


def test_remember_text_keeps_the_users_words_for_extraction() -> None:
    from datetime import datetime

    from assistant.learning.remember import remember_candidates

    command = parse_command("remember that I live in Lisbon")
    assert isinstance(command, Remember)
    [candidate] = remember_candidates(command.text, now=datetime(2025, 3, 3), source_id="m1")
    assert candidate.key == "user.home" and candidate.text == "User lives in Lisbon"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_parser_never_crashes(text: str) -> None:
    command = parse_command(text)
    assert command is None or isinstance(command, Command)
