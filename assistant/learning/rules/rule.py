"""What a rule is: a pattern matched at the start of a clause, and a handler that reads the match.

Each family module declares its rules with `@rule(pattern)`; the order in which they are tried
is stated once, in assistant/learning/explicit.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from assistant.learning.candidate import Candidate, read_from_user
from assistant.memory.types import Kind, Origin


@dataclass
class RuleContext:
    """The clause a rule reads and what every candidate it makes shares."""

    now: datetime
    source_id: str
    origin: Origin
    clause: str
    sentence: str = ""  # the whole sentence the clause is part of

    def make(
        self,
        kind: Kind,
        text: str,
        key: str | None,
        value: str | None,
        *,
        importance: float,
        confidence: float = 0.9,
        retracts: bool = False,
    ) -> Candidate:
        return read_from_user(
            kind,
            text,
            key,
            value,
            importance=importance,
            confidence=confidence,
            source_id=self.source_id,
            retracts=retracts,
            origin=self.origin,
        )


Handler = Callable[[re.Match[str], RuleContext], list[Candidate]]


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    handler: Handler

    def __call__(self, match: re.Match[str], ctx: RuleContext) -> list[Candidate]:
        # Rules reuse each other's reading ("I go by Liz" reads like "call me Liz").
        return self.handler(match, ctx)


def rule(pattern: str) -> Callable[[Handler], Rule]:
    """A rule whose `pattern` must match from the start of the clause, ignoring case."""
    compiled = re.compile(r"(?i)^" + pattern)

    def make(handler: Handler) -> Rule:
        return Rule(compiled, handler)

    return make
