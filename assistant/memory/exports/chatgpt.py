"""One conversation of a ChatGPT data export (`conversations.json`, or its shards).

Each conversation is a tree: `mapping` holds its nodes by id, each with its `message`, its
`parent` and its `children`. Editing a message or regenerating a reply starts a new branch;
the branch the user kept ends at `current_node`, so the conversation is read from there back
through the `parent` links. Hidden nodes (the system prompt, custom instructions, anything
marked `is_visually_hidden_from_conversation`), tool calls and tool output are left out, and
of each message only its text parts are kept (images and files are not text).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from assistant.memory.exports.model import ImportedConversation, ImportedMessage, clean_text, in_order
from assistant.memory.formats import stable_id

SOURCE = "ChatGPT"
TEXT_CONTENT = ("text", "multimodal_text")


def looks_like(entry: Any) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("mapping"), dict)


def parse(entry: Any) -> ImportedConversation:
    if not isinstance(entry, dict):
        raise ValueError("a conversation must be a JSON object")
    conversation_id = entry.get("conversation_id") or entry.get("id")
    if not isinstance(conversation_id, str) or not conversation_id.strip():
        raise ValueError("a conversation without an 'id'")
    mapping = entry.get("mapping")
    if not isinstance(mapping, dict):
        raise ValueError(f"conversation {conversation_id}: 'mapping' must be an object")
    started = epoch(entry.get("create_time"))
    conversation = ImportedConversation(
        id=conversation_id,
        title=clean_text(entry["title"]).strip() or None if isinstance(entry.get("title"), str) else None,
        created_at=started,
        source=SOURCE,
    )
    when = started or epoch(entry.get("update_time")) or datetime(1970, 1, 1, tzinfo=UTC)
    messages: list[ImportedMessage] = []
    for node_id, node in kept_branch(mapping, entry.get("current_node")):
        message = node.get("message")
        if message is None:
            continue
        if not isinstance(message, dict):
            conversation.skipped += 1
            continue
        text = visible_text(message)
        if text is None:
            continue
        when = epoch(message.get("create_time")) or when
        role = message["author"]["role"]
        given = message.get("id")
        own_id = given if isinstance(given, str) else node_id
        messages.append(
            ImportedMessage(stable_id("chatgpt", conversation_id, str(own_id)), role, clean_text(text), when)
        )
    conversation.messages = in_order(messages)
    return conversation


def kept_branch(mapping: dict[str, Any], current: Any) -> list[tuple[str, dict[str, Any]]]:
    """The nodes from the root to `current_node`, in order (cycle-safe)."""
    if not isinstance(current, str) or not isinstance(mapping.get(current), dict):
        current = _last_leaf(mapping)
    path: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    node_id = current
    while isinstance(node_id, str) and node_id not in seen and isinstance(mapping.get(node_id), dict):
        seen.add(node_id)
        node = mapping[node_id]
        path.append((node_id, node))
        node_id = node.get("parent")
    path.reverse()
    return path


def _last_leaf(mapping: dict[str, Any]) -> str | None:
    """Without a (valid) `current_node`: from the root, always the newest child."""
    roots = [key for key, node in mapping.items() if isinstance(node, dict) and not node.get("parent")]
    node_id = roots[0] if roots else None
    seen: set[str] = set()
    while node_id is not None and node_id not in seen:
        seen.add(node_id)
        children = [child for child in mapping[node_id].get("children") or [] if isinstance(mapping.get(child), dict)]
        if not children:
            return node_id
        node_id = children[-1]
    return node_id


def visible_text(message: dict[str, Any]) -> str | None:
    """The text the user saw for a message, or None for a hidden, tool or non-text one."""
    author = message.get("author")
    role = author.get("role") if isinstance(author, dict) else None
    if role not in ("user", "assistant"):
        return None  # system prompts and tool output
    metadata = message.get("metadata")
    if isinstance(metadata, dict) and (
        metadata.get("is_visually_hidden_from_conversation") or metadata.get("is_user_system_message")
    ):
        return None
    if message.get("recipient") not in (None, "all"):
        return None  # the assistant calling a tool (browser, python, an image model)
    content = message.get("content")
    if not isinstance(content, dict) or content.get("content_type") not in TEXT_CONTENT:
        return None  # code, execution output, reasoning, browsing results
    parts = content.get("parts")
    if not isinstance(parts, list):
        return None
    text = "\n".join(part for part in parts if isinstance(part, str)).strip()
    return text or None


def epoch(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
