"""The health safety net: a health fact said in words no rule knows is kept verbatim, never dropped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assistant.learning.explicit import extract_explicit
from assistant.learning.remember import remember_candidates
from assistant.learning.safety_net import HEALTH_NOTE_PREFIX, health_notes

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def notes_for(text: str) -> list[str]:
    found = extract_explicit(text, now=NOW, source_id="m-1")
    return [note.text for note in health_notes(text, found=found, source_id="m-1")]


@pytest.mark.parametrize(
    ("message", "key"),
    [
        (
            "Hi, I'm Sam, I just moved to Berlin and I work as a nurse. "
            "Oh and shrimp make my throat swell up, so no shrimp please.",
            "user.allergy.shrimp",
        ),
        ("shellfish makes me break out in hives", "user.allergy.shellfish"),
        ("I can't have dairy", "user.diet.avoids.dairy"),
        ("no sesame for me, I'm allergic", "user.allergy.sesame"),
        ("Let me tell you, peanuts make me sick.", "user.diet.avoids.peanuts"),
        # Said plainly in another language: the same key as in English (rules/other_languages.py).
        ("Eu sou alérgica a amendoins.", "user.allergy.peanut"),
        ("Soy alérgico al marisco", "user.allergy.shellfish"),
        # Told as what the food does, the other way round, or with a pronoun (rules/reactions.py).
        ("My throat swells up when I eat peanuts, so no peanuts please.", "user.allergy.peanut"),
        ("Oh and peanuts... they make my throat swell up. So no peanuts please!", "user.allergy.peanut"),
    ],
)
def test_everyday_phrasings_the_net_used_to_catch_are_keyed_facts_now(message: str, key: str) -> None:
    found = extract_explicit(message, now=NOW, source_id="m-1")
    assert key in {candidate.key for candidate in found}
    assert notes_for(message) == []


@pytest.mark.parametrize(
    ("message", "kept"),
    [
        ("Dairy and I don't get along.", "Dairy and I don't get along."),
        ("My son can't have eggs.", "My son can't have eggs."),
        (
            "I'm Ana. Honestly nuts and I are not friends, my lips go numb.",
            "Honestly nuts and I are not friends, my lips go numb.",
        ),
    ],
)
def test_a_health_fact_in_unknown_words_is_kept_in_the_users_words(message: str, kept: str) -> None:
    assert notes_for(message) == [f"User said: “{kept}”"]


@pytest.mark.parametrize(
    "message",
    [
        "I'm allergic to shellfish",  # the rules have it: no note beside the fact
        "I'm diabetic so go easy on the sugar.",
        "If my wife is allergic to nuts, what should I cook?",
        "What can I cook without dairy?",
        "My friend is allergic to peanuts.",
        "I love dairy farms.",
        "I had fish and chips yesterday.",
        "I went to Lisbon last week.",
    ],
)
def test_no_note_for_known_facts_questions_others_or_ordinary_food_talk(message: str) -> None:
    assert notes_for(message) == []


def test_a_note_is_keyed_into_the_profile_and_the_same_sentence_gets_the_same_key() -> None:
    first = health_notes("Dairy and I don't get along", found=[], source_id="a")
    again = health_notes("Dairy and I  don't get along", found=[], source_id="b")
    assert first[0].key.startswith(HEALTH_NOTE_PREFIX) and first[0].key == again[0].key
    assert first[0].source_ids == ["a"]


def test_remember_that_keeps_a_health_sentence_as_a_profile_note() -> None:
    [candidate] = remember_candidates("dairy and I do not get along", now=NOW, source_id="m")
    assert candidate.key.startswith(HEALTH_NOTE_PREFIX) and "get along" in candidate.text


def test_two_unread_health_sentences_of_one_message_are_one_note() -> None:
    text = "Dairy and I don't get along. Honestly nuts and I are not friends either, my lips go numb."
    assert notes_for(text) == [
        "User said: “Dairy and I don't get along. Honestly nuts and I are not friends either, my lips go numb.”"
    ]


@pytest.mark.parametrize(
    "message",
    [
        "Never mind the peanut thing… I'm not allergic after all",
        "I'm not allergic after all, the test was clear.",
        "forget the peanut allergy, it was a false alarm",
    ],
)
def test_a_retraction_is_never_kept_as_a_note(message: str) -> None:
    assert notes_for(message) == []
