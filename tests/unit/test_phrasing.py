"""A question rewritten toward how its answer was said (assistant/memory/phrasing.py)."""

from __future__ import annotations

from assistant.memory.phrasing import answer_phrasings, named_people


def test_the_person_asked_about_becomes_the_speaker_and_their_words_first_person() -> None:
    assert answer_phrasings("When did Jon lose his job as a banker?") == [("Jon", "Jon: lose my job as a banker")]
    assert answer_phrasings("What is Gina's favorite style of dance?") == [("Gina", "Gina: my favorite style of dance")]


def test_one_phrasing_per_person_named_and_none_for_a_question_naming_nobody() -> None:
    assert answer_phrasings("How do Jon and Gina both like to destress?") == [
        ("Jon", "Jon: like to destress"),
        ("Gina", "Gina: like to destress"),
    ]
    assert answer_phrasings("what am I allergic to?") == []
    assert named_people("When did I visit Paris with Ana?") == ["Paris", "Ana"]
    assert named_people("What did I do in July 2024, on Monday?") == []
