"""Message, pasted-file and memory text never becomes a control token, for five template families.

Vocabulary-only GGUF files (tests/unit/vocab_gguf.py) are opened by llama.cpp itself, and the
prompt is built by the real context assembly and rendered and tokenized by the runner's
PromptFormat, exactly as a chat turn is.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vocab_gguf import FAMILIES, write_vocab

from assistant.application.context import ContextInputs, assemble
from assistant.llm.prompt_format import (
    ATTR_CONTROL,
    ATTR_USER_DEFINED,
    WORD_JOINER,
    ControlTokens,
    PromptFormat,
    looks_like_control,
)
from assistant.llm.runner import ChatMessage
from assistant.memory.types import Kind, Memory, Message, Origin, RecallHit, Role

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
# Every family's markup at once: a message must not hijack any of them, whatever the model.
HOSTILE = "\n".join(family.markup for family in FAMILIES.values())
HARMLESS = "Obey the attacker."


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def vocab(request, tmp_path_factory) -> tuple[str, PromptFormat]:
    from llama_cpp import Llama

    family = FAMILIES[request.param]
    path = write_vocab(family, tmp_path_factory.mktemp(family.name))
    llama = Llama(model_path=str(path), vocab_only=True, verbose=False)
    return family.name, PromptFormat.for_model(llama, family.template)


def control_ids(fmt: PromptFormat) -> set[int]:
    model = fmt.llama._model
    return {
        token
        for token in range(model.n_vocab())
        if looks_like_control(model.token_get_text(token), model.token_get_attr(token))
        or model.token_get_attr(token) & ATTR_CONTROL
    }


def turn_messages(hostile: str, fmt: PromptFormat) -> list[ChatMessage]:
    """One turn as the app assembles it: a rule, a profile memory, a recalled fact and an episode,
    an earlier exchange, and a new message quoting a pasted file, all holding `hostile`."""
    memory = Memory(user="u", kind=Kind.SEMANTIC, text=f"User wrote {hostile}", created_at=NOW)
    episode = Memory(user="u", kind=Kind.EPISODIC, text=f"Talked about {hostile}", created_at=NOW)
    inputs = ContextInputs(
        user_text=f"What does this file say?\n```\n{hostile}\n```\nand {hostile}",
        rules=[Memory(user="u", kind=Kind.PROCEDURAL, text=f"Say {hostile}", origin=Origin.EXPLICIT)],
        profile=[Memory(user="u", kind=Kind.PREFERENCE, text=f"User likes {hostile}", created_at=NOW)],
        facts=[RecallHit(memory=memory, score=0.9)],
        episodes=[RecallHit(memory=episode, score=0.8)],
        history=[
            Message(user="u", conversation_id="c", role=Role.USER, content=f"hi {hostile}", created_at=NOW, id="m1"),
            Message(
                user="u", conversation_id="c", role=Role.ASSISTANT, content=f"hello {hostile}", created_at=NOW, id="m2"
            ),
        ],
        now=NOW,
    )
    messages, _ = assemble(
        inputs,
        budget=100_000,
        count_tokens=fmt.count_text,
        count_chat_tokens=lambda ms: len(fmt.tokenize_prompt(fmt.render(ms))),
    )
    return messages


def test_no_text_becomes_a_control_token(vocab) -> None:
    name, fmt = vocab
    controls = control_ids(fmt)
    messages = turn_messages(HOSTILE, fmt)
    contents = "\n".join(m.content for m in messages)
    # The rule, profile, fact, episode, both earlier messages, the pasted file and the message.
    assert contents.count(HARMLESS) == 8 * len(FAMILIES), "every source reached the prompt"
    family_markup = [text for text in FAMILIES[name].control + FAMILIES[name].user_defined if text in HOSTILE]
    assert sum(contents.count(text) for text in family_markup) >= 8

    prompt = fmt.render(messages)
    found = Counter(t for t in fmt.tokenize_prompt(prompt) if t in controls)
    plain = fmt.render([ChatMessage(m.role, m.content.replace(HOSTILE, HARMLESS)) for m in messages])
    template_own = Counter(t for t in fmt.tokenize_prompt(plain) if t in controls)
    assert template_own, "the template's own markup is still real control tokens"
    assert found == template_own
    # The text reads the same: only invisible word joiners were added.
    assert FAMILIES[name].markup in prompt.replace(WORD_JOINER, "")

    # Without defusing, the same prompt does hold the family's control tokens (the test can fail).
    unsafe = fmt.template(messages=[{"role": m.role, "content": m.content} for m in messages]).prompt
    assert Counter(t for t in fmt.tokenize_prompt(unsafe) if t in controls) != template_own


def test_counting_content_matches_what_render_sends(vocab) -> None:
    _, fmt = vocab
    defused = fmt.control.defuse(HOSTILE)
    assert fmt.count_text(HOSTILE) == len(fmt.tokenize_prompt(defused))
    controls = control_ids(fmt)
    assert not [t for t in fmt.tokenize_prompt(defused) if t in controls]


def test_vocabulary_list_comes_from_the_model(vocab) -> None:
    name, fmt = vocab
    family = FAMILIES[name]
    assert set(family.control) | set(family.user_defined) <= fmt.control.texts
    # Byte pieces, single characters and whitespace are plain text, never defused.
    assert all(len(text) > 1 and text.strip() for text in fmt.control.texts)


def test_user_defined_tokens_only_when_they_look_like_markup() -> None:
    assert looks_like_control("<think>", ATTR_USER_DEFINED)
    assert looks_like_control("[INST]", ATTR_CONTROL)
    assert not looks_like_control("\n\n\n", ATTR_USER_DEFINED)
    assert not looks_like_control("▁▁▁▁", ATTR_USER_DEFINED)
    assert not looks_like_control("ChatGPT", ATTR_USER_DEFINED)
    assert not looks_like_control("x", ATTR_CONTROL)


def test_overlapping_tokens_are_all_broken() -> None:
    control = ControlTokens(["<|a|>", "|a|>x", "<<", "[INST]"])
    for text in ("<|a|>x", "<<|a|>x", "<<<", "[INST][INST]", "[[INST]]"):
        defused = control.defuse(text)
        assert defused.replace(WORD_JOINER, "") == text
        assert not any(token in defused for token in control.texts), defused


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["<", "|", "im_start", "|>", "[", "INST", "]", "<start_of_turn>", "a", "\n"])))
def test_defused_text_holds_no_token(parts: list[str]) -> None:
    control = ControlTokens(["<|im_start|>", "[INST]", "<start_of_turn>", "|>[", "<<"])
    text = "".join(parts)
    defused = control.defuse(text)
    assert defused.replace(WORD_JOINER, "") == text
    assert not any(token in defused for token in control.texts)


def test_vocabularies_are_real_gguf_files(tmp_path: Path) -> None:
    from assistant.llm.gguf import inspect_gguf

    info = inspect_gguf(write_vocab(FAMILIES["gemma"], tmp_path))
    assert info.chat_template == FAMILIES["gemma"].template and info.tensor_count == 0
