"""The model's keys mapped onto the schema's keys ("favorite color" -> "user.favourite.colour").

The aliases and key families come from assistant/learning/schema.py.
"""

from __future__ import annotations

import re

from assistant.learning.schema import model_aliases, model_key_families
from assistant.memory.language import singular, slug

# Derived from the fact schema: a model's "city" or "dob" is the rules' "user.home" or "user.birthday".
_KEY_ALIASES = model_aliases()
_KEY_FAMILIES = model_key_families()


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
