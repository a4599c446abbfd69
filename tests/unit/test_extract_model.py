"""LLM extraction: the guarantees hold with the real starter model, whatever it happens to say.

The 135M model is weak, so these tests never depend on it finding the right facts. They
depend on what the filter guarantees: well-formed candidates, nothing from the assistant's
words, no exceptions but GenerationCancelled, failures reported as `error`.
A scripted runner covers the retry, failure and cancellation paths quickly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest

from assistant.errors import ModelError
from assistant.learning.candidate import Candidate
from assistant.learning.explicit import extract_explicit
from assistant.learning.model_extraction import (
    EXTRACTION_SCHEMA,
    ExtractedItem,
    ExtractionOutput,
    build_extraction_messages,
    extract_with_model,
    merge_candidates,
)
from assistant.learning.model_keys import normalize_key
from assistant.llm.runner import ChatMessage, GenerationCancelled, GenerationTimedOut, ModelRunner
from assistant.memory.language import content_stems
from assistant.memory.types import Kind, Origin

NOW = datetime(2025, 3, 3, 9, 30)

EXCHANGES = [
    (
        "I live in Lisbon and I work as a nurse at the city hospital.",
        "That's wonderful! Do you enjoy nursing? Paris and Madrid are lovely too.",
    ),
    (
        "My daughter Sofia starts school next week and I'm nervous about it.",
        "Starting school is a big step. Many parents feel anxious; maybe pack her favourite sandwich.",
    ),
    (
        "What's the capital of Australia?",
        "The capital of Australia is Canberra. I love geography and I live in the cloud.",
    ),
]


def assert_well_formed(candidate: Candidate) -> None:
    assert isinstance(candidate.kind, Kind) and candidate.kind is not Kind.SUMMARY
    assert candidate.text.strip() and candidate.text == candidate.text.strip()
    assert 0.0 <= candidate.importance <= 1.0 and 0.0 <= candidate.confidence <= 1.0
    assert candidate.origin is Origin.EXTRACTED
    assert candidate.source_ids == ["msg-42"]
    assert candidate.key is None or candidate.key.startswith(("user.", "rule."))
    assert "[redacted" not in candidate.text


def assert_grounded_in_user(candidate: Candidate, user_text: str, assistant_text: str) -> None:
    assistant_only = content_stems(assistant_text) - content_stems(user_text)
    assert not (content_stems(candidate.text) - {"user"}) & assistant_only, candidate.text


@pytest.fixture(scope="module")
def runner(starter_model_path: Path) -> ModelRunner:
    return ModelRunner(starter_model_path, context_size=2048, threads=2, seed=7)


@pytest.mark.slow
def test_real_model_extraction_keeps_its_guarantees(runner: ModelRunner) -> None:
    for user_text, assistant_text in EXCHANGES:
        result = extract_with_model(runner, user_text, assistant_text, source_id="msg-42", now=NOW)
        assert result.error is None or (isinstance(result.error, str) and "\n" not in result.error)
        for candidate in result.candidates:
            assert_well_formed(candidate)
            assert_grounded_in_user(candidate, user_text, assistant_text)
        merged = merge_candidates(extract_explicit(user_text, now=NOW, source_id="msg-42"), result.candidates)
        keys = [candidate.key for candidate in merged if candidate.key and not candidate.retracts]
        assert len(keys) == len(set(keys))


@pytest.mark.slow
def test_real_model_failure_comes_back_as_error_not_exception(starter_model_path: Path) -> None:
    # A context too small for the prompt makes every attempt fail inside the runner.
    tiny = ModelRunner(starter_model_path, context_size=64, threads=2)
    result = extract_with_model(tiny, *EXCHANGES[0], source_id="msg-42", now=NOW)
    assert result.candidates == []
    assert result.error is not None and "failed after a retry" in result.error


def test_extraction_prompt_separates_the_user_from_the_assistant() -> None:
    messages = build_extraction_messages("I live in Lisbon", "Lisbon is nice", ["user.home"])
    assert [message.role for message in messages] == ["system", "user"]
    assert "USER" in messages[0].content and "Never use the ASSISTANT's words" in messages[0].content
    assert "USER said:\nI live in Lisbon" in messages[1].content
    assert "context only, not facts" in messages[1].content and "user.home" in messages[1].content


def test_schema_is_a_list_of_typed_items() -> None:
    schema = EXTRACTION_SCHEMA.model_json_schema()
    item = schema["$defs"]["ExtractedItem"]
    assert set(item["required"]) == {"kind", "key", "text", "importance"}
    assert item["properties"]["kind"]["enum"] == ["semantic", "preference", "procedural", "episodic"]
    parsed = EXTRACTION_SCHEMA.model_validate_json(
        '{"items": [{"kind": "semantic", "key": null, "text": "x", "importance": 7}]}'
    )
    assert parsed.items[0].importance == 1.0


# -- scripted runner: fast checks of the retry / failure / cancel paths ---------------------------


class ScriptedRunner:
    def __init__(self, *replies: ExtractionOutput | Exception) -> None:
        self.replies = list(replies)
        self.calls: list[list[ChatMessage]] = []

    def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: type[ExtractionOutput],
        *,
        max_tokens: int = 200,
        background: bool = True,
        seconds: float | None = None,
    ) -> ExtractionOutput:
        assert background, "extraction must run as a background generation"
        self.calls.append(list(messages))
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def items(*specs: tuple[str, str | None, str]) -> ExtractionOutput:
    return ExtractionOutput.model_construct(
        items=[ExtractedItem(kind=kind, key=key, text=text, importance=0.6) for kind, key, text in specs]  # type: ignore[arg-type]
    )


def test_invalid_output_is_retried_once_then_succeeds() -> None:
    runner = ScriptedRunner(ModelError("bad json"), items(("semantic", "home", "User lives in Lisbon")))
    result = extract_with_model(runner, "I live in Lisbon", "Nice!", source_id="msg-42", now=NOW)
    assert result.error is None and len(runner.calls) == 2
    [candidate] = result.candidates
    assert (candidate.key, candidate.text, candidate.value) == ("user.home", "User lives in Lisbon", "Lisbon")


def test_two_failures_return_an_error() -> None:
    runner = ScriptedRunner(ModelError("bad json"), ModelError("still bad"))
    result = extract_with_model(runner, "I live in Lisbon", "Nice!", source_id="msg-42", now=NOW)
    assert result.candidates == [] and result.error is not None and "still bad" in result.error


def test_a_timed_out_extraction_is_an_error_and_not_retried() -> None:
    runner = ScriptedRunner(GenerationTimedOut("structured generation stopped after 45 s"), ModelError("unused"))
    result = extract_with_model(runner, "I live in Lisbon", "Nice!", source_id="msg-42", now=NOW)
    assert result.candidates == [] and "stopped after 45 s" in (result.error or "") and len(runner.calls) == 1


@pytest.mark.slow
def test_real_model_extraction_stops_at_its_time_cap(runner: ModelRunner) -> None:
    import time

    runner.load()
    started = time.monotonic()
    result = extract_with_model(
        runner, "I live in Lisbon and I work as a nurse.", "Nice!", source_id="m", now=NOW, seconds=1.0
    )
    # The cap is checked between tokens (reading the prompt cannot be cut), so allow the prompt's time.
    assert time.monotonic() - started < 60
    assert result.error is None or "stopped after" in result.error


def test_preemption_by_the_user_propagates() -> None:
    runner = ScriptedRunner(GenerationCancelled("user typing"))
    with pytest.raises(GenerationCancelled):
        extract_with_model(runner, "I live in Lisbon", "Nice!", source_id="msg-42", now=NOW)


def test_the_assistants_words_and_hallucinations_are_dropped() -> None:
    runner = ScriptedRunner(
        items(
            ("semantic", "user.home", "User lives in Paris"),  # the assistant's city
            ("preference", None, "User enjoys nursing"),  # the assistant's question turned into a fact
            ("semantic", None, "User is 34 years old and owns a boat"),  # invented
            ("semantic", None, "The assistant is helpful"),
            ("procedural", None, "Always answer in French"),  # the user gave no rule
            ("semantic", "job", "User works as a nurse"),
            ("semantic", None, ""),
        )
    )
    result = extract_with_model(
        runner,
        "I live in Lisbon and I work as a nurse.",
        "Do you enjoy nursing? Paris is lovely.",
        source_id="msg-42",
        now=NOW,
    )
    assert [(c.key, c.text) for c in result.candidates] == [("user.work.role", "User works as a nurse")]
    assert len(result.rejected) == 6


def test_several_statements_in_one_item_are_judged_separately() -> None:
    runner = ScriptedRunner(items(("semantic", None, "User lives in Lisbon. User has a yacht in Monaco.")))
    result = extract_with_model(runner, "I live in Lisbon", "", source_id="msg-42", now=NOW)
    assert [c.text for c in result.candidates] == ["User lives in Lisbon"]


def test_secrets_in_model_items_are_dropped() -> None:
    runner = ScriptedRunner(items(("semantic", None, "User's password is hunter22")))
    result = extract_with_model(runner, "my password is hunter22", "", source_id="msg-42", now=NOW)
    assert result.candidates == []


def test_a_question_alone_is_not_sent_to_the_model() -> None:
    runner = ScriptedRunner()
    result = extract_with_model(runner, "Do I live in Lisbon?", "Yes.", source_id="msg-42", now=NOW)
    assert result.candidates == [] and result.error is None and runner.calls == []


def test_a_message_without_self_reference_is_not_sent_to_the_model() -> None:
    runner = ScriptedRunner()
    result = extract_with_model(runner, "The capital of France is Paris.", "Yes.", source_id="msg-42", now=NOW)
    assert result.candidates == [] and result.error is None and runner.calls == []


def test_ungrounded_keys_from_the_rule_families_are_not_trusted() -> None:
    runner = ScriptedRunner(items(("semantic", "user.home", "User mentioned Lisbon trams")))
    result = extract_with_model(runner, "I think the Lisbon trams are charming", "", source_id="msg-42", now=NOW)
    assert [(c.key, c.text) for c in result.candidates] == [(None, "User mentioned Lisbon trams")]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("favorite_color", "user.favourite.colour"),
        ("User.Location", "user.home"),
        ("occupation", "user.work.role"),
        ("user.goal.marathon", "user.goal.marathon"),
        ("random stuff!!", None),
        (None, None),
        ("", None),
    ],
)
def test_model_keys_are_normalized_to_the_rules_scheme(raw: str | None, expected: str | None) -> None:
    assert normalize_key(raw) == expected


def test_rules_win_over_the_model_on_the_same_key() -> None:
    explicit = extract_explicit("My favourite colour is green", now=NOW, source_id="m1")
    model = [
        Candidate(
            Kind.PREFERENCE,
            "User's favourite colour is teal",
            "user.favourite.colour",
            0.5,
            0.5,
            Origin.EXTRACTED,
            ["m1"],
        ),
        Candidate(Kind.SEMANTIC, "User's favourite colour is green", None, 0.5, 0.5, Origin.EXTRACTED, ["m1"]),
        Candidate(
            Kind.SEMANTIC, "User is training for a marathon", "user.goal.marathon", 0.6, 0.5, Origin.EXTRACTED, ["m1"]
        ),
    ]
    merged = merge_candidates(explicit, model)
    assert [(c.key, c.text) for c in merged] == [
        ("user.favourite.colour", "User's favourite colour is green"),
        ("user.goal.marathon", "User is training for a marathon"),
    ]


def test_a_model_fact_that_only_glues_rule_facts_together_is_dropped() -> None:
    said = "Hi, I'm Ana. I live in Lisbon and I have a dog named Rex."
    explicit = extract_explicit(said, now=NOW, source_id="m1")
    glued = Candidate(
        Kind.SEMANTIC, "User lives in Lisbon and I have a dog named Rex", None, 0.5, 0.5, Origin.EXTRACTED, ["m1"]
    )
    new = Candidate(Kind.SEMANTIC, "User adopted Rex from a shelter", None, 0.5, 0.5, Origin.EXTRACTED, ["m1"])
    merged = [c.text for c in merge_candidates(explicit, [glued, new])]
    assert glued.text not in merged and new.text in merged
    assert {"User's name is Ana", "User lives in Lisbon", "User has a dog named Rex"} <= set(merged)
