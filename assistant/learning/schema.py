"""The fact schema: every kind of fact the assistant learns about the user, stated once, as data.

Each row of `FACT_TYPES` says, for one key template: which family it belongs to, its memory kind,
its cardinality (`one`: a new value supersedes the current one; `many`: values sit side by
side, each under its own key), its importance, whether it is in the always-present profile,
how it reads to the user ("Your name is Ana") and to the model ("User's name is Ana"), and the
keys a model may use for it. The tables other modules used to repeat (the model-key mapping,
the profile's key prefixes, importances, the safety families) are derived from it here.

The store supersedes by key (memory/memories.py), so cardinality lives in the templates: a
`many` family puts the value in its key ("user.allergy.{thing}"), so each value is its own fact;
a `one` family has one key per person ("user.home"), so a new value replaces the old.
A template's `{slot}` stands for one key part (`[a-z0-9_]+`); a template ending in `{rest}`
takes the remaining parts too. Rows are matched in order, so the more specific come first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from assistant.memory.types import Kind

ONE = "one"
MANY = "many"


@dataclass(frozen=True)
class FactType:
    template: str
    family: str
    kind: Kind
    cardinality: str
    importance: float
    in_profile: bool
    shown: str  # to the user: "Your name is {value}"
    for_model: str  # where the model reads it: "User's name is {value}"
    aliases: tuple[str, ...] = ()

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compile(self.template)

    @property
    def prefix(self) -> str:
        """The literal start of the template ("user.allergy." for "user.allergy.{thing}")."""
        return self.template.split("{", 1)[0]


def _row(
    template: str,
    family: str,
    kind: Kind,
    cardinality: str,
    importance: float,
    in_profile: bool,
    shown: str,
    for_model: str,
    aliases: str = "",
) -> FactType:
    return FactType(
        template, family, kind, cardinality, importance, in_profile, shown, for_model, tuple(aliases.split())
    )


S, P, R = Kind.SEMANTIC, Kind.PREFERENCE, Kind.PROCEDURAL
# fmt: off
FACT_TYPES: tuple[FactType, ...] = (
    _row("user.name", "name", S, ONE, 0.9, True, "Your name is {value}", "User's name is {value}",
         "name full_name first_name username"),
    _row("user.preferred_name", "name", P, ONE, 0.85, True, "You like to be called {value}",
         "User prefers to be called {value}", "nickname preferred_name call_me"),
    _row("user.surname", "name", S, ONE, 0.7, False, "Your surname is {value}", "User's surname is {value}",
         "surname last_name family_name"),
    _row("user.nationality", "home", S, ONE, 0.6, False, "You are {value}", "User is {value}", "nationality"),
    _row("user.home", "home", S, ONE, 0.8, False, "You live in {value}", "User lives in {value}",
         "location city home residence lives_in home_city current_city location.city"),
    _row("user.origin", "home", S, ONE, 0.7, False, "You are from {value}", "User is from {value}",
         "hometown origin from birthplace"),
    _row("user.grew_up_in", "home", S, ONE, 0.6, False, "You grew up in {value}", "User grew up in {value}",
         "grew_up_in"),
    _row("user.work.role", "work", S, ONE, 0.7, False, "You work as {value}", "User works as {value}",
         "job occupation role profession job_title work.role"),
    _row("user.work.employer", "work", S, ONE, 0.7, False, "You work at {value}", "User works at {value}",
         "employer company workplace work work.employer"),
    _row("user.education.school", "work", S, ONE, 0.7, False, "You study at {value}", "User studies at {value}",
         "school university education.school"),
    # What the user says about a relative is the relative's, under their key; allergies, health and
    # diet stay in their safety family (and in the profile: the user cooks and cares for them).
    _row("user.family.{relation}.allergy.{thing}", "allergy", S, MANY, 0.95, True,
         "Your {relation} is allergic to {value}", "User's {relation} is allergic to {value}"),
    _row("user.family.{relation}.{name}.allergy.{thing}", "allergy", S, MANY, 0.95, True,
         "Your {relation} is allergic to {value}", "User's {relation} is allergic to {value}"),
    _row("user.family.{relation}.health.{condition}", "health", S, MANY, 0.85, True,
         "Your {relation} has {value}", "User's {relation} has {value}"),
    _row("user.family.{relation}.{name}.health.{condition}", "health", S, MANY, 0.85, True,
         "Your {relation} has {value}", "User's {relation} has {value}"),
    _row("user.family.{relation}.diet", "diet", S, ONE, 0.85, True,
         "Your {relation} is {value}", "User's {relation} is {value}"),
    _row("user.family.{relation}.{name}.diet", "diet", S, ONE, 0.85, True,
         "Your {relation} is {value}", "User's {relation} is {value}"),
    _row("user.family.{relation}.diet.avoids.{food}", "diet", S, MANY, 0.9, True,
         "Your {relation} can't have {value}", "User's {relation} can't have {value}"),
    _row("user.family.{relation}.{name}.diet.avoids.{food}", "diet", S, MANY, 0.9, True,
         "Your {relation} can't have {value}", "User's {relation} can't have {value}"),
    _row("user.family.{relation}.birthday", "birthday", S, ONE, 0.7, False,
         "Your {relation}'s birthday is {value}", "User's {relation}'s birthday is {value}"),
    _row("user.family.{relation}.{rest}", "family", S, ONE, 0.75, False, "Your {relation}: {value}",
         "User's {relation}: {value}",
         "family"),
    _row("user.pet.{rest}", "pet", S, ONE, 0.6, False, "Your pet: {value}", "User's pet: {value}", "pet pets"),
    _row("user.allergy.{thing}", "allergy", S, MANY, 0.95, True, "You are allergic to {value}",
         "User is allergic to {value}", "allergy allergies allergic_to"),
    _row("user.health.note.{digest}", "health", S, MANY, 0.9, True, "You said: {value}", "User said: {value}"),
    _row("user.health.{condition}", "health", S, MANY, 0.9, True, "You have {value}", "User has {value}",
         "health condition medical_condition medication"),
    _row("user.diet.avoids.{food}", "diet", S, MANY, 0.8, True, "You don't eat {value}", "User doesn't eat {value}"),
    _row("user.diet", "diet", S, ONE, 0.85, True, "You are {value}", "User is {value}",
         "diet dietary_preference dietary_restriction"),
    _row("user.birthday", "birthday", S, ONE, 0.75, False, "Your birthday is {value}", "User's birthday is {value}",
         "birthday date_of_birth dob"),
    _row("user.age", "birthday", S, ONE, 0.6, False, "You are {value} years old", "User is {value} years old", "age"),
    _row("user.birth_year", "birthday", S, ONE, 0.6, False, "You were born in {value}", "User was born in {value}",
         "birth_year year_of_birth"),
    _row("user.preference.answer_length", "communication", P, ONE, 0.7, False, "You prefer {value} answers",
         "User prefers {value} answers", "answer_length response_length"),
    _row("user.preference.language", "communication", P, ONE, 0.75, False, "You prefer replies in {value}",
         "User prefers replies in {value}", "language preferred_language"),
    _row("user.preference.tone", "communication", P, ONE, 0.65, False, "You prefer a {value} tone",
         "User prefers a {value} tone", "tone"),
    _row("user.preference.emoji", "communication", P, ONE, 0.6, False, "You prefer no emojis", "User prefers no emojis",
         "emoji"),
    _row("user.preference.units", "communication", P, ONE, 0.7, False, "You prefer {value} units",
         "User prefers {value} units", "units"),
    _row("user.preference.format", "communication", P, ONE, 0.7, False, "You prefer {value}", "User prefers {value}",
         "format"),
    _row("rule.{rest}", "communication", R, ONE, 0.8, False, "{value}", "{value}"),
    _row("user.preference.{topic}", "preference", P, ONE, 0.7, False, "You prefer {value}", "User prefers {value}",
         "preference"),
    _row("user.likes.{thing}", "preference", P, MANY, 0.5, False, "You like {value}", "User likes {value}",
         "likes hobby hobbies"),
    _row("user.dislikes.{thing}", "preference", P, MANY, 0.5, False, "You dislike {value}", "User dislikes {value}",
         "dislikes"),
    _row("user.favourite.{category}", "preference", P, ONE, 0.55, False, "Your favourite {category} is {value}",
         "User's favourite {category} is {value}", "favourite"),
    _row("user.plan.{rest}", "plan", S, ONE, 0.6, False, "Your plan: {value}", "User's plan: {value}",
         "plan plans event appointment"),
    _row("user.goal.{rest}", "goal", S, ONE, 0.65, False, "Your goal: {value}", "User's goal: {value}",
         "goal goals aim ambition"),
    _row("user.note.{family}.{digest}", "note", S, MANY, 0.6, False, "You said: {value}", "User said: {value}"),
)
# fmt: on
# What the model's extraction may name (model_extraction.py): a slot and the user's own words for
# its value. Few slots, a closed list: a small grammar the starter model answers in seconds.
MODEL_SLOTS: dict[str, str] = {
    "name": "user.name",
    "home": "user.home",
    "job": "user.work.role",
    "employer": "user.work.employer",
    "allergy": "user.allergy.{thing}",
    "health": "user.health.{condition}",
    "diet": "user.diet",
    "pet": "user.pet.{rest}",
    "likes": "user.likes.{thing}",
    "dislikes": "user.dislikes.{thing}",
    "preference": "user.preference.{topic}",
    "plan": "user.plan.{rest}",
    "goal": "user.goal.{rest}",
    "rule": "rule.{rest}",
}
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(row.family for row in FACT_TYPES if row.family != "note"))
# Families whose loss can hurt the user: a statement of theirs the rules miss is kept verbatim (safety_net.py).
SAFETY_FAMILIES = frozenset({"allergy", "health", "diet"})
# Keys a model may not hand out: their values must be read from the user's words by the rules.
RULE_ONLY_FAMILIES = frozenset({"name", "home", "work", "family", "allergy", "health", "diet", "birthday", "pet"})


@cache
def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", template)
    regex = ""
    for part in parts:
        if part == "{rest}":
            regex += r"(?P<rest>\w+(?:\.\w+)*)"  # \w: a name's slug keeps its accents ("ines" is not "inês")
        elif part.startswith("{"):
            regex += rf"(?P<{part[1:-1]}>\w+)"
        else:
            regex += re.escape(part)
    return re.compile(regex)


@cache
def fact_type(key: str | None) -> FactType | None:
    """The schema row a key belongs to, or None for a key the schema does not know."""
    if not key:
        return None
    return next((row for row in FACT_TYPES if row.pattern.fullmatch(key)), None)


def family_of(key: str | None) -> str | None:
    row = fact_type(key)
    return row.family if row else None


def importance_of(key: str | None, default: float = 0.5) -> float:
    row = fact_type(key)
    return row.importance if row else default


def supersedes(key: str | None) -> bool:
    """A new value under this key replaces the current one (cardinality one)."""
    row = fact_type(key)
    return row is None or row.cardinality == ONE


def in_profile(key: str | None) -> bool:
    row = fact_type(key)
    return bool(row and row.in_profile)


def model_aliases() -> dict[str, str]:
    """A model's key ("city", "dob") -> the schema's key ("user.home", "user.birthday"), for fixed keys."""
    aliases: dict[str, str] = {}
    for row in FACT_TYPES:
        for alias in row.aliases:
            if "{" not in row.template:
                aliases.setdefault(alias, row.template)
    return aliases


def model_key_families() -> frozenset[str]:
    """The first key part ("allergy" of "user.allergy.peanut") of every user.* template."""
    return frozenset(
        row.template.removeprefix("user.").split(".", 1)[0] for row in FACT_TYPES if row.template.startswith("user.")
    )


def rule_only(key: str) -> bool:
    """Only the rules may give this key: its value must be read from the user's words, not guessed."""
    row = fact_type(key)
    return row is not None and (row.family in RULE_ONLY_FAMILIES or row.prefix in _RULE_ONLY_PREFERENCES)


