"""The deterministic extraction rules on realistic messages, plus the messages that must yield nothing."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.learning.candidate import Candidate
from assistant.learning.explicit import extract_explicit
from assistant.learning.remember import remember_candidates
from assistant.memory.types import Kind, Origin

NOW = datetime(2025, 3, 3, 9, 30)  # a Monday
S, P, R = Kind.SEMANTIC, Kind.PREFERENCE, Kind.PROCEDURAL


def facts(message: str) -> set[tuple[Kind, str | None, str | None]]:
    return {
        (candidate.kind, candidate.key, candidate.value)
        for candidate in extract_explicit(message, now=NOW, source_id="msg-1")
        if not candidate.retracts
    }


EXPECTED: list[tuple[str, set[tuple[Kind, str | None, str | None]]]] = [
    # names
    ("My name is Sarah.", {(S, "user.name", "Sarah")}),
    ("my name is sarah connor", {(S, "user.name", "Sarah Connor")}),
    ("MY NAME IS TOM", {(S, "user.name", "TOM")}),
    ("Hi, I'm Tom, nice to meet you!", {(S, "user.name", "Tom")}),
    ("Hello! I am Zoë.", {(S, "user.name", "Zoë")}),
    ("My name’s Anne-Marie O'Neill", {(S, "user.name", "Anne-Marie O'Neill")}),
    ("I'm José", {(S, "user.name", "José")}),
    ("Please call me Sam.", {(P, "user.preferred_name", "Sam")}),
    ("you can call me Bob", {(P, "user.preferred_name", "Bob")}),
    ("I go by Liz", {(P, "user.preferred_name", "Liz")}),
    ("My surname is Okafor", {(S, "user.surname", "Okafor")}),
    # places
    ("I live in Lisbon", {(S, "user.home", "Lisbon")}),
    ("i live in lisbon", {(S, "user.home", "Lisbon")}),
    ("Actually, I live in New York City with my wife.", {(S, "user.home", "New York City")}),
    ("I currently live in the UK.", {(S, "user.home", "the UK")}),
    ("I moved to Berlin last year", {(S, "user.home", "Berlin")}),
    ("I've just moved to São Paulo!", {(S, "user.home", "São Paulo")}),
    ("I'm based in Toronto", {(S, "user.home", "Toronto")}),
    ("I'm from Brazil", {(S, "user.origin", "Brazil")}),
    ("I come from a small village in Wales", set()),
    ("I grew up in Manchester", {(S, "user.grew_up_in", "Manchester")}),
    ("I'm Portuguese", {(S, "user.nationality", "Portuguese")}),
    # work
    ("I work at Google", {(S, "user.work.employer", "Google")}),
    ("I work for the NHS as a nurse.", {(S, "user.work.employer", "the NHS"), (S, "user.work.role", "nurse")}),
    ("I work as a software engineer", {(S, "user.work.role", "software engineer")}),
    ("I'm a nurse.", {(S, "user.work.role", "nurse")}),
    (
        "I am a data scientist at Spotify",
        {(S, "user.work.role", "data scientist"), (S, "user.work.employer", "Spotify")},
    ),
    ("I'm a student at MIT", {(S, "user.work.role", "student"), (S, "user.education.school", "MIT")}),
    # what the user says about a family member
    (
        "I just moved to Porto, and my partner Rui is vegetarian.",
        {
            (S, "user.home", "Porto"),
            (S, "user.family.partner.name", "Rui"),
            (S, "user.family.partner.diet", "vegetarian"),
        },
    ),
    (
        "My wife Ana is allergic to nuts and shellfish.",
        {
            (S, "user.family.wife.name", "Ana"),
            (S, "user.family.wife.allergy.nut", "nuts"),
            (S, "user.family.wife.allergy.shellfish", "shellfish"),
        },
    ),
    (
        "My daughter Mia is allergic to peanuts, so no nuts please.",
        {(S, "user.family.daughter.mia", "Mia"), (S, "user.family.daughter.mia.allergy.peanut", "peanuts")},
    ),
    (
        "My husband, João, works at Siemens.",
        {(S, "user.family.husband.name", "João"), (S, "user.family.husband.employer", "Siemens")},
    ),
    ("My mom has diabetes.", {(S, "user.family.mother.health.diabetes", "diabetes")}),
    ("My sister lives in Madrid", {(S, None, "Madrid")}),  # which sister? no key, so no other sister supersedes it
    ("My sister lives in Paris and she loves it", {(S, None, "Paris")}),
    ("my partner honestly is vegetarian", set()),
    ("If my wife is allergic to nuts, what should I cook?", set()),
    ("Is my partner Rui vegetarian?", set()),
    # a full stop inside a name does not end it
    (
        "I work as a nurse at St. Mary's hospital and I'm allergic to penicillin.",
        {
            (S, "user.work.role", "nurse"),
            (S, "user.work.employer", "St. Mary's hospital"),
            (S, "user.allergy.penicillin", "penicillin"),
        },
    ),
    (
        "I work at Amazon.com as an engineer.",
        {(S, "user.work.employer", "Amazon.com"), (S, "user.work.role", "engineer")},
    ),
    ("I live in St. Louis.", {(S, "user.home", "St. Louis")}),
    (
        "I'm allergic to vitamin C. I live in Lisbon",
        {(S, "user.allergy.vitamin_c", "vitamin c"), (S, "user.home", "Lisbon")},
    ),
    ("I'm retired now", {(S, "user.work.role", "retired")}),
    ("I work for myself", {(S, "user.work.role", "self-employed")}),
    # family and pets
    ("My wife is called Ana", {(S, "user.family.wife.name", "Ana")}),
    ("my husband's name is mark", {(S, "user.family.husband.name", "Mark")}),
    ("My sister is named Priya.", {(S, "user.family.sister.priya", "Priya")}),
    (
        "My mum is called Helen and my dad is called Peter",
        {(S, "user.family.mother.name", "Helen"), (S, "user.family.father.name", "Peter")},
    ),
    ("I have two kids", {(S, "user.family.children.count", "2")}),
    ("I've got 3 children.", {(S, "user.family.children.count", "3")}),
    ("I have a daughter", {(S, "user.family.daughters.count", "1")}),
    ("I don't have any kids", {(S, "user.family.children.count", "0")}),
    ("I have a dog named Rex", {(S, "user.pet.dog", "Rex")}),
    ("My cat is called Miso", {(S, "user.pet.cat", "Miso")}),
    ("I have a cat.", {(S, "user.pet.cat", "cat")}),
    ("I'm married to Julia", {(S, "user.family.spouse.name", "Julia")}),
    # health and diet
    ("I'm allergic to shellfish", {(S, "user.allergy.shellfish", "shellfish")}),
    (
        "I am severely allergic to peanuts and tree nuts.",
        {(S, "user.allergy.peanut", "peanuts"), (S, "user.allergy.tree_nut", "tree nuts")},
    ),
    ("I'm allergic to penicillin, so be careful", {(S, "user.allergy.penicillin", "penicillin")}),
    ("I have a nut allergy", {(S, "user.allergy.nut", "nut")}),
    ("I have diabetes", {(S, "user.health.diabetes", "diabetes")}),
    ("I have type 1 diabetes", {(S, "user.health.type_1_diabetes", "type 1 diabetes")}),
    ("I was diagnosed with ADHD last year", {(S, "user.health.adhd", "adhd")}),
    ("I suffer from migraines", {(S, "user.health.migraines", "migraines")}),
    ("I'm diabetic", {(S, "user.health.diabetes", "diabetes")}),
    ("I'm lactose intolerant", {(S, "user.health.lactose_intolerance", "lactose intolerance")}),
    ("I'm vegetarian", {(S, "user.diet", "vegetarian")}),
    ("I am a vegan.", {(S, "user.diet", "vegan")}),
    ("I don't eat pork", {(S, "user.diet.avoids.pork", "pork")}),
    # likes and dislikes
    ("I love hiking", {(P, "user.likes.hiking", "hiking")}),
    ("I really enjoy hiking in the mountains", {(P, "user.likes.hiking_in_mountains", "hiking in the mountains")}),
    ("I like jazz a lot", {(P, "user.likes.jazz", "jazz")}),
    ("I'm a big fan of Studio Ghibli", {(P, "user.likes.studio_ghibli", "studio ghibli")}),
    ("I'm really into board games", {(P, "user.likes.board_games", "board games")}),
    ("I hate cilantro", {(P, "user.dislikes.cilantro", "cilantro")}),
    ("I can't stand country music", {(P, "user.dislikes.country_music", "country music")}),
    ("I don't like horror movies.", {(P, "user.dislikes.horror_movies", "horror movies")}),
    ("I’m not a fan of spicy food", {(P, "user.dislikes.spicy_food", "spicy food")}),
    # favourites
    ("My favourite colour is blue", {(P, "user.favourite.colour", "blue")}),
    ("Actually my favourite colour is now green", {(P, "user.favourite.colour", "green")}),
    ("my favorite color is GREEN!", {(P, "user.favourite.colour", "green")}),
    ("My fave band is Radiohead", {(P, "user.favourite.band", "radiohead")}),
    ("Green is my favourite colour.", {(P, "user.favourite.colour", "green")}),
    ("My favorite movies are the Godfather films", {(P, "user.favourite.movie", "the godfather films")}),
    # preferences
    ("Please keep answers short", {(P, "user.preference.answer_length", "short")}),
    ("Keep your replies brief please.", {(P, "user.preference.answer_length", "short")}),
    ("I like short answers", {(P, "user.preference.answer_length", "short")}),
    ("I prefer detailed explanations", {(P, "user.preference.answer_length", "detailed")}),
    ("Be concise.", {(P, "user.preference.answer_length", "short")}),
    ("I prefer tea over coffee", {(P, "user.preference.coffee_vs_tea", "tea")}),
    ("Please answer in Spanish", {(P, "user.preference.language", "Spanish")}),
    ("Please use metric units", {(P, "user.preference.units", "metric")}),
    ("Don't use emojis", {(P, "user.preference.emoji", "none")}),
    ("I prefer metric", {(P, "user.preference.units", "metric")}),
    (
        "Always ask before deleting files",
        {(R, "rule.always_ask_before_deleting_files", "Always ask before deleting files")},
    ),
    # dates and plans
    ("My birthday is March 3", {(S, "user.birthday", "--03-03")}),
    ("my birthday is on the 3rd of March", {(S, "user.birthday", "--03-03")}),
    ("I was born on 1990-07-14", {(S, "user.birthday", "1990-07-14")}),
    ("My bday is tomorrow!", {(S, "user.birthday", "--03-04")}),
    ("My mom's birthday is June 2", {(S, "user.family.mother.birthday", "--06-02")}),
    ("I'm flying to Tokyo next Friday", {(S, "user.plan.trip_tokyo", "2025-03-07")}),
    ("I have a dentist appointment tomorrow", {(S, "user.plan.dentist_appointment", "2025-03-04")}),
    ("I'm going to be in Paris next week", {(S, "user.plan.trip_paris", "2025-03-10")}),
    ("I'm moving to Berlin next month", {(S, "user.plan.move_berlin", "2025-04")}),
    # several facts in one message
    (
        "Hi! My name is Maria. I live in Porto and I work at a bakery. I'm allergic to cats.",
        {
            (S, "user.name", "Maria"),
            (S, "user.home", "Porto"),
            (S, "user.work.employer", "a bakery"),
            (S, "user.allergy.cat", "cats"),
        },
    ),
    ("I have two cats named Tom and Jerry, they are cute", {(S, "user.pet.cat", "Tom and Jerry")}),
    ("I'm 34 years old", {(S, "user.age", "34")}),
    ("I live in Lisbon. Just kidding, I live in Porto.", {(S, "user.home", "Porto")}),
    ("I love sushi but I hate olives", {(P, "user.likes.sushi", "sushi"), (P, "user.dislikes.olives", "olives")}),
]

NOTHING = [
    # questions
    "Do I live in Lisbon?",
    "what's my name?",
    "Where do I work",
    "am I allergic to peanuts?",
    "Can you call me a taxi?",
    "Is my favourite colour blue?",
    # hypotheticals
    "If I lived in Paris I'd eat croissants every day",
    "Imagine I'm a pirate called Jack.",
    "Suppose I work at NASA, what would I do?",
    "I wish I lived by the sea",
    "Pretend my name is Gandalf",
    # other people
    "My friend said she lives in Rome",
    "He told me he's allergic to shellfish",
    "My boss is a vegan",
    "Tom loves hiking",
    # the assistant's kind of text and small talk
    "I'm happy to help with that!",
    "I'm sorry, I can't help with that.",
    "I am an AI language model",
    "I'm tired",
    "I'm good, thanks",
    "I'm Sorry",
    "I live in fear of deadlines",
    "I like that idea",
    "I love you",
    "Never mind",
    "I'm going to bed",
    "ok",
    "",
    "   ",
    "🙂🙂🙂",
    "The weather in Lisbon is lovely",
    "I used to live in Paris",
    "My favourite colour was blue",
    "I think you live in the cloud",
]


@pytest.mark.parametrize(("message", "expected"), EXPECTED, ids=[m for m, _ in EXPECTED])
def test_rules_extract_the_expected_facts(message: str, expected: set[tuple[Kind, str | None, str | None]]) -> None:
    assert facts(message) == expected


@pytest.mark.parametrize(
    "message",
    ["My sister lives in Madrid", "My wife Ana is allergic to nuts", "my partner Rui is vegan", "My dad has gout"],
)
def test_a_fact_about_a_family_member_is_about_them_not_the_user(message: str) -> None:
    texts = [candidate.text for candidate in extract_explicit(message, now=NOW, source_id="msg-1")]
    assert texts and all(
        text.startswith(("User's sister", "User's wife", "User's partner", "User's father")) for text in texts
    )


@pytest.mark.parametrize("message", NOTHING)
def test_messages_that_state_nothing_about_the_user_yield_nothing(message: str) -> None:
    assert extract_explicit(message, now=NOW, source_id="msg-1") == []


def test_the_table_is_large_enough() -> None:
    assert len(EXPECTED) + len(NOTHING) >= 80 and len(EXPECTED) >= 80


def only(message: str) -> Candidate:
    found = [c for c in extract_explicit(message, now=NOW, source_id="msg-7") if not c.retracts]
    assert len(found) == 1, found
    return found[0]


def test_candidates_read_as_data_about_the_user() -> None:
    assert only("I live in Lisbon").text == "User lives in Lisbon"
    assert only("my favorite color is green").text == "User's favourite colour is green"
    assert only("I'm allergic to shellfish").text == "User is allergic to shellfish"
    assert only("call me Sam").text == "User prefers to be called Sam"
    assert only("I'm a nurse").text == "User works as a nurse"


def test_candidates_carry_source_and_origin() -> None:
    candidate = only("I live in Lisbon")
    assert candidate.source_ids == ["msg-7"]
    assert candidate.origin is Origin.EXTRACTED
    assert 0 < candidate.importance <= 1 and 0 < candidate.confidence <= 1


def test_a_restatement_gives_the_same_key_and_text() -> None:
    first = only("I live in Lisbon.")
    again = only("Just so you know, i live in lisbon!")
    assert (first.key, first.text, first.value) == (again.key, again.text, again.value)
    assert only("I like jazz").text == only("I love jazz").text


def test_a_changed_value_keeps_the_key() -> None:
    blue = only("My favourite colour is blue")
    green = only("Actually my favourite colour is now green")
    assert blue.key == green.key == "user.favourite.colour"
    assert (blue.value, green.value) == ("blue", "green")


def test_negation_ends_a_fact_instead_of_asserting_it() -> None:
    found = extract_explicit("I don't live in Paris anymore", now=NOW, source_id="m")
    assert [(c.key, c.value, c.retracts) for c in found] == [("user.home", "Paris", True)]
    assert "no longer" in found[0].text
    allergy = extract_explicit("I'm not allergic to cats anymore", now=NOW, source_id="m")
    assert [(c.key, c.retracts) for c in allergy] == [("user.allergy.cat", True)]
    work = extract_explicit("I quit my job at Acme", now=NOW, source_id="m")
    assert [(c.key, c.value, c.retracts) for c in work] == [("user.work.employer", "Acme", True)]


def test_disliking_something_ends_liking_it() -> None:
    found = extract_explicit("I hate olives now", now=NOW, source_id="m")
    assert {(c.key, c.retracts) for c in found} == {("user.dislikes.olives", False), ("user.likes.olives", True)}


def test_relative_dates_become_absolute_in_the_text() -> None:
    plan = only("I'm flying to Tokyo next Friday")
    assert "7 March 2025" in plan.text and "next" not in plan.text
    assert plan.text.startswith("User is flying to Tokyo")


def test_secrets_never_reach_a_candidate() -> None:
    found = extract_explicit("My name is Ana and my password is hunter22", now=NOW, source_id="m")
    assert [c.key for c in found] == ["user.name"]
    assert all("hunter22" not in c.text for c in found)


def test_unicode_and_odd_spacing_are_handled() -> None:
    assert facts("I\u00a0live\u2009in  Zürich") == {(S, "user.home", "Zürich")}
    assert facts("ＭＹ ＮＡＭＥ ＩＳ Ｋｅｎ") == {(S, "user.name", "Ken")}


def test_remember_uses_the_rules_when_they_apply() -> None:
    [candidate] = remember_candidates("I live in Lisbon", now=NOW, source_id="m")
    assert (candidate.key, candidate.origin, candidate.text) == ("user.home", Origin.EXPLICIT, "User lives in Lisbon")


def test_remember_keeps_anything_else_as_a_third_person_statement() -> None:
    [candidate] = remember_candidates("I need to call the bank tomorrow", now=NOW, source_id="m")
    assert candidate.key is None and candidate.origin is Origin.EXPLICIT
    assert candidate.text == "User needs to call the bank on Tuesday, 4 March 2025"
    [other] = remember_candidates("the spare key is under the blue pot", now=NOW, source_id="m")
    assert other.text == "The spare key is under the blue pot"


def test_remembering_a_secret_stores_nothing() -> None:
    assert remember_candidates("my bank password is Sup3rS3cret!", now=NOW, source_id="m") == []


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_rules_never_crash_on_any_text(text: str) -> None:
    for candidate in extract_explicit(text, now=NOW, source_id="m"):
        assert candidate.text.strip() and candidate.key


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from([message for message, _ in EXPECTED] + NOTHING) | st.text(max_size=30), min_size=1, max_size=4
    ).map(" ".join)
)
def test_rules_never_crash_on_mixed_messages(text: str) -> None:
    found = extract_explicit(text, now=NOW, source_id="m")
    assert all(0 < c.importance <= 1 for c in found)


def test_a_home_said_with_now_in_another_language_is_just_the_place() -> None:
    # From a CLI trial: "eu moro em Coimbra agora" was saved as "User lives in Coimbra agora".
    from assistant.learning.rules.other_languages import other_language_facts

    for sentence, place in [("eu moro em Coimbra agora.", "Coimbra"), ("vivo en Sevilla ahora", "Sevilla")]:
        assert [c.value for c in other_language_facts(sentence, "m1") if c.key == "user.home"] == [place]
