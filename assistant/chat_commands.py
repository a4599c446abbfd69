"""Memory commands typed in chat, answered deterministically (the model never decides).

`assistant.memory.commands.parse_command` recognises them in the user's own message; this
module carries them out against the memory engine and words the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.learning.explicit import extract_explicit
from assistant.learning.remember import remember_candidates
from assistant.memory import commands as parsed
from assistant.memory.engine import episodic_memory_id
from assistant.memory.language import normalize_text
from assistant.memory.recall import RecallFilter
from assistant.memory.types import Kind, Memory, Message, Origin, Role, Status

if TYPE_CHECKING:
    from assistant.core import Assistant, Turn

# Cosine similarity a memory needs with a "forget ..." query to count as a match.
FORGET_MATCH = 0.55
# How far ahead the best match must be to be chosen without asking.
FORGET_MARGIN = 0.08
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
    Origin.IMPORTED: "imported",
    Origin.SUMMARY: "summarised from old conversations",
}
_ID = re.compile(r"^(?:ep-)?[0-9a-f]{6,64}$")


@dataclass
class CommandAnswer:
    text: str
    log_exchange: bool = True  # False when logging the command would keep what it removed
    saved: list[Memory] = field(default_factory=list)


def run(assistant: Assistant, command: parsed.Command, turn: Turn) -> CommandAnswer:
    match command:
        case parsed.Remember(text=text):
            return _remember(assistant, text, turn)
        case parsed.Forget(query=query, everything_about=everything):
            return _forget(assistant, query, everything)
        case parsed.ForgetAll():
            return CommandAnswer(
                "To delete everything I know about you, run `assistant memory forget --all` or use "
                "*Forget everything* in the memory panel (F2): it asks for confirmation first.",
                log_exchange=False,
            )
        case parsed.ListKnowledge():
            return CommandAnswer(knowledge_report(assistant))
        case parsed.ShowMemories(query=query):
            return CommandAnswer(_show_memories(assistant, query))
        case parsed.ShowProfile():
            return CommandAnswer(_show_profile(assistant))
        case parsed.AddRule(text=text):
            return _add_rule(assistant, text, turn)
        case parsed.ListRules():
            return CommandAnswer(_list_rules(assistant))
        case parsed.RemoveRule():
            return _remove_rule(assistant, command)
        case parsed.Help():
            return CommandAnswer("Memory commands: " + parsed.SLASH_HELP, log_exchange=False)
        case parsed.CommandError(message=message):
            return CommandAnswer(message, log_exchange=False)
    return CommandAnswer("I don't know that command. " + parsed.SLASH_HELP, log_exchange=False)


def _bullet(memory: Memory) -> str:
    return f"- {memory.text}"


def _remember(assistant: Assistant, text: str, turn: Turn) -> CommandAnswer:
    if turn.incognito:
        return CommandAnswer("This is an incognito conversation: I won't store anything from it.", log_exchange=False)
    assistant.prepare_user_message(turn)
    candidates = remember_candidates(text, now=turn.at, source_id=turn.user_message_id or "")
    if not candidates:
        return CommandAnswer("There was nothing left to remember once secrets were removed.")
    lines, saved = [], []
    for applied in assistant.consolidator.apply_all(candidates):
        if applied.memory is None:
            continue
        if applied.action == "reinforce":
            lines.append(f"- {applied.memory.text} (I already knew that)")
        else:
            saved.append(applied.memory)
            replaced = f" (replaces: {'; '.join(m.text for m in applied.replaced)})" if applied.replaced else ""
            lines.append(f"- {applied.memory.text}{replaced}")
    turn.notices.extend(f"Saved to memory: {m.text}" for m in saved)
    return CommandAnswer("Got it. I'll remember:\n" + "\n".join(lines), saved=saved)


def _forget(assistant: Assistant, query: str, everything: bool) -> CommandAnswer:
    engine = assistant.engine
    query = query.strip()
    if not query:
        return CommandAnswer("What should I forget? For example: `forget that I live in Lisbon`.", log_exchange=False)
    if _ID.match(query) and (memory := engine.get(query)) is not None:
        matches = [memory]
    else:
        matches = _forget_matches(assistant, query, everything)
    if not matches:
        return CommandAnswer(
            f"I couldn't find a memory matching “{query}”. Try `/memories {query}`.", log_exchange=False
        )
    if len(matches) > 1 and not everything:
        lines = [f"- `{m.id[:12]}` {m.text} ({m.status})" for m in matches[:8]]
        return CommandAnswer(
            "Several memories match; which one should I forget? Reply `/forget ID` with its id:\n" + "\n".join(lines),
            log_exchange=False,
        )
    # The assistant's answers to the source messages often repeat the fact: they go too.
    answers = [episodic_memory_id(reply.id) for reply in _answers_to(assistant, matches)]
    doomed = [m.id for m in matches] + [a for a in answers if engine.get(a) is not None]
    # The reason never quotes the query: the audit log must not keep what was forgotten.
    engine.forget(doomed, reason="the user asked to forget it in chat", with_sources=True)
    return CommandAnswer(
        "Forgotten (with the messages it came from):\n" + "\n".join(_bullet(m) for m in matches),
        log_exchange=False,
    )


def _answers_to(assistant: Assistant, memories: list[Memory]) -> list[Message]:
    """The assistant's replies that directly followed the messages these memories came from."""
    answers: list[Message] = []
    for memory in memories:
        for source in assistant.engine.sources_of(memory):
            conversation = assistant.engine.messages(source.conversation_id)
            position = next((i for i, m in enumerate(conversation) if m.id == source.id), None)
            if position is not None and position + 1 < len(conversation):
                following = conversation[position + 1]
                if following.role == Role.ASSISTANT:
                    answers.append(following)
    return answers


