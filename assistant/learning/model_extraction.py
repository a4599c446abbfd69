"""The model's extraction: JSON-schema constrained LLM extraction for what the rules do not read.

The model names up to three facts as a slot (home, allergy, plan, ...; schema.MODEL_SLOTS) and a
value in the user's own words, in any language. A fact is kept only when its value is in the
user's text (accents and case aside), in a plain statement of their own (not a question, a
hypothetical, someone else's, or negated); the schema gives its key and wording. When the rules
can read the statement, their key and wording win.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from assistant.errors import AssistantError
from assistant.learning.candidate import Candidate, dedupe, read_from_user, text_identity
from assistant.learning.explicit import extract_explicit
from assistant.learning.rules.family import RELATION_PATTERN
from assistant.learning.rules.reactions import allergens_named
from assistant.learning.rules.sentences import is_question, split_sentences
from assistant.learning.safety_net import speaks_of_the_body
from assistant.learning.schema import MODEL_SLOTS, fact_type, importance_of, phrase
from assistant.llm.runner import ChatMessage, GenerationCancelled, GenerationTimedOut
from assistant.memory.dates import resolve_dates
from assistant.memory.language import content_stems, normalize_text, singular, slug, to_first_person, upper_first
from assistant.memory.redact import redact
from assistant.memory.types import Kind, Origin

# Caps on one message's extraction. The output is at most three {slot, value} pairs (~50
# tokens); the prompt is short and carries no assistant reply (the value must be the user's own
# words anyway): the grammar-constrained call of the starter model takes seconds, not minutes
# (benchmarks/extraction_quality.py --model-extraction prints its time per message). The rules'
# facts are saved before the model runs, so a cut-short extraction loses nothing the rules read.
EXTRACTION_MAX_TOKENS = 64
EXTRACTION_SECONDS = 45.0

Slot = Literal[
    "name",
    "home",
    "job",
    "employer",
    "allergy",
    "health",
    "diet",
    "pet",
    "likes",
    "dislikes",
    "preference",
    "plan",
    "goal",
    "rule",
]


class ExtractedFact(BaseModel):
    # No length limits in the schema: llama.cpp turns them into huge, slow grammars. A long
    # value is dropped by the filter instead.
    slot: Slot
    value: str


class ExtractionOutput(BaseModel):
    facts: list[ExtractedFact] = Field(max_length=3)


EXTRACTION_SCHEMA = ExtractionOutput


@dataclass
class ExtractionResult:
    candidates: list[Candidate] = field(default_factory=list)
    error: str | None = None
    rejected: list[str] = field(default_factory=list)  # model facts dropped, with the reason, for logs


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


def build_extraction_messages(user_text: str) -> list[ChatMessage]:
    from assistant.llm.prompts import EXTRACTION_SYSTEM_PROMPT, extraction_user_prompt

    return [ChatMessage("system", EXTRACTION_SYSTEM_PROMPT), ChatMessage("user", extraction_user_prompt(user_text))]


def fold(text: str) -> str:
    """Lowercase words without accents, single-spaced: how a value is looked for in the user's text."""
    decomposed = unicodedata.normalize("NFKD", normalize_text(text).casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.findall(r"[^\W_]+", bare))


def _said_in(value: str, user_text: str) -> str | None:
    """The user's sentence that holds `value` (accents, case and plurals aside), or None."""
    wanted = fold(value)
    if not wanted:
        return None
    singular_wanted = " ".join(singular(word) for word in wanted.split())
    for sentence in split_sentences(user_text):
        said = fold(sentence)
        singular_said = " ".join(singular(word) for word in said.split())
        if f" {wanted} " in f" {said} " or f" {singular_wanted} " in f" {singular_said} ":
            return sentence
    return None


