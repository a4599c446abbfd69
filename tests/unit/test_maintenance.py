"""Compression, decay and index upkeep on a real store with a real embedder, over simulated years."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from memory_helpers import Clock, open_engine

from assistant.config import Settings
from assistant.memory import maintenance
from assistant.memory.embed import SentenceTransformerEmbedder
from assistant.memory.engine import episodic_memory_id
from assistant.memory.recall import RecallFilter
from assistant.memory.types import Kind, Status

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from evalset import build_evalset  # noqa: E402


@pytest.fixture(scope="module")
def embedder(embedder_path: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(embedder_path)


@pytest.fixture
def year(tmp_path: Path, embedder: SentenceTransformerEmbedder):
    """Twelve conversations spread over a year, a fact, a preference, a rule and a pinned message."""
    evalset = build_evalset(sessions=12, seed=3)
    clock = Clock(evalset.end + timedelta(hours=1))
    engine = open_engine(tmp_path / "store", embedder, clock=clock)
    report = engine.import_jsonl(json.dumps(message) + "\n" for message in evalset.messages)
    assert report.imported == len(evalset.messages)
    fact = engine.add("User is allergic to peanuts", kind=Kind.SEMANTIC, key="user.allergy", importance=0.9)
    preference = engine.add("User prefers short answers", kind=Kind.PREFERENCE, key="user.style")
    rule = engine.add("Always ask before booking anything", kind=Kind.PROCEDURAL)
    oldest = min(engine.list(kinds=[Kind.EPISODIC]), key=lambda memory: memory.created_at)
    engine.pin(oldest.id)
    return engine, clock, evalset, {"fact": fact, "preference": preference, "rule": rule, "pinned": oldest}


def snapshot(engine) -> dict[str, tuple]:
    return {m.id: (m.status, m.strength, m.text, m.pinned) for m in engine.list()}


def test_dry_run_changes_nothing(year) -> None:
    engine, clock, _evalset, _kept = year
    before, audit_before = snapshot(engine), len(engine.audit())
    report = maintenance.run_pass(engine, None, Settings(), clock(), dry_run=True)
    assert report.compress.groups > 0 and report.compress.archived, "the dry run should find work to report"
    assert snapshot(engine) == before
    assert len(engine.audit()) == audit_before


def test_compression_summarises_old_episodes_and_keeps_everything_restorable(year) -> None:
    engine, clock, evalset, kept = year
    cutoff = clock() - timedelta(days=30)
    report = maintenance.compress(engine, None, clock(), age_days=30)

    assert report.groups == len(report.summaries) > 0
    assert report.by_fallback == report.groups  # no model: every summary is extractive
    summaries = engine.list(kinds=[Kind.SUMMARY])
    assert {s.id for s in summaries} == set(report.summaries)
    message_ids = {message["id"] for message in evalset.messages}
    archived = {m.id: m for m in engine.list(kinds=[Kind.EPISODIC], statuses=[Status.ARCHIVED])}
    assert set(report.archived) == set(archived)
    covered = {source for summary in summaries for source in summary.sources}
    for summary in summaries:
        assert summary.origin == "summary" and summary.status == Status.ACTIVE
        assert summary.sources and set(summary.sources) <= message_ids
        assert summary.text.startswith("Conversation of ")
    for memory in archived.values():
        assert set(memory.sources) <= covered, "an archived message must be covered by a summary"
        assert memory.created_at < cutoff
    for memory in engine.list(kinds=[Kind.EPISODIC], statuses=[Status.ACTIVE]):
        assert memory.created_at >= cutoff or memory.pinned or not set(memory.sources) & covered
    # Pinned messages, facts, preferences and rules are untouched.
    for name, memory in kept.items():
        assert engine.get(memory.id).status == Status.ACTIVE, name
    assert engine.get(kept["pinned"].id).pinned

    # The archive is searchable with a status filter and out of default recall.
    texts = [m.text for m in engine.list(kinds=[Kind.EPISODIC])]
    original = next(m for m in archived.values() if m.speaker != "assistant" and texts.count(m.text) == 1)
    hits = engine.search(original.text, k=20, filters=RecallFilter(statuses=(Status.ARCHIVED,)), reinforce=False)
    assert original.id in {hit.memory.id for hit in hits}
    assert original.id not in {hit.memory.id for hit in engine.search(original.text, k=20, reinforce=False)}
    # Its words still find it, through the summary that covers it: the summary stands in its place.
    top = engine.search(original.text, k=3, reinforce=False)
    assert top[0].memory.kind == Kind.SUMMARY and set(original.sources) <= set(top[0].memory.sources)

    # Restoring brings it back at full strength, and a rerun neither re-compresses it nor duplicates anything.
    restored = engine.restore(original.id)
    assert restored.status == Status.ACTIVE and restored.strength == 1.0
    again = maintenance.compress(engine, None, clock(), age_days=30)
    assert again.summaries == [] and again.archived == []
    assert engine.get(original.id).status == Status.ACTIVE
    assert len(engine.list(kinds=[Kind.SUMMARY])) == len(summaries)


def test_interrupted_group_is_finished_on_rerun_without_duplicates(year) -> None:
    engine, clock, _evalset, _kept = year

    class Killed(BaseException):
        pass

    def die(label: str) -> None:
        if label == "compress: summaries written":
            raise Killed

    stop_observing = maintenance.observe_writes(die)
    try:
        with pytest.raises(Killed):
            maintenance.compress(engine, None, clock(), age_days=30, batch=2)
    finally:
        stop_observing()
    written = engine.list(kinds=[Kind.SUMMARY])
    assert len(written) == 2
    assert not engine.list(statuses=[Status.ARCHIVED]), "nothing is archived before the crash point"

    report = maintenance.compress(engine, None, clock(), age_days=30)
    assert report.resumed == 2
    summaries = engine.list(kinds=[Kind.SUMMARY])
    assert len({s.id for s in summaries}) == len(summaries)
    assert {s.id for s in written} <= {s.id for s in summaries}
    covered = {source for summary in summaries for source in summary.sources}
    for memory in engine.list(kinds=[Kind.EPISODIC]):
        summarised = bool(set(memory.sources) & covered)
        assert (memory.status == Status.ARCHIVED) == summarised, memory.id
    archive_audits = [entry for entry in engine.audit() if entry.action == "archive"]
    assert len(archive_audits) == len({entry.memory_id for entry in archive_audits})


def test_decay_archives_unused_and_spares_used_and_pinned(tmp_path: Path, embedder) -> None:
    clock = Clock()
    engine = open_engine(tmp_path / "store", embedder, clock=clock)
    unused = engine.add("User once tried a pottery class", importance=0.3)
    used = engine.add("User plays the cello in an orchestra", importance=0.3)
    pinned = engine.add("User's passport number ends in 42", importance=0.3, pinned=True)
    preference = engine.add("User prefers metric units", kind=Kind.PREFERENCE)
    core = engine.add("User is allergic to penicillin", importance=0.9)

    clock.advance(days=365 * 3)
    hits = engine.search("what instrument do I play in the orchestra?", k=1)
    assert hits[0].memory.id == used.id
    engine.flush()
    clock.advance(days=7)

    before = snapshot(engine)
    dry = maintenance.decay(engine, clock(), half_life_days=90, threshold=0.05, dry_run=True)
    assert dry.archived == [unused.id]
    assert snapshot(engine) == before

    report = maintenance.decay(engine, clock(), half_life_days=90, threshold=0.05)
    assert report.archived == [unused.id]
    assert engine.get(unused.id).status == Status.ARCHIVED
    assert engine.get(unused.id).strength < 0.05
    reasons = [entry.reason for entry in engine.audit(unused.id) if entry.action == "archive"]
    assert len(reasons) == 1 and reasons[0].startswith("decayed")
    for kept in (used, pinned, preference, core):
        assert engine.get(kept.id).status == Status.ACTIVE
    assert 0.05 < engine.get(used.id).strength < 1.0

    restored = engine.restore(unused.id)
    assert restored.strength == 1.0
    assert maintenance.decay(engine, clock(), half_life_days=90, threshold=0.05).archived == []
    assert engine.get(unused.id).status == Status.ACTIVE


def test_strength_follows_importance_and_use() -> None:
    from assistant.memory.types import Memory

    clock = Clock()
    base = Memory(user="u", kind=Kind.SEMANTIC, text="x", importance=0.3, created_at=clock())
    later = clock.advance(days=200)
    weak = maintenance.strength_of(base, later, 90)
    important = maintenance.strength_of(Memory(**{**base.__dict__, "importance": 0.7}), later, 90)
    recalled = maintenance.strength_of(Memory(**{**base.__dict__, "access_count": 10}), later, 90)
    assert 0 < weak < important < 1 and weak < recalled < 1
    assert maintenance.strength_of(base, clock.moment - timedelta(days=200), 90) == 1.0


@pytest.mark.parametrize(
    ("summary", "problem"),
    [
        ("", "empty or too short"),
        ("Robin likes cats. " * 12, "repetitive"),
        ("The user is an astronaut who flew to Jupiter with penguins yesterday.", "not grounded"),
        ("x" * 900, "too long"),
    ],
)
def test_unusable_model_summaries_are_rejected(summary: str, problem: str) -> None:
    source = "Robin: I adopted a cat called Mochi in Lisbon.\nassistant: What a lovely name!"
    assert problem in (maintenance.usable_summary(summary, source) or "")
    assert maintenance.usable_summary("Robin adopted a cat called Mochi in Lisbon.", source) is None


def test_compression_with_the_real_model(tmp_path: Path, embedder, starter_model_path: Path) -> None:
    from assistant.llm.runner import ModelRunner

    evalset = build_evalset(sessions=3, seed=5)
    clock = Clock(evalset.end + timedelta(days=60))
    engine = open_engine(tmp_path / "store", embedder, clock=clock)
    engine.import_jsonl(json.dumps(message) + "\n" for message in evalset.messages)
    runner = ModelRunner(starter_model_path, context_size=2048, threads=2, seed=1)
    report = maintenance.compress(engine, runner, clock(), age_days=30)
    assert report.groups > 0 and report.by_model + report.by_fallback == report.groups
    sources = {m["id"]: m["content"] for m in evalset.messages}
    made_by = {}
    for summary in engine.list(kinds=[Kind.SUMMARY]):
        assert summary.sources and all(source in sources for source in summary.sources)
        added = [entry for entry in engine.audit(summary.id) if entry.action == "add"]
        made_by[summary.id] = added[0].detail.split("by=")[1]
        source_text = "\n".join(sources[s] for s in summary.sources)
        body = summary.text.split("\n", 1)[1]
        if made_by[summary.id] == "model":
            members = [engine.get(episodic_memory_id(source)) for source in summary.sources]
            shown = "\n".join(maintenance.summary_source_lines(members))
            assert maintenance.usable_summary(body, shown) is None, summary.text
        else:
            # An extractive summary quotes its messages (clipped), nothing else.
            for line in body.split("\n"):
                quoted = line.split(": ", 1)[1].split(") ", 1)[-1].rstrip("…")
                assert quoted[:40] in source_text, line
    assert sorted(made_by.values()).count("model") == report.by_model


def test_index_upkeep_keeps_search_working_and_drops_old_versions(year) -> None:
    engine, clock, _evalset, _kept = year
    maintenance.compress(engine, None, clock(), age_days=30)
    report = maintenance.maintain_indexes(engine, keep_versions_for=timedelta(0))
    assert report.versions_after["memories"] < report.versions_before["memories"]
    # A message said once (repeated small talk takes one place in the results, see test_recall).
    texts = [m.text for m in engine.list(kinds=[Kind.EPISODIC])]
    member = next(m for m in engine.list(kinds=[Kind.EPISODIC], statuses=[Status.ARCHIVED]) if texts.count(m.text) == 1)
    summary = next(s for s in engine.list(kinds=[Kind.SUMMARY]) if set(member.sources) <= set(s.sources))
    hits = engine.search(member.text, k=5, reinforce=False)
    assert summary.id in {hit.memory.id for hit in hits}


def _conversation(number: int, day: datetime, lines: list[tuple[str, str]]) -> list[dict]:
    return [
        {
            "id": f"c{number:02d}-m{index}",
            "session_id": f"c{number:02d}",
            "role": role,
            "speaker": "Robin" if role == "user" else "assistant",
            "content": text,
            "timestamp": (day + timedelta(minutes=2 * index)).isoformat().replace("+00:00", "Z"),
        }
        for index, (role, text) in enumerate(lines)
    ]


def test_recall_after_compression_ranks_each_message_as_before(tmp_path: Path, embedder) -> None:
    """A compressed message ranks where it did before compression, with its summary in its place.

    Ranked by their own long text, or by adding up weak matches of several of their messages,
    summaries of small talk used to push the one message that answers out of the top results.
    """
    start = datetime(2024, 1, 1, 9, tzinfo=UTC)
    allergens = ["sesame", "peanuts", "pollen", "latex", "kiwi", "shellfish", "penicillin", "cats"]
    chatter = [
        ("user", "I keep forgetting to water the plants, am I hopeless?"),
        ("assistant", "Sure, here is a simple plan you can adapt."),
        ("user", "What snacks are good for a long train ride?"),
        ("assistant", "Nuts, fruit and crackers travel well."),
    ]
    messages = []
    for number, allergen in enumerate(allergens):
        messages += _conversation(
            number,
            start + timedelta(days=9 * number),
            [("user", f"My friend is allergic to {allergen}, what snacks are safe for a party?"), *chatter],
        )
    evidence = _conversation(
        9,
        start + timedelta(days=40, hours=5),
        [("user", "Please remember I'm allergic to dust."), ("assistant", "Noted, I will keep that in mind.")],
    )
    messages += evidence + _conversation(
        10, start + timedelta(days=41), [("user", "Remind me to call the plumber."), ("assistant", "Will do.")]
    )
    clock = Clock(start + timedelta(days=400))
    engine = open_engine(tmp_path / "store", embedder, clock=clock)
    engine.import_jsonl(json.dumps(message) + "\n" for message in messages)
    question = "What am I allergic to?"

    def conversations_ranked() -> list[str]:
        ranked = []
        for hit in engine.search(question, k=6, reinforce=False):
            conversation = hit.memory.sources[0].split("-")[0]
            if conversation not in ranked:
                ranked.append(conversation)
        return ranked

    before = conversations_ranked()
    assert "c09" in before[:3]
    report = maintenance.compress(engine, None, clock(), age_days=30)
    assert engine.get(episodic_memory_id(evidence[0]["id"])).status == Status.ARCHIVED and report.groups >= 10
    after = conversations_ranked()
    assert after.index("c09") <= before.index("c09")
    assert len(after) >= 3  # six results, not six summaries of the same small talk


def test_a_short_reply_is_compressed_with_the_question_it_answers(tmp_path: Path, embedder) -> None:
    day = datetime(2024, 3, 3, 9, tzinfo=UTC)
    messages = _conversation(
        0,
        day,
        [
            ("user", "I keep forgetting to water the plants."),
            ("assistant", "Sure, here is a simple plan you can adapt."),
            ("assistant", "What's your go-to comfort food?"),
            ("user", "Honestly shakshuka."),
            ("user", "The train was late again this morning."),
            ("assistant", "Here are a few ideas that usually work well."),
            ("user", "I tried a recipe for paella but it came out bland."),
            ("assistant", "Sure, here is a simple plan you can adapt."),
        ],
    )
    clock = Clock(day + timedelta(days=400))
    engine = open_engine(tmp_path / "store", embedder, clock=clock)
    engine.import_jsonl(json.dumps(message) + "\n" for message in messages)
    maintenance.compress(engine, None, clock(), age_days=30)
    answer = next(s for s in engine.list(kinds=[Kind.SUMMARY]) if "c00-m3" in s.sources)
    assert "c00-m2" in answer.sources  # the answer and its question are summarised together
    hits = engine.search("What is my favourite comfort food?", k=1, reinforce=False)
    assert hits[0].memory.id == answer.id
