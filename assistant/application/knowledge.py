""" "What do you know about me?": every active memory, grouped as the user thinks of them, with how it was learned."""

from __future__ import annotations

from datetime import datetime

from assistant.application.memory_service import MemoryService
from assistant.learning.schema import second_person
from assistant.memory.types import Kind, Memory, Origin

KIND_TITLES = {
    Kind.SEMANTIC: "Facts about you",
    Kind.PREFERENCE: "Your preferences",
    Kind.PROCEDURAL: "Rules you gave me",
    Kind.SUMMARY: "Summaries of past conversations",
}
FAMILY_KEY_PREFIX = "user.family."
HOW_LEARNED = {
    Origin.EXPLICIT: "you asked me to remember it",
    Origin.EXTRACTED: "learned from our conversation",
    Origin.IMPORTED: "learned from an imported conversation",
    Origin.SUMMARY: "summarised from old conversations",
}


def about_family(memory: Memory) -> bool:
    return (memory.key or "").startswith(FAMILY_KEY_PREFIX)


def knowledge_groups(memories: list[Memory]) -> list[tuple[str, list[Memory]]]:
    """Memories by kind, with facts about the user's family apart from facts about the user."""
    groups = []
    for kind, title in KIND_TITLES.items():
        group = [m for m in memories if m.kind == kind]
        if kind == Kind.SEMANTIC:
            groups.append((title, [m for m in group if not about_family(m)]))
            groups.append(("Your family", [m for m in group if about_family(m)]))
        else:
            groups.append((title, group))
    return [(title, group) for title, group in groups if group]


def source_note(memories: MemoryService, memory: Memory) -> str:
    """How and when a memory was learned, quoting the message it came from."""
    how = HOW_LEARNED.get(memory.origin, str(memory.origin))
    when = said_on(memory).date().isoformat()
    sources = memories.sources_of(memory)
    if sources:
        said = " ".join(sources[0].content.split())
        said = said[:80] + ("…" if len(said) > 80 else "")
        if memory.origin == Origin.IMPORTED:
            how += f" (“{memories.conversation_title(sources[0].conversation_id)}”)"
        return f"{how}, {when}, from “{said}” (message `{sources[0].id[:12]}`)"
    return f"{how}, {when}"


def said_on(memory: Memory) -> datetime:
    """When the user said it: an imported fact is valid from its message's time, not the import's."""
    if memory.valid_from is not None and memory.valid_from <= memory.created_at:
        return memory.valid_from
    return memory.created_at


def knowledge_report(memories: MemoryService) -> str:
    known = memories.remembered()
    if not known:
        return "I don't know anything about you yet. Tell me, or say “remember that …”."
    sections = []
    for title, group in knowledge_groups(known):
        # Shown to the user in the second person ("You live in Porto"); the model reads "User lives in Porto".
        lines = [f"- {second_person(m.text)} — *{source_note(memories, m)}*" for m in sorted(group, key=said_on)]
        sections.append(f"**{title}**\n" + "\n".join(lines))
    conversations = memories.conversation_count()
    noun = "conversation" if conversations == 1 else "conversations"
    sections.append(f"I also keep the log of our {conversations} {noun}. Say “forget …” to remove anything.")
    return "Here is what I know about you:\n\n" + "\n\n".join(sections)
