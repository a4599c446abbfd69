"""The store's filter builder: every user-supplied string matches only itself, on real LanceDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.memory.store import MEMORIES, MemoryStore, memory_to_row
from assistant.memory.store.query import (
    EVERYTHING,
    NOTHING,
    all_of,
    any_of,
    eq,
    ge,
    has_any,
    is_in,
    is_null,
    is_true,
    literal,
    lt,
    not_null,
    owned_by,
    quote,
    starts_with,
)
from assistant.memory.types import Kind, Memory, Status

DIMENSION = 4
START = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
# Quotes, backslashes, LIKE wildcards, SQL, unicode: each must match exactly itself.
AWKWARD = [
    "it's",
    "it''s",
    "back\\slash",
    "back\\'quote",
    "100%",
    "100",
    "snake_case",
    "snakeXcase",
    "a_b",
    "axb",
    "'; DELETE FROM memories; --",
    "naïve — 日本語 🍣",
    'double "quoted"',
]


@pytest.fixture
def store(tmp_path: Path) -> MemoryStore:
    store = MemoryStore(tmp_path / "memory", DIMENSION)
    rows = []
    for number, key in enumerate(AWKWARD):
        memory = Memory(
            user="alice" if number % 2 == 0 else "bob's",
            kind=Kind.SEMANTIC,
            text=f"text {number}",
            key=key,
            id=f"m{number}",
            created_at=START + timedelta(days=number),
            pinned=number == 3,
            sources=[key, f"s{number}"],
            context=None if number % 3 else "quoted",
        )
        rows.append(memory_to_row(memory, [float(number), 1.0, 0.0, 0.0], memory.text))
    store.upsert(MEMORIES, rows)
    return store


def keys(store: MemoryStore, where: object) -> list[str]:
    return sorted(row["key"] for row in store.rows(MEMORIES, where, columns=["key"]))  # type: ignore[arg-type]


def test_equality_and_in_lists_match_awkward_strings_exactly(store: MemoryStore) -> None:
    for key in AWKWARD:
        assert keys(store, eq("key", key)) == [key]
    some = ["it's", "100%", "naïve — 日本語 🍣"]
    assert keys(store, is_in("key", some)) == sorted(some)
    assert keys(store, is_in("key", [])) == []


def test_starts_with_takes_underscore_and_percent_literally(store: MemoryStore) -> None:
    assert keys(store, starts_with("key", "snake_")) == ["snake_case"]
    assert keys(store, starts_with("key", "a_")) == ["a_b"]
    assert keys(store, starts_with("key", "100%")) == ["100%"]
    assert keys(store, starts_with("key", "back\\")) == sorted(["back\\slash", "back\\'quote"])
    assert keys(store, starts_with("key", "it'")) == sorted(["it's", "it''s"])
    assert keys(store, starts_with("key", "naïve —")) == ["naïve — 日本語 🍣"]


def test_owner_time_and_boolean_filters_combine(store: MemoryStore) -> None:
    assert len(keys(store, owned_by("bob's"))) == len(AWKWARD) // 2
    after_a_week = owned_by("alice") & ge("created_at", START + timedelta(days=7))
    assert keys(store, after_a_week) == sorted(AWKWARD[number] for number in range(8, len(AWKWARD), 2))
    assert keys(store, lt("created_at", START + timedelta(days=1))) == [AWKWARD[0]]
    # A naive time is read as UTC.
    assert keys(store, lt("created_at", datetime(2025, 1, 2, 9, 0))) == [AWKWARD[0]]
    assert keys(store, is_true("pinned")) == [AWKWARD[3]]
    assert keys(store, ~is_true("pinned") & eq("key", "it's")) == ["it's"]
    either = eq("key", "100") | (owned_by("bob's") & starts_with("key", "a"))
    assert keys(store, either) == sorted(["100"] + [k for n, k in enumerate(AWKWARD) if n % 2 and k.startswith("a")])
    assert keys(store, not_null("context")) == sorted(AWKWARD[n] for n in range(0, len(AWKWARD), 3))
    assert len(keys(store, is_null("context"))) == len(AWKWARD) - len(range(0, len(AWKWARD), 3))
    assert keys(store, has_any("sources", ["back\\'quote", "nothing"])) == ["back\\'quote"]
    assert keys(store, eq("status", Status.ACTIVE)) == sorted(AWKWARD)


def test_empty_combinations_and_constants() -> None:
    assert all_of() == EVERYTHING and any_of() == NOTHING
    assert all_of(eq("id", "x")) == eq("id", "x")
    assert all_of(eq("id", "x"), NOTHING) == NOTHING and any_of(eq("id", "x"), EVERYTHING) == EVERYTHING
    assert any_of(*(starts_with("key", prefix) for prefix in [])) == NOTHING
    assert str(eq("id", "x") & eq("owner", "y")) == "(id = 'x') AND (owner = 'y')"


def test_literals_and_column_names() -> None:
    assert quote("it's") == "'it''s'"
    assert literal(True) == "true" and literal(3) == "3" and literal(Kind.SEMANTIC) == "'semantic'"
    assert literal(datetime(2025, 1, 1, 10, 0, tzinfo=UTC)) == "CAST('2025-01-01 10:00:00.000000' AS TIMESTAMP)"
    with pytest.raises(ValueError):
        eq("key = 'x' OR 1=1 --", "y")
    with pytest.raises(TypeError):
        eq("key", object())  # type: ignore[arg-type]
