"""Prompts for the background jobs that ask the model for structured output.

They are short on purpose: the starter model has 135M parameters and a 2048-token window,
and the extraction output is constrained by a JSON schema anyway. Whatever the model
returns is still filtered against the user's own words (see learning/model_extraction.py).
"""

from __future__ import annotations

EXTRACTION_SYSTEM_PROMPT = """\
Find facts the user states about themselves, in any language.
slot is one of: name, home, job, employer, allergy, health, diet, pet, likes, dislikes,
preference, plan, goal, rule (how the assistant should answer).
value is copied from the user's words: a name, a city, a food, a job.
Ignore questions, hypotheticals and other people.
Example: the user said "I'm Joe, I live in Leeds and I can't eat fish" ->
{"facts": [{"slot": "name", "value": "Joe"}, {"slot": "home", "value": "Leeds"}, {"slot": "allergy", "value": "fish"}]}
Nothing about the user: {"facts": []}"""

_MAX_USER_CHARS = 1200


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def extraction_user_prompt(user_text: str) -> str:
    return f"The user said:\n{_clip(user_text, _MAX_USER_CHARS)}\n\nFacts as JSON:"


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
