"""One conversation of a Claude data export (`conversations.json`).

Each conversation has a `uuid`, a `name`, `created_at` and its `chat_messages` in order:
`sender` is "human" or "assistant", the text is in `content` blocks (those of type "text";
tool use and results are left out) or, in older exports, in `text`. Files the user attached
come with their `extracted_content`: that is data the user pasted, not the user's own words,
so it is kept quoted (learning reads only what the user wrote, see learning/pasted.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from assistant.memory.exports.model import ImportedConversation, ImportedMessage, clean_text, in_order
from assistant.memory.formats import parse_time, stable_id

SOURCE = "Claude"
ROLES = {"human": "user", "assistant": "assistant"}


def looks_like(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("chat_messages"), list)


def parse(entry: Any) -> ImportedConversation:
    if not isinstance(entry, dict):
        raise ValueError("a conversation must be a JSON object")
    conversation_id = entry.get("uuid")
    if not isinstance(conversation_id, str) or not conversation_id.strip():
        raise ValueError("a conversation without a 'uuid'")
    chat = entry.get("chat_messages")
    if not isinstance(chat, list):
        raise ValueError(f"conversation {conversation_id}: 'chat_messages' must be a list")
    started = iso_time(entry.get("created_at"))
    name = entry.get("name")
    conversation = ImportedConversation(
        id=conversation_id,
        title=clean_text(name).strip() or None if isinstance(name, str) else None,
        created_at=started,
        source=SOURCE,
    )
    when = started or datetime(1970, 1, 1, tzinfo=UTC)
    messages: list[ImportedMessage] = []
    for number, message in enumerate(chat):
        if not isinstance(message, dict) or message.get("sender") not in ROLES:
            conversation.skipped += 1
            continue
        text = message_text(message)
        if not text:
            continue
        when = iso_time(message.get("created_at")) or when
        uuid = message.get("uuid")
        own_id = uuid if isinstance(uuid, str) else f"#{number}"
        role = ROLES[message["sender"]]
        messages.append(ImportedMessage(stable_id("claude", conversation_id, own_id), role, clean_text(text), when))
    conversation.messages = in_order(messages)
    return conversation


def message_text(message: dict[str, Any]) -> str:
    blocks = message.get("content")
    texts = []
    if isinstance(blocks, list):
        texts = [
            block["text"]
            for block in blocks
            if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)
        ]
    text = "\n\n".join(texts).strip()
    if not text and isinstance(message.get("text"), str):
        text = message["text"].strip()
    pasted = [attachment_text(item) for item in message.get("attachments") or [] if isinstance(item, dict)]
    return "\n\n".join(part for part in [text, *pasted] if part)


def attachment_text(attachment: dict[str, Any]) -> str:
    """An attached file's extracted text, quoted line by line: pasted data, not the user's words."""
    content = attachment.get("extracted_content")
    if not isinstance(content, str) or not content.strip():
        return ""
    name = attachment.get("file_name") if isinstance(attachment.get("file_name"), str) else "a file"
    lines = [f"> [attached: {name}]", *(f"> {line}" for line in content.strip().splitlines())]
    return "\n".join(lines)


def iso_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None
