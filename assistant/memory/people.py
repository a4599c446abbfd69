"""The people a question names: "When did Jon lose his job?" asks about Jon.

Capitalised words past the question words, without months, weekdays and the like; recall
treats one as a person only if it is the speaker of some of its candidates (a capitalised
word may as well be a city or a film). Measured on LoCoMo dev (benchmarks/recall_quality.py):
ranking the named person's own messages first added 5 points of R@5; embedding the question
rewritten the way its answer is said ("Jon: lose my job as a banker") beside it changed R@5
by -0.007 and R@10 by +0.007, not worth a second embedding per query, so it is not done.
"""

from __future__ import annotations

import re

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
