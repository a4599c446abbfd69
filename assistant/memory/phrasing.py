"""A question rewritten toward how its answer was said, and the people it names.

A question is not phrased like its answer: "When did Jon lose his job?" is answered by
"Jon: Lost my job as a banker yesterday". Deterministic rewrites, embedded beside the
question (each candidate is scored by the phrasing it matches best): the question words go,
the person asked about becomes the speaker, and their "his/her" becomes "my"; "I/my" in the
user's own question already speaks as the user. No model, no lookup: a few microseconds.
"""

from __future__ import annotations

import re

# Leading words that make a sentence a question; the rest is what the answer talks about.
_QUESTION_OPENING = re.compile(
    r"^\s*(?:(?:when|what|where|who|whom|whose|which|why|how(?:\s+(?:long|many|much|often|far|old))?)\b\s*)?"
    r"(?:(?:kind|type|sort|kinds|types)\s+of\s+\w+\s+)?"
    r"(?:(?:did|does|do|is|was|were|are|has|have|had|can|could|would|will|should)\b\s*)?",
    re.I,
)
_THIRD_PERSON = {
    "his": "my",
    "her": "my",
    "their": "our",
    "he": "I",
    "she": "I",
    "they": "we",
    "him": "me",
    "them": "us",
    "himself": "myself",
    "herself": "myself",
    "hers": "mine",
}
_PRONOUN = re.compile(r"\b(" + "|".join(_THIRD_PERSON) + r")\b", re.I)
_CAPITALISED = re.compile(r"\b([A-Z][a-z]+)(?:'s)?\b")
_NOT_NAMES = frozenset(
    "when what where who whom whose which why how did does do is was were are has have had can could would will "
    "should the a an i in on at and or but if my me "
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow last next".split()
)
MAX_PEOPLE = 2


def named_people(query: str) -> list[str]:
    """Capitalised words of the question that could be people ("Jon", "Gina"), in order, at most two."""
    names: list[str] = []
    for match in _CAPITALISED.finditer(query):
        name = match.group(1)
        if name.lower() not in _NOT_NAMES and name not in names:
            names.append(name)
    return names[:MAX_PEOPLE]


def answer_phrasings(query: str, people: list[str] | None = None) -> list[tuple[str, str]]:
    """The question said the way its answer would be, once per person it names (none if it names
    nobody), each with that person: recall uses a phrasing only if its person speaks among the
    candidates (a capitalised word may be a place or a film).

    "When did Jon lose his job as a banker?" -> [("Jon", "Jon: lose my job as a banker")].
    """
    people = named_people(query) if people is None else people
    if not people:
        return []
    core = _QUESTION_OPENING.sub("", query.strip().rstrip("?").strip(), count=1)
    phrasings = []
    for person in people:
        said = re.sub(rf"\b{re.escape(person)}'s\b", "my", core)
        for name in people:
            said = re.sub(rf"\b{re.escape(name)}(?:'s)?\b\s*", "", said)
        said = re.sub(r"^(?:(?:and|both|&)\s+)+", "", " ".join(said.split()), flags=re.I)
        said = _PRONOUN.sub(lambda match: _THIRD_PERSON[match.group(1).lower()], said)
        if said and said.lower() != query.lower():
            phrasings.append((person, f"{person}: {said}"))
    return phrasings
