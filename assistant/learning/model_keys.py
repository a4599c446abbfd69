"""The model's keys mapped onto the rules' key scheme ("favorite color" -> "user.favourite.colour")."""

from __future__ import annotations

import re

from assistant.memory.language import singular, slug

_KEY_ALIASES = dict(
    pair.split("=")
    for pair in (
        "name=user.name|full_name=user.name|first_name=user.name|username=user.name|"
        "nickname=user.preferred_name|preferred_name=user.preferred_name|call_me=user.preferred_name|"
        "location=user.home|city=user.home|home=user.home|residence=user.home|lives_in=user.home|"
        "home_city=user.home|current_city=user.home|location.city=user.home|hometown=user.origin|"
        "origin=user.origin|from=user.origin|birthplace=user.origin|nationality=user.nationality|"
        "job=user.work.role|occupation=user.work.role|role=user.work.role|profession=user.work.role|"
        "job_title=user.work.role|work.role=user.work.role|employer=user.work.employer|"
        "company=user.work.employer|workplace=user.work.employer|work=user.work.employer|"
        "work.employer=user.work.employer|birthday=user.birthday|date_of_birth=user.birthday|"
        "dob=user.birthday|diet=user.diet|dietary_preference=user.diet|language=user.preference.language|"
        "preferred_language=user.preference.language|units=user.preference.units|"
        "answer_length=user.preference.answer_length|response_length=user.preference.answer_length|"
        "tone=user.preference.tone|school=user.education.school|university=user.education.school"
    ).split("|")
)
_KEY_FAMILIES = (
    "name",
    "preferred_name",
    "surname",
    "home",
    "origin",
    "nationality",
    "grew_up_in",
    "work",
    "family",
    "allergy",
    "health",
    "likes",
    "dislikes",
    "favourite",
    "preference",
    "birthday",
    "birth_year",
    "pet",
    "plan",
    "diet",
    "education",
    "goal",
    "hobby",
    "skill",
    "language",
)
# Keys only the deterministic rules may hand out: their values must be read, not guessed.
RULE_ONLY_FAMILIES = {
    "name",
    "preferred_name",
    "surname",
    "home",
    "origin",
    "nationality",
    "work",
    "family",
    "allergy",
    "health",
    "birthday",
    "birth_year",
    "diet",
    "favourite",
    "likes",
    "dislikes",
    "pet",
}


def normalize_key(raw: str | None, text: str = "") -> str | None:
    """Map a model's key onto the rules' scheme ("favorite color" -> "user.favourite.colour")."""
    if not raw:
        return None
    key = raw.strip().lower().replace("color", "colour").replace("favorite", "favourite").replace("fave", "favourite")
    key = re.sub(r"[\s/-]+", "_", key)
    key = re.sub(r"[^a-z0-9_.]", "", key).strip("._")
    key = re.sub(r"\.+", ".", key).removeprefix("user.").removeprefix("user_").removeprefix("users.")
    if not key:
        return None
    if key in _KEY_ALIASES:
        return _KEY_ALIASES[key]
    for prefix, family in (
        ("favourite_", "favourite"),
        ("allergic_to_", "allergy"),
        ("allergy_", "allergy"),
        ("likes_", "likes"),
        ("dislikes_", "dislikes"),
        ("plan_", "plan"),
        ("pet_", "pet"),
    ):
        if key.startswith(prefix):
            key = f"{family}.{key.removeprefix(prefix)}"
    if key == "allergy" or key == "allergies":
        thing = re.search(r"(?i)allergic to\s+([\w -]+)", text)
        return f"user.allergy.{slug(singular(thing.group(1)))}" if thing else None
    family = key.split(".", 1)[0]
    if family not in _KEY_FAMILIES or len(key) > 60:
        return None
    return "user." + key