# The sentence a value comes from must be the user's own plain statement.
_NOT_PLAIN = re.compile(
    r"(?i)^\s*(?:if|what if|imagine|suppose|pretend|se|si|wenn|falls)\b|\b(?:would|wish|dreamt|dreamed)\b"
)
_SOMEONE_ELSE = re.compile(
    r"(?i)\b(?:my|our|mi|mis|meu|minha|meus|minhas|mon|ma|mes|mein|meine|mio|mia)\s+(?:"
    + RELATION_PATTERN
    + r"|friend|colleague|co-?worker|boss|neighbou?r|flatmate|roommate|irm[ãa]o|irm[ãa]|m[ãa]e|pai|filh[oa]|"
    r"marido|mulher|amig[oa]|herman[oa]|madre|padre|hij[oa]|espos[oa]|amig[oa]|fr[èe]re|s[œo]eur|m[èe]re|p[èe]re|"
    r"ami|amie|bruder|schwester|mutter|vater|freund|freundin|fratello|sorella|amico|amica)\b|"
    r"\b(?:he|she|they|ele|ela|él|ella|il|elle|er|sie|lui|lei)\s+(?:is|lives|works|has|mora|vive|trabalha|tem|"
    r"trabaja|tiene|habite|travaille|a|wohnt|arbeitet|hat|abita|lavora|ha)\b"
)
_NEGATION = re.compile(r"(?i)\b(?:not|n't|never|no longer|não|nao|nunca|jamais|pas|nicht|kein|keine|non|nem|ni)\b")
# Slots whose value the English rules read better than the starter model guesses it: in an English
# sentence only the rules give them (the model's "home: Paris" for "I visited Paris" would replace
# the user's home); in any other language the model's grounded value is kept.
_RULES_READ_IN_ENGLISH = frozenset({"name", "home", "job", "employer", "diet"})
_ENGLISH = re.compile(
    r"(?i)\b(?:i|i'm|i've|my|me|the|and|is|am|are|to|of|in|at|with|for|so|but|have|it|you|was|this|that)\b"
)
_DIRECTIVE_WORDS = re.compile(
    r"(?i)\b(?:always|never|please|from now on|don't|do not|stop|make sure|sempre|nunca|por favor|siempre|"
    r"toujours|jamais|immer|sempre)\b"
)
_MAX_VALUE_WORDS = 6
# A name, a place, a job or a food holds no verb or pronoun of the sentence around it: "Moro em
# Lisboa" is a whole statement, not a name. (Plans, goals, likes and rules are phrases: exempt.)
_THING_SLOTS = frozenset({"name", "home", "job", "employer", "allergy", "health", "diet", "pet"})
_STATEMENT_WORDS = frozenset(
    "i im am is are live lives living my me we our moro vivo sou estou tenho trabalho chamo eu meu minha "
    "soy estoy tengo trabajo llamo yo mi je suis habite ai moi mon ich bin wohne lebe habe heisse heiße mein "
    "sono abito ho chiamo io".split()
)


def looks_english(sentence: str) -> bool:
    words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", sentence)
    hits = len(_ENGLISH.findall(sentence))
    return hits >= 2 or (hits >= 1 and len(words) <= 4)


def _slot_key(slot: str, value: str) -> str:
    template = MODEL_SLOTS[slot]
    named = allergens_named(value) if slot == "allergy" else []
    if len(named) == 1:
        part = named[0].key  # "amendoim" and "peanuts" are one allergy, whichever language said it
    else:
        bare = fold(value)
        part = slug(" ".join(singular(word) for word in bare.split()) if "{thing}" in template else bare, max_words=4)
    return re.sub(r"\{\w+\}", part, template)


