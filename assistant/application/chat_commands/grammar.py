"""Memory commands typed in chat: "remember that ...", "forget ...", "/rule add ...".

Deterministic: the model never decides whether to store or delete something. Commands are
recognised only at the very start of the user's own message, so "he told me to remember
that ..." in the middle of a sentence is just conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.memory.language import normalize_text


@dataclass(frozen=True)
class Command:
    """Base of every memory command."""


@dataclass(frozen=True)
class Remember(Command):
    text: str  # what to store, as the user said it; the memory service learns it (learning/remember.py)


@dataclass(frozen=True)
class Forget(Command):
    query: str  # what to find; the caller shows the matches and asks when ambiguous
    everything_about: bool = False  # "forget everything about X": all matches, not just the best


@dataclass(frozen=True)
class ForgetAll(Command):
    """ "Forget everything you know about me": the caller must ask for confirmation."""


@dataclass(frozen=True)
class ListKnowledge(Command):
    """ "What do you know about me?": every active memory, grouped by kind, with its sources."""


@dataclass(frozen=True)
class ShowMemories(Command):
    query: str | None = None  # None: list them all


@dataclass(frozen=True)
class ShowProfile(Command):
    pass


@dataclass(frozen=True)
class AddRule(Command):
    text: str


@dataclass(frozen=True)
class ListRules(Command):
    pass


@dataclass(frozen=True)
class RemoveRule(Command):
    ref: str  # a 1-based position from /rule list, or a memory id (or id prefix)

    @property
    def position(self) -> int | None:
        return int(self.ref) if self.ref.isdigit() else None


@dataclass(frozen=True)
class Help(Command):
    pass


@dataclass(frozen=True)
class CommandError(Command):
    message: str  # one line telling the user what to type instead


SLASH_HELP = (
    "/remember TEXT · /forget QUERY · /memories [QUERY] · /profile · "
    "/rule add TEXT · /rule list · /rule remove N|ID · /help"
)

_POLITE = r"(?:(?:hey|ok|okay|so|and|also|please|pls|plz|kindly|hi|assistant)[,!]?\s+)*"
_ASK = r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?)?"

_REMEMBER = re.compile(
    r"(?is)^" + _POLITE + _ASK + r"(?:please\s+)?(?:remember|memori[sz]e|note|keep in mind|make a note|don't forget|"
    r"do not forget|never forget)"
    r"(?:\s+(?:that|this)\b|\s*:|\s*,|\s*-)?\s*(?P<rest>.*)$"
)
_REMEMBER_NOT = re.compile(
    r"(?i)^(?:when|how|what|who|where|why|if|whether|the time|me\b|us\b|it\b|that\?|this\?|anything|everything|"
    r"our|last time|yesterday|earlier)"
)
_FORGET = re.compile(
    r"(?is)^" + _POLITE + _ASK + r"(?:please\s+)?(?:forget|stop remembering|don't remember|do not remember|unlearn|"
    r"(?:delete|erase|remove|wipe)(?=\s+(?:the\s+|that\s+|this\s+|my\s+|any\s+)?(?:memory|memories|fact)\b))"
    r"(?P<about>\s+(?:everything|all|anything|what i (?:said|told you))\s+(?:you know\s+|you remember\s+)?"
    r"(?:about|regarding|on|of)\b|\s+about\b)?"
    r"(?:\s+(?:that|the fact that)\b|\s*:|\s*,)?\s*(?P<rest>.*)$"
)
_FORGET_TARGETS = re.compile(
    r"(?i)^(?:memory|memories|fact|the memory|the fact|that memory)\b(?:\s+(?:that|about))?\s*"
)
_FORGET_EVERYTHING = re.compile(
    r"(?i)^" + _POLITE + _ASK + r"(?:please\s+)?(?:forget|delete|erase|wipe)\s+(?:everything|all(?: of)?(?: my| your)? "
    r"(?:memories|data|that you know)|all about me|everything (?:you know |you remember )?about me|"
    r"all (?:you know|you remember) about me|me)\s*[.!]*$"
)
_LIST_KNOWLEDGE = re.compile(
    r"(?i)^" + _POLITE + r"(?:(?:so|tell me|show me|list)\s+)?(?:what\s+(?:do|did|have)\s+you\s+"
    r"(?:know|remember|learn(?:ed|t)?|store[d]?|save[d]?|got|memorized|memorised)\s+(?:about|of|on|regarding)\s+me"
    r"|what\s+(?:do\s+you\s+have\s+)?(?:on\s+me|stored\s+about\s+me)"
    r"|what(?:'s| is| are)\s+(?:in\s+)?(?:your\s+memory|my\s+memories|my\s+profile)"
    r"|(?:show|list|tell)\s+(?:me\s+)?(?:my\s+memories|everything\s+you\s+(?:know|remember)(?:\s+about\s+me)?"
    r"|what\s+you\s+(?:know|remember)(?:\s+about\s+me)?)"
    r"|who\s+am\s+i\s+to\s+you)"
    r"\s*[?.!]*\s*$"
)
_SLASH = re.compile(r"^/(?P<name>[A-Za-z][\w-]*)(?=\s|$)\s*(?P<rest>.*)$", re.DOTALL)
_TRIVIAL_QUERY = {
    "",
    "it",
    "that",
    "this",
    "them",
    "those",
    "these",
    "about it",
    "about that",
    "everything else",
    "me",
    "you",
    "him",
    "her",
    "all that",
    "that one",
}


def _clean(text: str) -> str:
    return text.strip().strip("\"'").strip().rstrip(".!").strip()


def _slash(name: str, rest: str) -> Command:
    name = name.lower()
    rest = rest.strip()
    if name == "remember":
        return (
            Remember(rest) if rest else CommandError("Usage: /remember TEXT — for example /remember I live in Lisbon")
        )
    if name == "forget":
        return Forget(rest) if rest else CommandError("Usage: /forget QUERY — for example /forget Lisbon")
    if name in ("memories", "memory", "mem"):
        return ShowMemories(rest or None)
    if name in ("profile", "me", "whoami"):
        return ShowProfile()
    if name in ("rule", "rules"):
        action, _, argument = rest.partition(" ")
        action, argument = action.lower(), argument.strip()
        if not action or action in ("list", "ls", "show"):
            return ListRules()
        if action == "add":
            return (
                AddRule(argument)
                if argument
                else CommandError("Usage: /rule add TEXT — for example /rule add Always answer in French")
            )
        if action in ("remove", "rm", "delete", "del"):
            return (
                RemoveRule(argument)
                if argument
                else CommandError("Usage: /rule remove N|ID — see /rule list for the numbers")
            )
        return CommandError(f"Unknown /rule action {action!r}: use /rule add TEXT, /rule list or /rule remove N|ID")
    if name in ("help", "commands", "h", "?"):
        return Help()
    return CommandError(f"Unknown command /{name}. Try: {SLASH_HELP}")


def parse_command(user_text: str) -> Command | None:
    """The memory command at the start of the user's message, or None for ordinary chat."""
    text = normalize_text(user_text)
    if not text:
        return None
    slash = _SLASH.match(text)
    if slash:
        return _slash(slash.group("name"), slash.group("rest"))
    if text.startswith("/"):
        return None  # a path such as /usr/bin/python, not a command
    if _LIST_KNOWLEDGE.match(text):
        return ListKnowledge()
    if _FORGET_EVERYTHING.match(text):
        return ForgetAll()
    remember = _REMEMBER.match(text)
    if remember:
        rest = remember.group("rest").strip()
        if not rest or _REMEMBER_NOT.match(rest):
            return None  # "remember when we ...?" is conversation
        if rest.endswith("?") and not re.match(r"(?i)^" + _POLITE + r"(?:can|could|would|will)\s+you", text):
            return None
        rest = _clean(rest.rstrip("?"))
        to_do = re.match(r"(?i)^to\s+(?P<what>.+)$", rest)
        if to_do:
            what = to_do.group("what")
            if re.match(r"(?i)^(?:always|never)\b", what):
                return AddRule(what[:1].upper() + what[1:])
            return Remember(f"I need to {what}")
        return Remember(rest) if rest else None
    forget = _FORGET.match(text)
    if forget:
        rest = _clean(forget.group("rest").rstrip("?"))
        rest = _FORGET_TARGETS.sub("", rest).strip()
        if rest.lower() in _TRIVIAL_QUERY or re.match(r"(?i)^(?:it|about it)\b", rest):
            return None  # "forget it" means "never mind"
        return Forget(rest, everything_about=bool(forget.group("about")))
    return None
