"""Prompts for the background jobs that ask the model for structured output.

They are short on purpose: the starter model has 135M parameters and a 2048-token window,
and the extraction output is constrained by a JSON schema anyway. Whatever the model
returns is still filtered against the user's own words (see learning/model_extraction.py).
"""

from __future__ import annotations

EXTRACTION_SYSTEM_PROMPT = """\
You extract memories about the USER from one chat exchange.
Only keep facts the USER states about themselves: their name, home, work, family, health,
likes, dislikes, preferences, plans and goals, and rules they give for how you should answer.
Never use the ASSISTANT's words as facts. Ignore questions, jokes, hypotheticals and what
other people said. Never include passwords, keys or account numbers.
Write each memory as one short sentence that starts with "User", using the user's own words.
kind is one of: semantic (a fact), preference (how they like things), procedural (a rule for
the assistant), episodic (a notable event).
key is a short slot such as user.home, user.work.role, user.likes.hiking, or null.
importance is a number from 0 to 1.
Reply with JSON only, like:
{"items": [{"kind": "semantic", "key": "user.home", "text": "User lives in Lisbon", "importance": 0.8}]}
If the user said nothing about themselves, reply {"items": []}."""

_MAX_USER_CHARS = 2000
_MAX_ASSISTANT_CHARS = 600


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def extraction_user_prompt(user_text: str, assistant_text: str, known_keys: list[str]) -> str:
    parts = [f"USER said:\n{_clip(user_text, _MAX_USER_CHARS)}"]
    if assistant_text.strip():
        parts.append(f"ASSISTANT replied (context only, not facts):\n{_clip(assistant_text, _MAX_ASSISTANT_CHARS)}")
    if known_keys:
        parts.append("Keys already in use: " + ", ".join(sorted(set(known_keys))[:30]))
    parts.append("Memories about the USER as JSON:")
    return "\n\n".join(parts)


COMPRESSION_SYSTEM_PROMPT = """\
You summarise a past conversation for the assistant's long-term memory.
Write two or three short sentences about what the USER said: facts about them, events with
their dates, plans, people and places, using the names and words from the conversation.
Do not invent anything, do not give advice, do not repeat yourself."""

# Prompt evaluation cannot be interrupted: a short transcript bounds how long a chat waits.
_MAX_TRANSCRIPT_CHARS = 1200


def compression_user_prompt(lines: list[str]) -> str:
    transcript, used = [], 0
    for line in lines:
        line = _clip(line, 300)
        if used + len(line) > _MAX_TRANSCRIPT_CHARS:
            break
        transcript.append(line)
        used += len(line) + 1
    return "Conversation:\n" + "\n".join(transcript) + "\n\nSummary:"
