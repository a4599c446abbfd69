"""Carrying out the memory commands typed in chat, through the memory service, and wording the answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.application.chat_commands import grammar as parsed
from assistant.application.knowledge import KIND_TITLES, knowledge_report
from assistant.application.memory_service import MemoryService
from assistant.application.turn import Turn
from assistant.learning.schema import second_person
from assistant.memory.types import Memory, Status

INCOGNITO = "This is an incognito conversation: I won't store anything from it."


@dataclass
class CommandAnswer:
    text: str
    log_exchange: bool = True  # False when logging the command would keep what it removed
    saved: list[Memory] = field(default_factory=list)


def run(memories: MemoryService, command: parsed.Command, turn: Turn) -> CommandAnswer:
    match command:
        case parsed.Remember(text=text):
            return _remember(memories, text, turn)
        case parsed.Forget(query=query, everything_about=everything):
            return _forget(memories, query, everything)
        case parsed.ForgetAll():
            return CommandAnswer(
                "To delete everything I know about you, run `assistant memory forget --all` or use "
                "*Forget everything* in the memory panel (F2): it asks for confirmation first.",
                log_exchange=False,
            )
        case parsed.ListKnowledge():
            return CommandAnswer(knowledge_report(memories))
        case parsed.ShowMemories(query=query):
            return CommandAnswer(_show_memories(memories, query))
        case parsed.ShowProfile():
            return CommandAnswer(_show_profile(memories))
        case parsed.AddRule(text=text):
            return _add_rule(memories, text, turn)
        case parsed.ListRules():
            return CommandAnswer(_list_rules(memories))
        case parsed.RemoveRule():
            return _remove_rule(memories, command)
        case parsed.Help():
            return CommandAnswer("Memory commands: " + parsed.SLASH_HELP, log_exchange=False)
        case parsed.CommandError(message=message):
            return CommandAnswer(message, log_exchange=False)
    return CommandAnswer("I don't know that command. " + parsed.SLASH_HELP, log_exchange=False)


def _bullet(memory: Memory) -> str:
    return f"- {memory.text}"


def _remember(memories: MemoryService, text: str, turn: Turn) -> CommandAnswer:
    if turn.incognito:
        return CommandAnswer(INCOGNITO, log_exchange=False)
    result = memories.remember(text, source_id=turn.ensure_user_message_id(), at=turn.at)
    if not result.memories:
        return CommandAnswer("There was nothing left to remember once secrets were removed.")
    lines = [f"- {second_person(memory.text)} (I already knew that)" for memory in result.confirmed]
    for memory in result.saved:
        replaced = "; ".join(second_person(m.text) for m in result.replaced.get(memory.id, []))
        lines.append(f"- {second_person(memory.text)}" + (f" (replaces: {replaced})" if replaced else ""))
    turn.notices.extend(f"Saved to memory: {second_person(m.text)}" for m in result.saved)
    return CommandAnswer("Got it. I'll remember:\n" + "\n".join(lines), saved=result.saved)


def _forget(memories: MemoryService, query: str, everything: bool) -> CommandAnswer:
    query = query.strip()
    if not query:
        return CommandAnswer("What should I forget? For example: `forget that I live in Lisbon`.", log_exchange=False)
    matches = memories.forget_matches(query, everything=everything)
    if not matches.memories:
        return CommandAnswer(
            f"I couldn't find a memory matching “{query}”. Try `/memories {query}`.", log_exchange=False
        )
    if matches.ambiguous:
        lines = [f"- `{m.id[:12]}` {m.text} ({m.status})" for m in matches.memories[:8]]
        return CommandAnswer(
            "Several memories match; which one should I forget? Reply `/forget ID` with its id:\n" + "\n".join(lines),
            log_exchange=False,
        )
    # The reason never quotes the query: the audit log must not keep what was forgotten.
    memories.forget_with_replies(matches.memories, reason="the user asked to forget it in chat")
    return CommandAnswer(
        "Forgotten (with the messages it came from):\n" + "\n".join(_bullet(m) for m in matches.memories),
        log_exchange=False,
    )


def _show_memories(memories: MemoryService, query: str | None) -> str:
    if query:
        hits = memories.search(query, k=10)
        if not hits:
            return f"No memories match “{query}”."
        return "\n".join(f"- `{h.memory.id[:12]}` {h.memory.text} ({h.memory.kind}, {h.score:.2f})" for h in hits)
    listed = memories.select(kinds=list(KIND_TITLES), statuses=[Status.ACTIVE], limit=30)
    if not listed:
        return "No memories yet."
    return "\n".join(f"- `{m.id[:12]}` {m.text} ({m.kind})" for m in listed)


def _show_profile(memories: MemoryService) -> str:
    profile = memories.profile()
    if not profile:
        return "Your profile is empty. Tell me your name, where you live or how you like answers."
    return "Your profile (always in my context):\n" + "\n".join(_bullet(m) for m in profile)


def _add_rule(memories: MemoryService, text: str, turn: Turn) -> CommandAnswer:
    text = text.strip()
    if not text:
        return CommandAnswer("Usage: `/rule add TEXT`, for example `/rule add Always answer in French`.")
    if turn.incognito:
        return CommandAnswer(INCOGNITO, log_exchange=False)
    rule = memories.add_rule(text, source_id=turn.ensure_user_message_id())
    turn.notices.append(f"Rule added: {rule.text}")
    return CommandAnswer(f"Rule added: {rule.text}\n\n" + _list_rules(memories), saved=[rule])


def _list_rules(memories: MemoryService) -> str:
    rules = memories.rules()
    if not rules:
        return "No rules yet. Add one with `/rule add TEXT`."
    return "Rules I follow:\n" + "\n".join(f"{n}. {r.text} (`{r.id[:12]}`)" for n, r in enumerate(rules, 1))


def _remove_rule(memories: MemoryService, command: parsed.RemoveRule) -> CommandAnswer:
    rules = memories.rules()
    position = command.position
    if position is not None:
        chosen = [rules[position - 1]] if 1 <= position <= len(rules) else []
    else:
        chosen = [r for r in rules if r.id.startswith(command.ref)]
    if len(chosen) != 1:
        return CommandAnswer(f"No single rule matches “{command.ref}”.\n\n" + _list_rules(memories), log_exchange=False)
    memories.remove_rule(chosen[0].id)
    return CommandAnswer(
        f"Rule removed: {chosen[0].text}\n(It is archived: restore it from the memory panel, F2, "
        f"or `/forget {chosen[0].id[:12]}` to delete it for good.)",
        log_exchange=False,
    )