def _fact_candidate(
    fact: ExtractedFact, user_text: str, source_id: str, now: datetime, rejected: list[str]
) -> Candidate | None:
    value = " ".join(normalize_text(fact.value).split()).strip(" .,;:!?\"'")
    if not value or len(value.split()) > _MAX_VALUE_WORDS:
        rejected.append(f"{fact.slot}: empty or too long: {fact.value[:60]!r}")
        return None
    if redact(value).found:
        rejected.append(f"{fact.slot}: a secret")
        return None
    if fact.slot in _THING_SLOTS and (
        set(fold(value).split()) & _STATEMENT_WORDS
        or (fact.slot == "name" and not all(word[:1].isupper() for word in value.split()))
    ):
        rejected.append(f"{fact.slot}: a statement, not a {fact.slot}: {value!r}")
        return None
    sentence = _said_in(value, user_text)
    if sentence is None:
        rejected.append(f"{fact.slot}: not in the user's words: {value!r}")
        return None
    if is_question(sentence) or _NOT_PLAIN.search(sentence) or _SOMEONE_ELSE.search(sentence):
        rejected.append(f"{fact.slot}: not the user's own plain statement: {sentence!r}")
        return None
    before = fold(sentence).split(fold(value).split()[0], 1)[0].split()[-4:]
    if _NEGATION.search(" ".join(before)) or re.search(r"(?i)n't\b", " ".join(sentence.split()[:8])):
        rejected.append(f"{fact.slot}: negated: {sentence!r}")
        return None
    if fact.slot in ("allergy", "health") and not speaks_of_the_body(sentence):
        # The starter model said "allergy: pineapple" for "I think pineapple belongs on pizza".
        rejected.append(f"{fact.slot}: no word of allergy or health in {sentence!r}")
        return None
    if fact.slot == "rule":
        if not _DIRECTIVE_WORDS.search(sentence):
            rejected.append(f"rule: not a rule the user gave: {value!r}")
            return None
        return _candidate(Kind.PROCEDURAL, upper_first(value), None, value, 0.8, source_id)
    if fact.slot in _RULES_READ_IN_ENGLISH and looks_english(sentence):
        rejected.append(f"{fact.slot}: English, where the rules read it: {value!r}")
        return None
    key = _slot_key(fact.slot, value)
    text = phrase(key, value, for_model=True)
    if not text:
        rejected.append(f"{fact.slot}: no wording for {key!r}")
        return None
    # The rules know the key scheme: when they can read the statement, their key and wording win.
    ruled = [c for c in extract_explicit(to_first_person(text), now=now, source_id=source_id) if not c.retracts]
    if len(ruled) == 1:
        return replace(ruled[0], origin=Origin.EXTRACTED, confidence=0.6, value=ruled[0].value or value)
    row = fact_type(key)
    kind = row.kind if row else Kind.SEMANTIC
    return _candidate(kind, text, key, value, importance_of(key), source_id)


def _candidate(kind: Kind, text: str, key: str | None, value: str, importance: float, source_id: str) -> Candidate:
    return read_from_user(kind, text, key, value, importance=importance, confidence=0.5, source_id=source_id)


def extract_with_model(
    runner: JsonRunner,
    user_text: str,
    assistant_text: str = "",
    *,
    source_id: str,
    now: datetime,
    max_tokens: int = EXTRACTION_MAX_TOKENS,
    seconds: float = EXTRACTION_SECONDS,
) -> ExtractionResult:
    """Ask the model for facts in the user's message, in any language; keep only those whose value
    the user's own words hold (accents and case aside), said plainly, about themselves.

    The assistant's reply is not shown to the model: a value must be in the user's words, so the
    reply could only mislead it, and it would double the prompt the model reads first.
    Retries once when the model's output is invalid; a second failure, or a generation still
    running after `seconds`, comes back as `error` (the raw message is still in the episodic
    log, and the rules' facts are saved already). GenerationCancelled — the user
    started typing — propagates so the caller's job can run again later.
    """
    del assistant_text  # see above
    user_clean = redact(normalize_text(user_text)).text
    sentences = split_sentences(user_clean)
    if not user_clean or all(is_question(sentence) for sentence in sentences):
        return ExtractionResult()  # a question states nothing; spare the model
    messages = build_extraction_messages(resolve_dates(user_clean, now))
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
                        "user", 'That was not valid. Reply with one JSON object like {"facts": []} and nothing else.'
                    ),
                ]
    if output is None:
        return ExtractionResult(error=f"memory extraction failed after a retry: {error}")
    rejected: list[str] = []
    candidates = [
        candidate
        for fact in output.facts
        if (candidate := _fact_candidate(fact, user_clean, source_id, now, rejected)) is not None
    ]
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
