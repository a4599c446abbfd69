"""The extraction corpus (tests/data/extraction): floors on recall and precision per family, rules + safety net."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from assistant.learning import explicit
from assistant.learning.candidate import Candidate
from assistant.learning.evaluation import Score, expected_family, load_corpus, score
from assistant.learning.explicit import extract_explicit
from assistant.learning.safety_net import net_notes
from assistant.learning.schema import FAMILIES, SAFETY_FAMILIES, fact_type, family_of

CORPUS = Path(__file__).resolve().parent.parent / "data" / "extraction"
NOW = datetime(2025, 3, 3, 9, 30)
# Floors: CI fails when the rules + net fall below them on this corpus. Every family's recall is
# at least 0.9 and a safety family's 1.0; every family's precision 1.0 (session 7: all reach 1.0).
# Raise them, never lower them quietly.
RECALL_FLOORS = {family: 0.9 for family in FAMILIES} | {family: 1.0 for family in SAFETY_FAMILIES}
PRECISION_FLOORS = {family: 1.0 for family in FAMILIES}
FALSE_FACT_CEILING = 0.02  # share of everything produced


def below_floors(scored: Score) -> list[str]:
    """Every floor this score breaks, in words (empty when it keeps them all)."""
    broken = []
    for family in FAMILIES:
        result = scored.families[family]
        if result.recall < RECALL_FLOORS[family]:
            broken.append(f"{family} recall {result.recall:.2f} < {RECALL_FLOORS[family]}")
        if result.precision < PRECISION_FLOORS[family]:
            broken.append(f"{family} precision {result.precision:.2f} < {PRECISION_FLOORS[family]}")
    if scored.false_rate > FALSE_FACT_CEILING:
        broken.append(f"false facts {scored.false_rate:.1%} > {FALSE_FACT_CEILING:.0%}")
    return broken


def rules_and_net(text: str) -> list[Candidate]:
    found = extract_explicit(text, now=NOW, source_id="m")
    return [*found, *net_notes(text, found=found, source_id="m")]


@pytest.fixture(scope="module")
def result() -> Score:
    return score(load_corpus(CORPUS), rules_and_net)


def test_the_corpus_has_ten_paraphrases_and_five_negatives_per_family() -> None:
    cases = load_corpus(CORPUS)
    for path in CORPUS.glob("*.jsonl"):
        rows = [case for case in cases if case.source.startswith(path.name + ":")]
        assert sum(not case.negative for case in rows) >= 10, path.name
        assert sum(case.negative for case in rows) >= 5, path.name
    for case in cases:
        for key, _ in (*case.facts, *case.retracts):
            assert expected_family(key) in FAMILIES, f"{case.source}: {key} is not in the schema"


@pytest.mark.parametrize("family", FAMILIES)
def test_recall_of_rules_and_net_stays_above_its_floor(result: Score, family: str) -> None:
    scored = result.families[family]
    assert scored.expected, f"no expected facts for {family}"
    misses = [miss for miss in result.misses if family in miss or family == "unknown"]
    assert scored.recall >= RECALL_FLOORS[family], f"{family} recall {scored.recall:.2f}: {misses}"


@pytest.mark.parametrize("family", FAMILIES)
def test_precision_of_rules_and_net_stays_above_its_floor(result: Score, family: str) -> None:
    assert result.families[family].precision >= PRECISION_FLOORS[family], result.false_facts


def test_the_rules_and_net_keep_every_floor(result: Score) -> None:
    assert below_floors(result) == [], result.misses + result.false_facts


@pytest.mark.parametrize("family", sorted(SAFETY_FAMILIES))
def test_the_floors_catch_a_lost_safety_family(family: str) -> None:
    """The floor check can fail: an extractor that drops one safety family breaks its recall floor."""

    def losing(text: str) -> list[Candidate]:
        return [
            c
            for c in rules_and_net(text)
            if family_of(c.key) != family and not (c.key or "").startswith("user.health.note.")
        ]

    broken = below_floors(score(load_corpus(CORPUS), losing))
    assert any(line.startswith(f"{family} recall") for line in broken), broken


def test_the_floors_catch_false_facts() -> None:
    """...and an extractor that adds a false fact to every message breaks the precision floors."""

    def inventing(text: str) -> list[Candidate]:
        found = rules_and_net(text)
        return (
            [*found, replace(found[0], key="user.home", value="Atlantis", text="User lives in Atlantis")]
            if found
            else found
        )

    broken = below_floors(score(load_corpus(CORPUS), inventing))
    assert any(line.startswith("home precision") for line in broken), broken


def test_negatives_yield_nothing(result: Score) -> None:
    assert result.false_on_negatives == 0, result.false_facts


def test_a_fact_about_a_relative_is_keyed_to_them_never_to_the_user() -> None:
    for text in ("My daughter is allergic to peanuts.", "my husband has a shellfish allergy", "My dad is diabetic"):
        keys = [c.key or "" for c in rules_and_net(text)]
        assert keys and all(key.startswith("user.family.") for key in keys), (text, keys)


def test_a_retraction_ends_the_fact_and_leaves_no_health_note() -> None:
    found = rules_and_net("I'm not allergic to penicillin after all, the test came back clear.")
    assert [(c.key, c.retracts) for c in found] == [("user.allergy.penicillin", True)]


# Every key a rule can emit, as the rules' f-strings build it, with placeholder parts.
def _rule_keys() -> set[str]:
    sources = Path(explicit.__file__).parent.glob("rules/*.py")
    templates: set[str] = set()
    for path in sources:
        for literal in re.findall(r"f?\"((?:user|rule)\.[^\"]*)\"", path.read_text(encoding="utf-8")):
            templates.add(re.sub(r"\{[^}]*\}", "x", literal))
    return templates


def test_every_key_a_rule_can_emit_is_in_the_schema() -> None:
    keys = _rule_keys()
    assert len(keys) > 20
    # Built from parts: a relative's key base, and "user.{likes|dislikes}.{thing}".
    dynamic = {"user.family.x": "user.family.x.name", "user.x.x": "user.likes.x"}
    unknown = sorted(key for key in keys if fact_type(dynamic.get(key, key)) is None and not key.endswith("."))
    assert unknown == [] and fact_type("user.dislikes.x") is not None


def test_the_schema_knows_the_age_the_rules_give_and_keeps_safety_facts_in_the_profile() -> None:
    from assistant.learning.model_keys import normalize_key
    from assistant.learning.schema import profile_key_prefixes

    assert normalize_key("age") == "user.age" and family_of("user.age") == "birthday"
    assert all(any(key.startswith(p) for p in profile_key_prefixes()) for key in ("user.allergy.nut", "user.diet"))
    assert not any("user.work.role".startswith(p) for p in profile_key_prefixes())


def test_every_slot_the_model_may_name_is_a_schema_key() -> None:
    from assistant.learning.model_extraction import Slot
    from assistant.learning.schema import FACT_TYPES, MODEL_SLOTS

    assert set(MODEL_SLOTS) == set(Slot.__args__)  # type: ignore[attr-defined]
    templates = {row.template for row in FACT_TYPES}
    assert set(MODEL_SLOTS.values()) <= templates
