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
    ExtractedFact,
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


def test_the_prompt_holds_the_users_words_only() -> None:
    messages = build_extraction_messages("I live in Lisbon")
    assert [message.role for message in messages] == ["system", "user"]
    assert "any language" in messages[0].content and "I live in Lisbon" in messages[1].content
    assert len(messages[0].content) + len(messages[1].content) < 700  # the starter model reads it in seconds


def test_schema_is_up_to_three_slot_value_pairs() -> None:
    schema = EXTRACTION_SCHEMA.model_json_schema()
    fact = schema["$defs"]["ExtractedFact"]
    assert set(fact["required"]) == {"slot", "value"} and set(fact["properties"]) == {"slot", "value"}
    assert "home" in fact["properties"]["slot"]["enum"] and schema["properties"]["facts"]["maxItems"] == 3
    parsed = EXTRACTION_SCHEMA.model_validate_json('{"facts": [{"slot": "home", "value": "Lisbon"}]}')
    assert parsed.facts[0].value == "Lisbon"


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


def facts(*pairs: tuple[str, str]) -> ExtractionOutput:
    return ExtractionOutput.model_construct(facts=[ExtractedFact(slot=slot, value=value) for slot, value in pairs])  # type: ignore[arg-type]


def test_invalid_output_is_retried_once_then_succeeds() -> None:
    runner = ScriptedRunner(ModelError("bad json"), facts(("home", "Lisboa")))
    result = extract_with_model(runner, "Moro em Lisboa", "Nice!", source_id="msg-42", now=NOW)
    assert result.error is None and len(runner.calls) == 2
    [candidate] = result.candidates
    assert (candidate.key, candidate.text, candidate.value) == ("user.home", "User lives in Lisboa", "Lisboa")


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


def test_a_value_must_be_in_the_users_own_plain_words() -> None:
    runner = ScriptedRunner(
        facts(
            ("home", "Paris"),  # the assistant's city, not the user's words
            ("likes", "nursing"),  # the assistant's question turned into a fact
            ("allergy", "peanuts"),  # a copied example
            ("job", "nurse"),  # English: the rules read the job
        )
    )
    result = extract_with_model(
        runner,
        "I live in Lisbon and I work as a nurse.",
        "Do you enjoy nursing? Paris is lovely.",
        source_id="msg-42",
        now=NOW,
    )
    assert result.candidates == [] and len(result.rejected) == 4


def test_an_allergy_needs_a_word_of_allergy_in_the_users_sentence() -> None:
    # What the starter model answered for a pizza opinion, once it ran to the end.
    runner = ScriptedRunner(facts(("allergy", "pineapple")), facts(("allergy", "pineapple")))
    opinion = extract_with_model(runner, "I think pineapple belongs on pizza.", "", source_id="msg-42", now=NOW)
    said = extract_with_model(runner, "Pineapple gives me hives.", "", source_id="msg-42", now=NOW)
    assert opinion.candidates == [] and "no word of allergy" in opinion.rejected[0]
    assert [candidate.key for candidate in said.candidates] == ["user.allergy.pineapple"]


def test_any_language_is_offered_and_grounded_without_accents_or_case() -> None:
    runner = ScriptedRunner(facts(("home", "lisboa"), ("allergy", "Amêndoas"), ("job", "enfermeira")))
    text = "Olá! Moro em Lisboa, trabalho como enfermeira e sou alérgica a amendoas."
    result = extract_with_model(runner, text, "", source_id="msg-42", now=NOW)
    assert len(runner.calls) == 1
    assert [(c.key, c.text) for c in result.candidates] == [
        ("user.home", "User lives in Lisboa"),
        ("user.allergy.almond", "User is allergic to Amêndoas"),
        ("user.work.role", "User works as an enfermeira"),
    ]


def test_a_whole_statement_is_no_name_or_place() -> None:
    # What the starter model answered for this message in the user trial.
    runner = ScriptedRunner(facts(("name", "Moro em Lisboa"), ("home", "sou alérgica"), ("name", "ines")))
    result = extract_with_model(runner, "Moro em Lisboa e sou alérgica, ines", "", source_id="m", now=NOW)
    assert result.candidates == [] and len(result.rejected) == 3


@pytest.mark.parametrize(
    "text",
    [
        "A minha irmã mora em Madrid.",  # someone else's
        "Se eu morasse em Madrid, seria feliz.",  # a hypothetical
        "Não moro em Madrid.",  # negated
        "Moras em Madrid?",  # a question
    ],
)
def test_a_value_from_someone_elses_hypothetical_negated_or_asked_sentence_is_dropped(text: str) -> None:
    runner = ScriptedRunner(facts(("home", "Madrid")))
    assert extract_with_model(runner, text, "", source_id="msg-42", now=NOW).candidates == []


def test_an_english_safety_fact_no_rule_reads_is_kept_from_the_model() -> None:
    runner = ScriptedRunner(facts(("allergy", "kiwi")))
    result = extract_with_model(
        runner, "Kiwi and I are not on speaking terms, my mouth goes numb.", "", source_id="m", now=NOW
    )
    assert [(c.key, c.text) for c in result.candidates] == [("user.allergy.kiwi", "User is allergic to kiwi")]


def test_several_facts_are_judged_separately_and_secrets_are_dropped() -> None:
    runner = ScriptedRunner(
        facts(("plan", "yacht in Monaco"), ("goal", "learn Portuguese"), ("preference", "hunter22"))
    )
    text = "My goal is to learn Portuguese. My password is hunter22"
    result = extract_with_model(runner, text, "", source_id="msg-42", now=NOW)
    assert [c.key for c in result.candidates] == ["user.goal.learn_portuguese"]


def test_a_question_alone_is_not_sent_to_the_model() -> None:
    runner = ScriptedRunner()
    result = extract_with_model(runner, "Do I live in Lisbon?", "Yes.", source_id="msg-42", now=NOW)
    assert result.candidates == [] and result.error is None and runner.calls == []


def test_a_rule_needs_the_users_directive() -> None:
    runner = ScriptedRunner(facts(("rule", "answer in French")))
    assert extract_with_model(runner, "I answer in French at work", "", source_id="m", now=NOW).candidates == []
    runner = ScriptedRunner(facts(("rule", "answer in bullet points")))
    result = extract_with_model(runner, "Please always answer in bullet points", "", source_id="m", now=NOW)
    assert [(c.kind, c.text) for c in result.candidates] == [(Kind.PROCEDURAL, "Answer in bullet points")]


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
