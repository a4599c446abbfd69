"""The time a question names, read as a window (query_time.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from assistant.memory.query_time import named_window, without_time

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "first", "last", "named"),
    [
        ("What was Sam doing on December 4, 2023?", date(2023, 12, 4), date(2023, 12, 4), "December 4, 2023"),
        ("What did Gina find on 1 February, 2023?", date(2023, 2, 1), date(2023, 2, 1), "1 February, 2023"),
        ("what did we do on the 4th of July", date(2025, 7, 4), date(2025, 7, 4), "4th of July"),
        ("What did we eat on June 12?", date(2026, 6, 12), date(2026, 6, 12), "June 12"),
        ("Which hobby did Sam take up in May 2023?", date(2023, 5, 1), date(2023, 5, 31), "May 2023"),
        ("Which classes did Evan join in mid-August 2023?", date(2023, 8, 1), date(2023, 8, 31), "August 2023"),
        ("What did I do in March?", date(2026, 3, 1), date(2026, 3, 31), "in March"),
        # A month not yet come this year is last year's.
        ("Where did I go during september", date(2025, 9, 1), date(2025, 9, 30), "during september"),
        ("What did I buy in Dec.?", date(2025, 12, 1), date(2025, 12, 31), "in Dec"),
    ],
)
def test_a_named_day_or_month_is_its_window(query: str, first: date, last: date, named: str) -> None:
    found = named_window(query, NOW)
    assert found is not None
    (since, until), words = found
    assert (since.date(), until.date(), words) == (first, last, named)
    assert since.tzinfo is UTC and until > since


@pytest.mark.parametrize(
    "query",
    [
        "May I ask what you did?",  # a verb, not a month
        "I may go to the lake",
        "How many pets did Andrew have, as of September 2023?",  # a bound, not the time of the answer
        "What did Audrey do over the weekend before 4th October, 2023?",
        "What happened on February 30, 2023?",  # no such day
        "What is my sister's name?",
    ],
)
def test_no_window_where_the_question_names_no_time_it_happened_in(query: str) -> None:
    assert named_window(query, NOW) is None


def test_the_words_naming_the_time_leave_the_query() -> None:
    assert without_time("What did I do in March?", "in March").split() == ["What", "did", "I", "do", "?"]
    query = "What was Sam doing on December 4, 2023?"
    assert without_time(query, "December 4, 2023").split() == ["What", "was", "Sam", "doing", "?"]