def _forget_matches(assistant: Assistant, query: str, everything: bool) -> list[Memory]:
    """Memories a "forget" query names: by key when the query is a statement, else by meaning."""
    engine = assistant.engine
    statement = re.sub(r"(?i)^(?:that|about|the fact that)\s+", "", query)
    keyed: list[Memory] = []
    for candidate in extract_explicit(statement, now=assistant.clock(), source_id=""):
        if not candidate.key:
            continue
        for memory in engine.with_key(candidate.key):
            if not candidate.value or normalize_text(candidate.value) in normalize_text(memory.text):
                keyed.append(memory)
    if keyed:
        return list({m.id: m for m in keyed}.values())
    statuses = (Status.ACTIVE, Status.SUPERSEDED, Status.ARCHIVED)
    kinds = (Kind.SEMANTIC, Kind.PREFERENCE, Kind.PROCEDURAL, Kind.SUMMARY)
    hits = engine.search(statement, k=8, filters=RecallFilter(kinds=kinds, statuses=statuses), reinforce=False)
    if not hits:
        return []
    vectors = engine.embedder.embed([statement, *(hit.memory.text for hit in hits)])
    query_vector = vectors[0]
    scored = sorted(
        (
            (sum(a * b for a, b in zip(query_vector, vector, strict=True)), hit.memory)
            for hit, vector in zip(hits, vectors[1:], strict=True)
        ),
        key=lambda pair: pair[0],
        reverse=True,
    )
    good = [(score, memory) for score, memory in scored if score >= FORGET_MATCH]
    if everything or len(good) <= 1:
        return [memory for _, memory in good]
    if good[0][0] - good[1][0] >= FORGET_MARGIN:
        return [good[0][1]]
    return [memory for _, memory in good]


def _source_note(assistant: Assistant, memory: Memory) -> str:
    how = HOW_LEARNED.get(memory.origin, str(memory.origin))
    when = memory.created_at.date().isoformat()
    sources = assistant.engine.sources_of(memory)
    if sources:
        said = " ".join(sources[0].content.split())
        said = said[:80] + ("…" if len(said) > 80 else "")
        return f"{how}, {when}, from “{said}” (message `{sources[0].id[:12]}`)"
    return f"{how}, {when}"


def _about_family(memory: Memory) -> bool:
    return (memory.key or "").startswith(FAMILY_KEY_PREFIX)


