"""The model's extraction: JSON-schema constrained LLM extraction for what the rules do not read.

The model's items are kept only when they are grounded in the user's own words: nothing about the
assistant, nothing in the assistant's words, no secrets, no rules the user did not give. When the
rules can read a model statement, their key and wording win.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, Field, field_validator

from assistant.errors import AssistantError
from assistant.learning.candidate import Candidate, dedupe, text_identity
from assistant.learning.explicit import extract_explicit
from assistant.learning.model_keys import normalize_key
from assistant.learning.rules.sentences import is_question, split_sentences
from assistant.learning.schema import rule_only
from assistant.llm.runner import ChatMessage, GenerationCancelled, GenerationTimedOut
from assistant.memory.dates import resolve_dates
from assistant.memory.language import content_stems, normalize_text, stem, to_first_person, to_third_person, upper_first
from assistant.memory.redact import redact
from assistant.memory.types import Kind, Origin

# Caps on one message's extraction. Measured with the starter model (SmolLM2-135M, 2 threads,
# shared machine): ~0.4 s per grammar-constrained token against ~0.2 s unconstrained, after ~20 s
# reading a 300-token prompt; 160 tokens with a retry took minutes. The rules' facts are saved
# before the model runs, so a cut-short extraction loses nothing the rules read.
EXTRACTION_MAX_TOKENS = 120
EXTRACTION_SECONDS = 45.0


class ExtractedItem(BaseModel):
    kind: Literal["semantic", "preference", "procedural", "episodic"] = Field(
        description="semantic: a fact about the user; preference: how they like things; procedural: a rule for "
        "the assistant; episodic: a notable event"
    )
    # No length limits in the schema: llama.cpp turns them into huge, slow grammars. Long or
    # empty text is dropped by the filter instead.
    key: str | None = Field(description="a short slot name such as user.home, or null")
    text: str = Field(description="one short sentence starting with 'User'")
    importance: float = Field(description="0 to 1")

    @field_validator("importance")
    @classmethod
    def _clamp(cls, value: float) -> float:
        return min(1.0, max(0.0, value))


class ExtractionOutput(BaseModel):
    items: list[ExtractedItem] = Field(max_length=3)


EXTRACTION_SCHEMA = ExtractionOutput


@dataclass
class ExtractionResult:
    candidates: list[Candidate] = field(default_factory=list)
    error: str | None = None
    rejected: list[str] = field(default_factory=list)  # model items dropped, with the reason, for logs


class JsonRunner(Protocol):
    def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: type[ExtractionOutput],
        *,
        max_tokens: int = ...,
        background: bool = ...,
        seconds: float | None = ...,
    ) -> ExtractionOutput: ...


def build_extraction_messages(user_text: str, assistant_text: str, known_keys: Sequence[str] = ()) -> list[ChatMessage]:
    from assistant.llm.prompts import EXTRACTION_SYSTEM_PROMPT, extraction_user_prompt

    return [
        ChatMessage("system", EXTRACTION_SYSTEM_PROMPT),
        ChatMessage("user", extraction_user_prompt(user_text, assistant_text, list(known_keys))),
    ]


# Stems of the words that glue a statement together ("User lives in ..."): not content.
GLUE_STEMS = {
    stem(word)
    for word in (
        "user",
        "users",
        "likes",
        "like",
        "loves",
        "love",
        "prefers",
        "prefer",
        "preference",
        "lives",
        "live",
        "living",
        "works",
        "work",
        "working",
        "has",
        "have",
        "having",
        "is",
        "named",
        "called",
        "name",
        "favourite",
        "favorite",
        "enjoys",
        "enjoy",
        "dislikes",
        "dislike",
        "hates",
        "wants",
        "want",
        "needs",
        "need",
        "plans",
        "plan",
        "planning",
        "allergic",
        "allergy",
        "from",
        "as",
        "job",
        "based",
        "born",
        "age",
        "old",
        "years",
        "year",
        "goal",
        "goals",
        "tries",
        "trying",
        "uses",
        "use",
        "feels",
        "feel",
        "usually",
        "often",
        "answer",
        "answers",
        "reply",
        "replies",
        "responses",
        "their",
        "them",
        "own",
        "currently",
        "recently",
        "also",
        "been",
    )
}


def _grounding_problem(text: str, user_text: str, assistant_text: str) -> str | None:
    """Why a model statement is not supported by the user's own words (None when it is)."""
    item_stems = content_stems(text) - GLUE_STEMS
    if not item_stems:
        return "says nothing specific"
    user_stems = content_stems(user_text)
    # Glue words count here: "User enjoys nursing" after "Do you enjoy nursing?" is the assistant's idea.
    if (content_stems(text) - {"user"}) & (content_stems(assistant_text) - user_stems):
        return "uses the assistant's words"
    novel = item_stems - user_stems
    if len(novel) == len(item_stems):
        return "not in the user's message"
    if len(novel) > max(1, len(item_stems) // 4):
        return "mostly not in the user's message"
    return None


_AI_SUBJECT = re.compile(r"(?i)^(?:the\s+)?(?:assistant|ai|bot|model|you|chatbot|system|i am an ai|as an ai)\b")
_DIRECTIVE_WORDS = re.compile(r"(?i)\b(?:always|never|please|from now on|don't|do not|stop|make sure)\b")
_MAX_STATEMENT_WORDS = 25
_SELF_REFERENCE = re.compile(
    r"(?i)\b(?:i|i'm|im|i've|i'd|i'll|me|my|mine|myself|we|we're|our|us|always|never|please|don't|do not)\b"
)


def _statements(text: str) -> list[str]:
    """A model item often packs several sentences; each must stand on its own."""
    text = normalize_text(text).replace("\n", " ").strip().strip("\"'")
    pieces = re.split(r"(?<=[.!?;])\s+|,?\s+and\s+(?=User\b)", text)
    return [piece.strip().rstrip(" .!;") for piece in pieces if piece.strip().rstrip(" .!;")][:3]


def _statement_candidate(
    statement: str, item: ExtractedItem, context: tuple[str, str, str, datetime], rejected: list[str]
) -> Candidate | None:
    user_text, assistant_text, source_id, now = context
    if _AI_SUBJECT.match(statement):
        rejected.append(f"about the assistant: {statement!r}")
        return None
    if re.match(r"(?i)^(?:i|i'm|i've|my|me)\b", statement):
        statement = to_third_person(statement)
    if len(statement.split()) > _MAX_STATEMENT_WORDS:
        rejected.append(f"too long: {statement[:60]!r}")
        return None
    if redact(statement).found:
        rejected.append("contains a secret")
        return None
    if problem := _grounding_problem(statement, user_text, assistant_text):
        rejected.append(f"{problem}: {statement!r}")
        return None
    kind = Kind(item.kind)
    if kind is Kind.PROCEDURAL and not _DIRECTIVE_WORDS.search(user_text):
        rejected.append(f"not a rule the user gave: {statement!r}")
        return None
    if kind is not Kind.PROCEDURAL and not re.match(r"(?i)^user\b", statement):
        rejected.append(f"not about the user: {statement!r}")
        return None
    # The rules know the key scheme: when they can read the statement, their key and wording win.
    ruled = extract_explicit(to_first_person(statement), now=now, source_id=source_id)
    positive = [candidate for candidate in ruled if not candidate.retracts]
    if len(positive) == 1 and kind is not Kind.PROCEDURAL:
        return replace(positive[0], origin=Origin.EXTRACTED, confidence=0.6, importance=positive[0].importance)
    key = normalize_key(item.key, statement) if kind in (Kind.SEMANTIC, Kind.PREFERENCE) else None
    if key is not None and rule_only(key):
        key = None  # a rule-family key the rules could not confirm: the model likely guessed it
    return Candidate(
        kind=kind,
        text=upper_first(statement),
        key=key,
        importance=round(min(0.9, max(0.1, item.importance)), 3),
        confidence=0.5,
        origin=Origin.EXTRACTED,
        source_ids=[source_id] if source_id else [],
        value=None,
    )


def extract_with_model(
    runner: JsonRunner,
    user_text: str,
    assistant_text: str,
    *,
    source_id: str,
    now: datetime,
    known_keys: Sequence[str] = (),
    max_tokens: int = EXTRACTION_MAX_TOKENS,
    seconds: float = EXTRACTION_SECONDS,
) -> ExtractionResult:
    """Ask the model for memories in this exchange; keep only what the user's words support.

    Retries once when the model's output is invalid; a second failure, or a generation still
    running after `seconds`, comes back as `error` (the raw message is still in the episodic
    log, and the rules' facts are saved already). GenerationCancelled — the user
    started typing — propagates so the caller's job can run again later.
    """
    user_clean = redact(normalize_text(user_text)).text
    assistant_clean = redact(normalize_text(assistant_text)).text
    if not user_clean or (is_question(user_clean) and len(split_sentences(user_clean)) == 1):
        return ExtractionResult()
    if not _SELF_REFERENCE.search(user_clean):
        return ExtractionResult()  # nothing about the user can be grounded in it; spare the model
    messages = build_extraction_messages(resolve_dates(user_clean, now), assistant_clean, known_keys)
    output: ExtractionOutput | None = None
    error: str | None = None
    for attempt in range(2):
        try:
            output = runner.complete_json(
                messages, EXTRACTION_SCHEMA, max_tokens=max_tokens, background=True, seconds=seconds
            )
            break
        except GenerationCancelled:
            raise
        except GenerationTimedOut as failure:
            error = str(failure)
            break  # a retry would take as long again
        except AssistantError as failure:
            error = str(failure)
            if attempt == 0:
                messages = [
                    *messages,
                    ChatMessage(
                        "user", 'That was not valid. Reply with one JSON object like {"items": []} and nothing else.'
                    ),
                ]
    if output is None:
        return ExtractionResult(error=f"memory extraction failed after a retry: {error}")
    rejected: list[str] = []
    candidates: list[Candidate] = []
    context = (user_clean, assistant_clean, source_id, now)
    for item in output.items:
        statements = _statements(item.text)
        if not statements:
            rejected.append("empty text")
        for statement in statements:
            candidate = _statement_candidate(statement, item, context, rejected)
            if candidate is not None:
                candidates.append(candidate)
    return ExtractionResult(candidates=dedupe(candidates), rejected=rejected)


def merge_candidates(explicit: Sequence[Candidate], model: Sequence[Candidate]) -> list[Candidate]:
    """Rules win on the same key or the same statement; duplicates collapse."""
    return dedupe([*explicit, *model_additions(explicit, model)])


def model_additions(explicit: Sequence[Candidate], model: Sequence[Candidate]) -> list[Candidate]:
    """The model's candidates that say something the rules' candidates do not."""
    explicit_keys = {candidate.key for candidate in explicit if candidate.key}
    explicit_texts = {text_identity(candidate.text) for candidate in explicit}
    # A model fact made only of words the rules' facts already hold restates them, often glued
    # together ("User lives in Lisbon and I have a dog named Rex").
    said_by_rules = {word for candidate in explicit for word in content_stems(candidate.text)}
    return dedupe(
        [
            candidate
            for candidate in model
            if not (candidate.key and candidate.key in explicit_keys)
            and text_identity(candidate.text) not in explicit_texts
            and not (said_by_rules and content_stems(candidate.text) <= said_by_rules)
        ]
    )
