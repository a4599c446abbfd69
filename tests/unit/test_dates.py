"""Dates said in passing resolve against today: a month alone after "in", a day of the month alone."""

from __future__ import annotations

from datetime import datetime

import pytest

from assistant.memory.dates import find_dates, resolve_dates

NOW = datetime(2025, 3, 3, 9, 30)  # a Monday


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("the Berlin marathon in September", "2025-09"),
        ("back by February", "2026-02"),
        ("surgery on the 21st", "2025-03-21"),
        ("an appointment on the 2nd", "2025-04-02"),  # the 2nd has passed this month: next month's
        ("in Madrid from the 3rd", "2025-03-03"),
    ],
)
def test_a_month_or_a_day_of_the_month_alone_is_a_date(text: str, value: str) -> None:
    assert [found.value for found in find_dates(text, NOW)] == [value]


def test_a_month_name_without_a_time_word_is_no_date() -> None:
    assert find_dates("I met May in the park", NOW) == []
    assert resolve_dates("surgery on the 21st", NOW) == "surgery on Friday, 21 March 2025"
