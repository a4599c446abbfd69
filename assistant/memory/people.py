"""The people a question names: "When did Jon lose his job?" asks about Jon.

Capitalised words past the question words, without months, weekdays and the like; recall
treats one as a person only if it is the speaker of some of its candidates (a capitalised
word may as well be a city or a film). Measured on LoCoMo dev (benchmarks/recall_quality.py):
ranking the named person's own messages first added 5 points of R@5; embedding the question
rewritten the way its answer is said ("Jon: lose my job as a banker") beside it changed R@5
by -0.007 and R@10 by +0.007, not worth a second embedding per query, so it is not done.

The name of someone who speaks is left out of the question's embedding. Each of Evan's
messages is embedded as "Evan: ...", and the other person's are full of "Hey Evan!": the name
matches half the conversation alike and drowns what the question asks, so "What does Evan
enjoy painting?" is embedded as "What does enjoy painting?" (fusion.by_speaker still puts
Evan's own words first). Measured on LoCoMo dev (benchmarks/recall_quality.py): R@5 0.693 ->
0.716, R@10 0.769 -> 0.795, multi-hop R@10 0.478 -> 0.514, R@1 0.430 -> 0.421; the synthetic
set unchanged (its questions name nobody who speaks). Searching by both phrasings gained less
than half of it; the words' search keeps the name (without it R@10 fell to 0.758); a name
nobody speaks under ("Where does my neighbour Zara work?") stays: there it is what the answer says.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_CAPITALISED = re.compile(r"\b([A-Z][a-z]+)(?:['’]s)?\b")
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


# Words that are no subject of their own: a question left with none of anything else ("Who is
# Jon?") keeps its name.
_NO_SUBJECT = _NOT_NAMES | frozenset("about tell say said know knows anything something everything".split())


def without_names(query: str, names: Sequence[str]) -> str:
    """`query` without `names` (and their possessive "Jon's"), or `query` itself when nothing
    it asks about would be left."""
    if not names:
        return query
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(name) for name in names) + r")(?:['’]s)?\b")
    left = " ".join(pattern.sub(" ", query).split())
    subject = [word for word in re.findall(r"[a-z]{3,}", left.lower()) if word not in _NO_SUBJECT]
    return left if subject else query
