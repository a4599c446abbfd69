"""`extract_explicit`: the deterministic rules, run over each clause of what the user wrote.

The rules read the statements people make about themselves ("my name is", "I live in", "I'm
allergic to", "call me", "I prefer", plans with dates), so memory stays right even when the chat
model is tiny. Each family of rules lives in its own module under rules/; this module decides the
order they are tried in, skips clauses that are hypothetical or reported speech, and tidies what
the rules found.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from assistant.learning.candidate import Candidate, dedupe
from assistant.learning.rules import (
    allergies,
    birthdays,
    diet,
    everyday,
    family,
    family_facts,
    goals,
    health,
    home,
    identity,
    likes,
    other_languages,
    pets,
    plans,
    preferences,
    reactions,
    work,
)
from assistant.learning.rules.rule import Rule, RuleContext
from assistant.learning.rules.sentences import Clause, is_question, split_clauses, split_sentences
from assistant.learning.rules.words import NEGATED_TAIL
from assistant.memory.redact import redact
from assistant.memory.types import Origin

# The order rules are tried in is their priority. For each clause the rules run top to bottom
# and the first one that produces a (non-retracting) fact ends the search, so where two rules
# read the same words the earlier one wins: "Always answer in Spanish" is the reply-language
# preference, not a standing rule; "I'm Deaf" is a condition, not a name. The name said in
# passing ("I'm Tom") comes last so that every other reading of "I'm ..." wins. Retractions do
# not end the search. The order is the one the rules had in memory/extract.py before its split.
RULES_IN_ORDER: tuple[Rule, ...] = (
    identity.name_is,
    identity.surname,
    identity.call_me,
    identity.go_by,
    identity.nationality,
    identity.this_is,
    identity.name_here,
    home.lives_in,
    home.moved,
    home.no_longer_lives_in,
    home.comes_from,
    home.grew_up_in,
    home.living_in,
    home.settled_in,
    home.in_place_now,
    work.works_at,
    work.works_as,
    work.i_am_a,
    work.work_status,
    work.employer_retracted,
    work.quit_job,
    work.new_job,
    work.being_a,
    family.relation_named,
    family.family_count,
    family.family_none,
    pets.have_pet,
    family.married_to,
    family.no_more_of,
    family.new_baby,
    allergies.allergic,
    allergies.have_allergy,
    allergies.allergy_retracted,
    health.condition,
    health.condition_adjective,
    health.condition_retracted,
    diet.follows_diet,
    diet.diet_retracted,
    diet.does_not_eat,
    everyday.food_reaction,
    everyday.none_for_me,
    everyday.epipen_for,
    everyday.cannot_have,
    everyday.eats_only,
    everyday.went_diet,
    everyday.on_a_diet,
    everyday.on_medication,
    everyday.takes_medication,
    everyday.my_condition,
    everyday.been_dealing_with,
    family_facts.family_member_fact,
    pets.pet_named_in_passing,
    likes.likes,
    likes.fan_of,
    likes.dislikes,
    likes.favourite,
    likes.favourite_reversed,
    preferences.prefer,
    preferences.keep_answers,
    preferences.be_brief,
    preferences.give_me_answers,
    preferences.language,
    preferences.units,
    preferences.no_emoji,
    preferences.tone,
    preferences.standing_rule,
    birthdays.birthday,
    birthdays.relation_birthday,
    birthdays.age,
    birthdays.birth_year,
    plans.plan,
    plans.event,
    plans.my_event_is,
    plans.date_first,
    plans.bare_event,
    goals.want_to,
    goals.would_like_to,
    goals.my_goal,
    goals.working_on,
    identity.name_in_passing,
)

# Readers that look anywhere in a clause, run after the rule that read its start, for a fact the
# clause carries in passing ("I just moved to Braga for a job as a nurse": the home, then the job).
READ_IN_PASSING = (work.job_in_passing,)

# Words before the clause that make it not the user's own statement of fact.
_HYPOTHETICAL = re.compile(
    r"(?i)\b(?:if|suppose|supposing|imagine|imagining|pretend|pretending|hypothetically|what if|let's say|"
    r"lets say|say that|wish|wished|in a story|role-?play|character|dreamt|dreamed|dream that|unless|whether)\b"
)
_REPORTED = re.compile(
    r"(?i)\b(?:said|says|say|told|tells|tell|think|thinks|thought|believe|believes|claim|claims|claimed|asked|"
    r"asks|mentioned|wrote|writes|heard|according to|quote|quoted|reckons|assumes|assumed|guess|guessed)\b"
)


# "Let me tell you, I'm ...": the user telling, not reporting someone else.
_TELLING_YOU = re.compile(r"(?i)\b(?:let me tell you|i (?:should|must|have to|need to) tell you|gotta tell you)\b")


def _clause_candidates(clause: Clause, now: datetime, source_id: str, origin: Origin) -> list[Candidate]:
    before = _TELLING_YOU.sub("", clause.before)
    if _HYPOTHETICAL.search(before) or _REPORTED.search(before):
        return []
    head = clause.text
    if re.match(
        r"(?i)^(?:if|when|whether|unless|suppose|imagine|pretend|maybe|perhaps|i wish|i wonder|i think|"
        r"i guess|i believe|i heard|i dreamt|i dreamed|in my dream|what if)\b",
        head,
    ):
        return []
    ctx = RuleContext(now=now, source_id=source_id, origin=origin, clause=head, sentence=clause.sentence)
    found: list[Candidate] = []
    for rule in RULES_IN_ORDER:
        match = rule.pattern.match(head)
        if match is None:
            continue
        produced = rule.handler(match, ctx)
        if not produced:
            continue
        negated_later = NEGATED_TAIL.search(head) and not any(candidate.retracts for candidate in produced)
        if negated_later:
            continue  # "I live in Paris... not anymore"
        found.extend(produced)
        if any(not candidate.retracts for candidate in produced):
            break
    if not NEGATED_TAIL.search(head):
        keys = {candidate.key for candidate in found}
        for reader in READ_IN_PASSING:
            found.extend(candidate for candidate in reader(ctx) if candidate.key not in keys)
    return found


def _cleanup(candidate: Candidate) -> Candidate | None:
    redaction = redact(candidate.text)
    if redaction.found:
        return None  # a "fact" whose point is a secret is not worth keeping
    text = re.sub(r"\s+", " ", candidate.text).strip().rstrip(".,;:")
    return replace(candidate, text=text)


def _sentence_candidates(
    text: str, by_sentence: dict[str, list[Candidate]], source_id: str, origin: Origin
) -> list[Candidate]:
    """What only a whole sentence (or the message around it) says: an allergy told as a reaction
    ("my throat swells up when I eat peanuts"), a retraction that names its allergy a sentence earlier."""
    sentences = split_sentences(text)
    found: list[Candidate] = []
    for index, sentence in enumerate(sentences):
        if is_question(sentence):
            continue
        clause_found = by_sentence.get(sentence, [])
        if not any((c.key or "").startswith("user.allergy.") for c in clause_found):
            found.extend(reactions.reaction_allergies(sentence, sentences[:index], source_id))
        found.extend(reactions.bare_retractions(sentence, sentences, source_id))
        found.extend(other_languages.other_language_facts(sentence, source_id))
    return [replace(candidate, origin=origin) for candidate in found]


def extract_explicit(
    user_text: str,
    *,
    now: datetime,
    source_id: str,
    origin: Origin = Origin.EXTRACTED,
) -> list[Candidate]:
    """Deterministic candidates for what the user plainly says about themselves."""
    text = redact(user_text).text
    found: list[Candidate] = []
    by_sentence: dict[str, list[Candidate]] = {}
    for clause in split_clauses(text):
        produced = _clause_candidates(clause, now, source_id, origin)
        by_sentence.setdefault(clause.sentence, []).extend(produced)
        found.extend(produced)
    found.extend(_sentence_candidates(text, by_sentence, source_id, origin))
    cleaned = [candidate for candidate in map(_cleanup, found) if candidate is not None]
    return dedupe(cleaned)
