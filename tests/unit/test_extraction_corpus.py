"""The extraction corpus (tests/data/extraction): floors on recall and precision per family, rules + safety net."""

from __future__ import annotations

import re
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
# Floors, set at what the rules + net reach on this corpus (session 6). Raise them, never lower them quietly.
RECALL_FLOORS = {family: 0.9 for family in FAMILIES} | {family: 1.0 for family in SAFETY_FAMILIES} | {"plan": 0.8}
PRECISION_FLOORS = {family: 1.0 for family in FAMILIES}


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