_RULE_ONLY_PREFERENCES = frozenset({"user.likes.", "user.dislikes.", "user.favourite."})


def profile_key_prefixes() -> tuple[str, ...]:
    """The key prefixes of the facts always in context, derived from the schema's in_profile rows.

    The profile is read with a prefix query, so a row counts only when no row outside the
    profile shares its prefix (a relative's allergy, under "user.family.", is found by recall).
    """
    outside = [row.template for row in FACT_TYPES if not row.in_profile]
    prefixes: list[str] = []
    for row in FACT_TYPES:
        prefix = row.prefix
        if not row.in_profile or any(template.startswith(prefix) for template in outside):
            continue
        if not any(prefix.startswith(kept) for kept in prefixes):
            prefixes = [kept for kept in prefixes if not kept.startswith(prefix)] + [prefix]
    return tuple(prefixes)


def _slots(row: FactType, key: str) -> dict[str, str]:
    match = row.pattern.fullmatch(key)
    return {name: part for name, part in match.groupdict().items() if part} if match else {}


def phrase(key: str | None, value: str, *, for_model: bool = False) -> str | None:
    """A keyed fact in the schema's words: "Your name is Ana" for the user, "User's name is Ana" for the model."""
    row = fact_type(key)
    if row is None or key is None:
        return None
    slots = {name: part.replace("_", " ") for name, part in _slots(row, key).items()}
    template = row.for_model if for_model else row.shown
    try:
        return template.format(value=value, **slots)
    except KeyError:
        return None


_VERB = re.compile(r"^User (?:(?P<no>no longer|doesn't|does not) )?(?P<verb>[a-z]+)\b")
_IRREGULAR = {"is": "are", "was": "were", "has": "have", "said": "said", "'s": "'s", "doesn't": "don't"}


def second_person(text: str) -> str:
    """A memory's text as the user reads it: "User lives in Porto" -> "You live in Porto"."""
    if text.startswith("User's "):
        return "Your " + text[len("User's ") :]
    match = _VERB.match(text)
    if match is None:
        return text
    verb = match.group("verb")
    if match.group("no"):
        lead = "You don't" if match.group("no") != "no longer" else "You no longer"
        return f"{lead} {_plain(verb) if match.group('no') == 'no longer' else verb}" + text[match.end() :]
    return f"You {_IRREGULAR.get(verb) or _plain(verb)}" + text[match.end() :]


def _plain(verb: str) -> str:
    if verb in _IRREGULAR:
        return _IRREGULAR[verb]
    if verb.endswith("ies"):
        return verb[:-3] + "y"
    if verb.endswith(("ses", "shes", "ches", "xes", "zes")):
        return verb[:-2]
    return verb[:-1] if verb.endswith("s") and not verb.endswith("ss") else verb
