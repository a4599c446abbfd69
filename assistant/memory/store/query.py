"""The query builder: LanceDB filter expressions (`where` clauses) built from values, never by hand.

    where = owned_by("alice") & eq("status", Status.ACTIVE) & (is_in("kind", kinds) | starts_with("key", "user."))
    store.memories(where)

Values are always quoted here, so a user's text (a key, an id, a conversation title) can hold
quotes, backslashes, `%`, `_` or any character and still match only itself. Column names must
be plain identifiers. `starts_with` matches a literal prefix: LIKE would read `_` and `%` as
wildcards, and fact keys are full of underscores.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

Value = str | bool | int | float | datetime | Enum

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Where:
    """A filter expression; combine with `&` (and), `|` (or) and `~` (not)."""

    sql: str

    def __and__(self, other: Where) -> Where:
        return all_of(self, other)

    def __or__(self, other: Where) -> Where:
        return any_of(self, other)

    def __invert__(self) -> Where:
        return Where(f"NOT ({self.sql})")

    def __str__(self) -> str:
        return self.sql


EVERYTHING = Where("TRUE")
NOTHING = Where("FALSE")


def quote(text: str) -> str:
    """A SQL string literal: single quotes doubled; a backslash is an ordinary character."""
    return "'" + text.replace("'", "''") + "'"


def literal(value: Value) -> str:
    """Any supported value as a SQL literal (times as UTC timestamps, enums by their value)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return literal(value.value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        text = moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        return f"CAST({quote(text)} AS TIMESTAMP)"
    if isinstance(value, int | float):
        return repr(value)
    raise TypeError(f"cannot use {type(value).__name__} in a filter")


def column(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a column name: {name!r}")
    return name


def _compare(name: str, operator: str, value: Value) -> Where:
    return Where(f"{column(name)} {operator} {literal(value)}")


def eq(name: str, value: Value) -> Where:
    return _compare(name, "=", value)


def ne(name: str, value: Value) -> Where:
    return _compare(name, "!=", value)


def lt(name: str, value: Value) -> Where:
    return _compare(name, "<", value)


def le(name: str, value: Value) -> Where:
    return _compare(name, "<=", value)


def gt(name: str, value: Value) -> Where:
    return _compare(name, ">", value)


def ge(name: str, value: Value) -> Where:
    return _compare(name, ">=", value)


def is_in(name: str, values: Iterable[Value]) -> Where:
    """The column holds one of `values` (nothing matches an empty list)."""
    literals = [literal(value) for value in values]
    if not literals:
        return NOTHING
    return Where(f"{column(name)} IN ({', '.join(literals)})")


def starts_with(name: str, prefix: str) -> Where:
    """The column's text begins with `prefix`, taken literally (no wildcards)."""
    return Where(f"starts_with({column(name)}, {quote(prefix)})")


def has_any(name: str, values: Iterable[Value]) -> Where:
    """A list column holds at least one of `values`."""
    literals = [literal(value) for value in values]
    if not literals:
        return NOTHING
    return Where(f"array_has_any({column(name)}, [{', '.join(literals)}])")


def is_null(name: str) -> Where:
    return Where(f"{column(name)} IS NULL")


def not_null(name: str) -> Where:
    return Where(f"{column(name)} IS NOT NULL")


def is_true(name: str) -> Where:
    """A boolean column is true (false and null do not match)."""
    return Where(column(name))


def all_of(*clauses: Where) -> Where:
    """Every clause holds (true when there are none)."""
    parts = [clause for clause in clauses if clause != EVERYTHING]
    if not parts:
        return EVERYTHING
    if NOTHING in parts:
        return NOTHING
    return Where(" AND ".join(f"({part.sql})" if len(parts) > 1 else part.sql for part in parts))


def any_of(*clauses: Where) -> Where:
    """At least one clause holds (false when there are none)."""
    parts = [clause for clause in clauses if clause != NOTHING]
    if not parts:
        return NOTHING
    if EVERYTHING in parts:
        return EVERYTHING
    return Where(" OR ".join(f"({part.sql})" if len(parts) > 1 else part.sql for part in parts))


def owned_by(user: str) -> Where:
    """The rows of one user's space: every query on a space starts with this."""
    return eq("owner", user)


def sql(where: Where | str) -> str:
    """The SQL text of a filter; a plain string passes through (tests and tools write their own)."""
    return where.sql if isinstance(where, Where) else where
