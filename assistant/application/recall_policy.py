"""Which recalled memories are worth a turn's prompt tokens.

Recall always returns its best k; below these cosine similarities to the message a memory is
noise that costs prompt tokens (and prompt evaluation time) without helping the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.memory.language import content_stems, words
from assistant.memory.message_log import CONTEXT_CHARS
from assistant.memory.types import Kind, Memory, RecallHit

# Kinds recalled as "relevant facts"; episodic messages go to "past conversations".
FACT_KINDS = (Kind.SEMANTIC, Kind.PREFERENCE, Kind.SUMMARY)
RECALL_KINDS = (Kind.SEMANTIC, Kind.PREFERENCE, Kind.SUMMARY, Kind.EPISODIC)
# Set on all-MiniLM-L6-v2: "Where do I live?" meets "User lives in Lisbon" at 0.33, "How can I
# train my dog?" meets "User has a dog named Rex" at 0.26, unrelated facts stay below 0.15.
FACT_MIN_SIMILARITY = 0.2
EPISODE_MIN_SIMILARITY = 0.3
# A message that says nothing about the user ("Why does bread go stale?") gets only memories
# clearly about it: a loosely related note ("User works at a bakery", 0.27) costs prompt tokens
# on every such turn, and a small model talks about the note instead of answering. A name the
# memory shares with the message makes it about the user again ("Is Rex too old to swim?").
GENERAL_FACT_MIN_SIMILARITY = 0.35
GENERAL_EPISODE_MIN_SIMILARITY = 0.45
# Without vectors (a chat while the embedder still loads) there is no similarity to go by: a
# memory is worth quoting when full text ranked it near the top and it shares a content word
# with the message.
TEXT_ONLY_MIN_RELEVANCE = 0.5
FIRST_PERSON = frozenset("i i'm i've i'd i'll me my mine myself we we're we've our ours us".split())


def about_the_user(text: str) -> bool:
    """Does the message speak of its writer ("my dog", "I want")?"""
    return any(word in FIRST_PERSON for word in words(text))


def shares_a_name(memory_text: str, text: str) -> bool:
    """A capitalised word of the memory (past its first word: "Rex", "Lisbon") is in the text."""
    names = {word.casefold() for word in re.findall(r"(?<=\s)[A-Z][\w'-]+", memory_text)}
    return bool(names.intersection(words(text)))


def min_similarity(hit: RecallHit, query: str, personal: bool) -> float:
    """How close a recalled memory must be to the message to be worth its prompt tokens."""
    episode = hit.memory.kind == Kind.EPISODIC
    if personal or shares_a_name(hit.memory.text, query):
        return EPISODE_MIN_SIMILARITY if episode else FACT_MIN_SIMILARITY
    return GENERAL_EPISODE_MIN_SIMILARITY if episode else GENERAL_FACT_MIN_SIMILARITY


def assistant_words(memory: Memory) -> bool:
    """Is this a message the assistant wrote (a model's reply, never a fact about the user)?"""
    return memory.kind == Kind.EPISODIC and memory.speaker == "assistant"


def whose_words(episodes: Sequence[RecallHit]) -> list[RecallHit]:
    """The user's words first; an assistant reply only with the message it answered.

    A reply whose question is not known is dropped, and so is one whose question is quoted
    anyway: the user's own words say it, and a small model's earlier reply (right or wrong)
    must not come back as what was said. The rest are quoted as exchanges (context.py).
    """
    quoted = {f"{h.memory.speaker}: {h.memory.text[:CONTEXT_CHARS]}" for h in episodes if not assistant_words(h.memory)}
    users = [h for h in episodes if not assistant_words(h.memory)]
    replies = [h for h in episodes if assistant_words(h.memory) and h.memory.context and h.memory.context not in quoted]
    return users + replies


def worth_quoting(
    hits: Sequence[RecallHit],
    query: str,
    *,
    recall_k: int,
    in_profile: set[str],
    user_message_id: str | None,
    text_only: bool = False,
) -> tuple[list[RecallHit], list[RecallHit]]:
    """The facts and the past-conversation excerpts to offer the prompt, best first.

    Facts already in the profile are skipped, and so is this very message (stored while recall
    ran, so it may or may not be among the hits). Excerpts of this conversation still in the
    window are skipped later, by the prompt assembly.
    """
    personal = about_the_user(query)
    asked = content_stems(query)

    def close_enough(hit: RecallHit) -> bool:
        if text_only:
            return hit.relevance >= TEXT_ONLY_MIN_RELEVANCE and bool(asked & content_stems(hit.memory.text))
        return hit.similarity >= min_similarity(hit, query, personal)

    facts = [h for h in hits if h.memory.kind in FACT_KINDS and h.memory.id not in in_profile and close_enough(h)]
    episodes = [
        h
        for h in hits
        if h.memory.kind == Kind.EPISODIC and user_message_id not in h.memory.sources and close_enough(h)
    ]
    facts = facts[:recall_k]
    return facts, whose_words(episodes)[: max(2, recall_k // 2)]
