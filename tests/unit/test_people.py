"""The people a question names (assistant/memory/people.py)."""

from __future__ import annotations

from assistant.memory.people import named_people


def test_capitalised_words_past_the_question_words_are_the_people_asked_about() -> None:
    assert named_people("When did Jon lose his job as a banker?") == ["Jon"]
    assert named_people("How do Jon and Gina both like to destress? And Ana?") == ["Jon", "Gina"]
    assert named_people("What is Gina's favorite style of dance?") == ["Gina"]


def test_months_weekdays_and_question_words_are_nobody() -> None:
    assert named_people("What did I do in July 2024, on Monday?") == []
    assert named_people("When did I see a concert?") == []