def _knowledge_groups(memories: list[Memory]) -> list[tuple[str, list[Memory]]]:
    """Memories by kind, with facts about the user's family apart from facts about the user."""
    groups = []
    for kind, title in KIND_TITLES.items():
        group = [m for m in memories if m.kind == kind]
        if kind == Kind.SEMANTIC:
            groups.append((title, [m for m in group if not _about_family(m)]))
            groups.append(("Your family", [m for m in group if _about_family(m)]))
        else:
            groups.append((title, group))
    return [(title, group) for title, group in groups if group]


def knowledge_report(assistant: Assistant) -> str:
    """ "What do you know about me?": every active memory grouped by kind, with how it was learned."""
    memories = assistant.engine.list(kinds=list(KIND_TITLES), statuses=[Status.ACTIVE])
    if not memories:
        return "I don't know anything about you yet. Tell me, or say “remember that …”."
    sections = []
    for title, group in _knowledge_groups(memories):
        lines = [f"- {m.text} — *{_source_note(assistant, m)}*" for m in sorted(group, key=lambda m: m.created_at)]
        sections.append(f"**{title}**\n" + "\n".join(lines))
    conversations = len(assistant.engine.conversations())
    noun = "conversation" if conversations == 1 else "conversations"
    sections.append(f"I also keep the log of our {conversations} {noun}. Say “forget …” to remove anything.")
    return "Here is what I know about you:\n\n" + "\n\n".join(sections)


def _show_memories(assistant: Assistant, query: str | None) -> str:
    engine = assistant.engine
    if query:
        hits = engine.search(query, k=10, reinforce=False)
        if not hits:
            return f"No memories match “{query}”."
        return "\n".join(f"- `{h.memory.id[:12]}` {h.memory.text} ({h.memory.kind}, {h.score:.2f})" for h in hits)
    memories = engine.list(kinds=list(KIND_TITLES), statuses=[Status.ACTIVE], limit=30)
    if not memories:
        return "No memories yet."
    return "\n".join(f"- `{m.id[:12]}` {m.text} ({m.kind})" for m in memories)


def _show_profile(assistant: Assistant) -> str:
    profile = assistant.profile_memories()
    if not profile:
        return "Your profile is empty. Tell me your name, where you live or how you like answers."
    return "Your profile (always in my context):\n" + "\n".join(_bullet(m) for m in profile)


def _add_rule(assistant: Assistant, text: str, turn: Turn) -> CommandAnswer:
    text = text.strip()
    if not text:
        return CommandAnswer("Usage: `/rule add TEXT`, for example `/rule add Always answer in French`.")
    if turn.incognito:
        return CommandAnswer("This is an incognito conversation: I won't store anything from it.", log_exchange=False)
    assistant.prepare_user_message(turn)
    rule = assistant.engine.add(
        text,
        kind=Kind.PROCEDURAL,
        importance=1.0,
        origin=Origin.EXPLICIT,
        sources=[turn.user_message_id] if turn.user_message_id else [],
        reason="rule added by the user",
    )
    turn.notices.append(f"Rule added: {rule.text}")
    return CommandAnswer(f"Rule added: {rule.text}\n\n" + _list_rules(assistant), saved=[rule])


def _list_rules(assistant: Assistant) -> str:
    rules = assistant.rules()
    if not rules:
        return "No rules yet. Add one with `/rule add TEXT`."
    return "Rules I follow:\n" + "\n".join(f"{n}. {r.text} (`{r.id[:12]}`)" for n, r in enumerate(rules, 1))


def _remove_rule(assistant: Assistant, command: parsed.RemoveRule) -> CommandAnswer:
    rules = assistant.rules()
    position = command.position
    if position is not None:
        chosen = [rules[position - 1]] if 1 <= position <= len(rules) else []
    else:
        chosen = [r for r in rules if r.id.startswith(command.ref)]
    if len(chosen) != 1:
        return CommandAnswer(
            f"No single rule matches “{command.ref}”.\n\n" + _list_rules(assistant), log_exchange=False
        )
    assistant.engine.forget([chosen[0].id], reason="rule removed by the user", with_sources=True)
    return CommandAnswer(f"Rule removed: {chosen[0].text}", log_exchange=False)
