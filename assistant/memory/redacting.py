"""Redaction at the sinks: the record-level cleaning every write path runs before it stores text.

The doors (chat, the extractor) redact too, so they can tell the user and keep a secret from
the model; these functions are what makes it an invariant: a memory row, a logged message,
a conversation title and a restored export record hold no secret whichever way they came in.
Redacting twice changes nothing (placeholders are left alone), so a door and a sink may both run.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from typing import Any

from assistant.memory.redact import redact
from assistant.memory.types import Memory, Message

# Export records' columns that hold text someone typed (or that quotes it), by record type. Keys
# and audit entries are the app's own words; their ids (32 hex digits) would look like tokens.
TEXT_COLUMNS = {
    "message": ("content", "speaker"),
    "memory": ("text", "search_text", "context", "speaker"),
    "conversation": ("title",),
}


def redacted_text(text: str, found: Counter[str] | None = None) -> str:
    result = redact(text)
    if found is not None:
        found.update(result.found)
    return result.text


def _optional(text: str | None, found: Counter[str] | None) -> str | None:
    return redacted_text(text, found) if text else text


def redacted_memory(memory: Memory, found: Counter[str] | None = None) -> Memory:
    """The memory with secrets replaced in its text and quoted context (the same object if it held none)."""
    text = redacted_text(memory.text, found)
    context = _optional(memory.context, found)
    if text == memory.text and context == memory.context:
        return memory
    return replace(memory, text=text, context=context)


def redacted_message(message: Message, found: Counter[str] | None = None) -> Message:
    content = redacted_text(message.content, found)
    speaker = _optional(message.speaker, found)
    if content == message.content and speaker == message.speaker:
        return message
    return replace(message, content=content, speaker=speaker)


def redacted_document(document: dict[str, Any], found: Counter[str] | None = None) -> dict[str, Any]:
    """A profile document with every string in it redacted, however deeply nested."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return redacted_text(value, found)
        if isinstance(value, list):
            return [clean(item) for item in value]
        if isinstance(value, dict):
            return {name: clean(item) for name, item in value.items()}
        return value

    return {name: clean(value) for name, value in document.items()}


def redacted_record(kind: str, row: dict[str, Any], found: Counter[str] | None = None) -> dict[str, Any]:
    """An export record about to be restored, with its text columns redacted."""
    cleaned = dict(row)
    for name in TEXT_COLUMNS.get(kind, ()):
        value = cleaned.get(name)
        if isinstance(value, str) and value:
            cleaned[name] = redacted_text(value, found)
    if kind == "profile" and isinstance(cleaned.get("document"), str):
        try:
            document = json.loads(cleaned["document"])
        except json.JSONDecodeError:
            cleaned["document"] = redacted_text(cleaned["document"], found)
        else:
            if isinstance(document, dict):
                cleaned["document"] = json.dumps(redacted_document(document, found), ensure_ascii=False)
    return cleaned
