"""Scoring extraction against a labelled corpus: precision and recall per fact family.

The corpus (tests/data/extraction/*.jsonl) has one message a line: the user's text, the facts
it states (`facts`: [key, value] pairs; a key may be a glob such as "user.plan.*", or "~family"
for a fact that is rightly unkeyed, such as which of several sisters lives where; a value of
null accepts any value) and the facts it ends (`retracts`). A message with neither must yield
nothing. Both the unit tests and benchmarks/extraction_quality.py score with this module.

A note from the safety net (a verbatim quote) counts for an expected fact of its family when it
quotes the fact's value: the fact is not lost, though it is not keyed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from assistant.learning.candidate import Candidate
from assistant.learning.safety_net import note_family
from assistant.learning.schema import FAMILIES, SAFETY_FAMILIES, family_of

Expected = tuple[str, str | None]


@dataclass(frozen=True)
class Case:
    text: str
    facts: tuple[Expected, ...]
    retracts: tuple[Expected, ...]
    source: str  # file:line, for messages

    @property
    def negative(self) -> bool:
        return not self.facts and not self.retracts


@dataclass
class FamilyScore:
    expected: int = 0
    found: int = 0
    produced: int = 0
    true: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        return self.true / self.produced if self.produced else 1.0


@dataclass
class Score:
    families: dict[str, FamilyScore] = field(default_factory=lambda: {name: FamilyScore() for name in FAMILIES})
    false_on_negatives: int = 0
    misses: list[str] = field(default_factory=list)
    false_facts: list[str] = field(default_factory=list)

    @property
    def produced(self) -> int:
        return sum(score.produced for score in self.families.values())

    @property
    def false_rate(self) -> float:
        false = sum(score.produced - score.true for score in self.families.values())
        return false / self.produced if self.produced else 0.0


def load_corpus(folder: Path) -> list[Case]:
    cases: list[Case] = []
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            cases.append(
                Case(
                    text=row["text"],
                    facts=tuple((key, value) for key, value in row.get("facts", [])),
                    retracts=tuple((key, value) for key, value in row.get("retracts", [])),
                    source=f"{path.name}:{number}",
                )
            )
    return cases


def expected_family(key: str) -> str:
    """The family of an expected key, globs included ("user.plan.*" -> "plan")."""
    if key.startswith("~"):
        return key[1:]
    return family_of(key.replace("*", "x")) or "unknown"


def _value_matches(expected: str | None, actual: str | None) -> bool:
    if expected is None:
        return True
    if actual is None:
        return False
    want, got = expected.casefold(), actual.casefold()
    return want in got or got in want


def _fact_hit(fact: Expected, candidate: Candidate) -> bool:
    key, value = fact
    if candidate.retracts:
        return False
    if key.startswith("~"):
        return candidate.key is None and _value_matches(value, candidate.text)
    if candidate.key and fnmatchcase(candidate.key, key):
        return _value_matches(value, candidate.value)
    family = note_family(candidate.key)
    wanted = expected_family(key)
    # A quoted note holds the fact when it belongs to the fact's family (a health note: any safety
    # family) and quotes its value.
    same = family == wanted or (family == "health" and wanted in SAFETY_FAMILIES)
    return family is not None and same and _value_matches(value, candidate.text)


def _retraction_hit(fact: Expected, candidate: Candidate) -> bool:
    key, value = fact
    return (
        candidate.retracts
        and bool(candidate.key)
        and fnmatchcase(candidate.key or "", key)
        and (value is None or candidate.value is None or _value_matches(value, candidate.value))
    )


def _counted(candidates: Sequence[Candidate]) -> list[Candidate]:
    """What a method claims: every fact, and every retraction that is not the flip side of a fact
    it also gives ("I love tea" also ends "dislikes tea")."""
    positive_values = {(c.value or "").casefold() for c in candidates if not c.retracts}
    return [c for c in candidates if not c.retracts or (c.value or "").casefold() not in positive_values]


def _candidate_family(candidate: Candidate) -> str:
    return note_family(candidate.key) or family_of(candidate.key) or "unknown"


def score(cases: Iterable[Case], extract: Callable[[str], list[Candidate]]) -> Score:
    result = Score()
    for case in cases:
        candidates = _counted(extract(case.text))
        if case.negative:
            result.false_on_negatives += len(candidates)
        for fact in case.facts:
            family = result.families.setdefault(expected_family(fact[0]), FamilyScore())
            family.expected += 1
            if any(_fact_hit(fact, candidate) for candidate in candidates):
                family.found += 1
            else:
                result.misses.append(f"{case.source} {fact[0]}={fact[1]!r}: {case.text!r}")
        for fact in case.retracts:
            family = result.families.setdefault(expected_family(fact[0]), FamilyScore())
            family.expected += 1
            if any(_retraction_hit(fact, candidate) for candidate in candidates):
                family.found += 1
            else:
                result.misses.append(f"{case.source} ends {fact[0]}: {case.text!r}")
        for candidate in candidates:
            hits = [f for f in case.facts if _fact_hit(f, candidate)] + [
                f for f in case.retracts if _retraction_hit(f, candidate)
            ]
            family_name = expected_family(hits[0][0]) if hits else _candidate_family(candidate)
            family = result.families.setdefault(family_name, FamilyScore())
            family.produced += 1
            if hits:
                family.true += 1
            else:
                ended = " (ends)" if candidate.retracts else ""
                result.false_facts.append(f"{case.source} {candidate.key}{ended}: {candidate.text!r}")
    return result


def table(scores: dict[str, Score]) -> str:
    """Per family: recall and precision of each method, side by side."""
    methods = list(scores)
    header = f"{'family':<14}" + "".join(f"{name + ' R':>14}{name + ' P':>14}" for name in methods)
    lines = [header]
    names = list(dict.fromkeys(name for score in scores.values() for name in score.families))
    for name in names:
        cells = ""
        for method in methods:
            family = scores[method].families.get(name, FamilyScore())
            cells += f"{family.recall:>14.2f}{family.precision:>14.2f}"
        if any(scores[method].families.get(name, FamilyScore()).expected for method in methods) or any(
            scores[method].families.get(name, FamilyScore()).produced for method in methods
        ):
            lines.append(f"{name:<14}" + cells)
    lines.append(
        f"{'false facts':<14}"
        + "".join(f"{scores[m].false_rate:>14.1%}{scores[m].false_on_negatives:>14}" for m in methods)
        + "   (share of all produced; count on negatives)"
    )
    return "\n".join(lines)
