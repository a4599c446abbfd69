"""The store and engine on real LanceDB with the real embedder: schema, audit, spaces, forgetting, export."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from memory_helpers import Clock, files_containing, open_engine

from assistant.errors import ImportFileError, StoreError
from assistant.memory.embed import SentenceTransformerEmbedder
from assistant.memory.engine import MemoryEngine
from assistant.memory.store import MEMORIES, MESSAGES, META, SCHEMA_VERSION, TIDY_FRAGMENTS, MemoryStore
from assistant.memory.types import Kind, Message, Origin, Role, Status


@pytest.fixture(scope="module")
def embedder(embedder_path: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(embedder_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(tmp_path: Path, embedder: SentenceTransformerEmbedder, clock: Clock) -> MemoryEngine:
    return open_engine(tmp_path / "data" / "memory", embedder, clock=clock)


def write_jsonl(path: Path, records: list[dict | str]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_store_records_its_schema_version_and_is_owner_only(tmp_path: Path, embedder) -> None:
    store = MemoryStore(tmp_path / "memory", embedder.dimension)
    assert store.schema_version() == SCHEMA_VERSION
    assert stat.S_IMODE((tmp_path / "memory").stat().st_mode) == 0o700
    again = MemoryStore(tmp_path / "memory", embedder.dimension)
    assert again.schema_version() == SCHEMA_VERSION
    assert again.count(META) == 1


def test_a_newer_schema_or_other_dimension_is_refused(tmp_path: Path, embedder) -> None:
    store = MemoryStore(tmp_path / "memory", embedder.dimension)
    with pytest.raises(StoreError, match="384-dimensional"):
        MemoryStore(tmp_path / "memory", 768)
    store.upsert(META, [{"key": "schema_version", "value": str(SCHEMA_VERSION + 1)}], on=("key",))
    with pytest.raises(StoreError, match="newer than this app"):
        MemoryStore(tmp_path / "memory", embedder.dimension)


def test_add_and_get_round_trip_every_field(engine: MemoryEngine, clock: Clock) -> None:
    memory = engine.add("Allergic to shellfish", key="allergy", importance=0.9, pinned=True, sources=["m1"])
    stored = engine.require(memory.id)
    assert stored == memory
    assert stored.created_at == clock() and stored.origin == Origin.EXPLICIT and stored.sources == ["m1"]
    assert [m.id for m in engine.list()] == [memory.id]


def test_a_fact_with_the_same_key_supersedes_the_old_one(engine: MemoryEngine, clock: Clock) -> None:
    lisbon = engine.add("Lives in Lisbon", key="home city")
    clock.advance(days=10)
    porto = engine.add("Lives in Porto", key="home city")
    old = engine.require(lisbon.id)
    assert old.status == Status.SUPERSEDED and old.superseded_by == porto.id and old.valid_to == clock()
    assert engine.require(porto.id).status == Status.ACTIVE
    assert [hit.memory.id for hit in engine.search("where do I live?", k=5)] == [porto.id]
    assert [entry.action for entry in engine.audit(lisbon.id)] == ["add", "supersede"]


def test_every_change_is_audited_with_its_reason(engine: MemoryEngine, clock: Clock) -> None:
    memory = engine.add("Prefers tea over coffee", kind=Kind.PREFERENCE, reason="said so in chat")
    for action in ("pin", "unpin", "archive", "restore"):
        clock.advance(minutes=1)
        getattr(engine, action)(memory.id, reason=f"test {action}")
    clock.advance(minutes=1)
    engine.update(memory.id, text="Prefers green tea over coffee", reason="user corrected it")
    clock.advance(minutes=1)
    replacement = engine.supersede(memory.id, "Prefers coffee now", reason="changed their mind")
    history = engine.audit(memory.id)
    assert [(e.action, e.reason) for e in history] == [
        ("add", "said so in chat"),
        ("pin", "test pin"),
        ("unpin", "test unpin"),
        ("archive", "test archive"),
        ("restore", "test restore"),
        ("update", "user corrected it"),
        ("supersede", "changed their mind"),
    ]
    assert engine.require(memory.id).text == "Prefers green tea over coffee"
    clock.advance(minutes=1)
    engine.forget([replacement.id], reason="user asked")
    assert engine.audit(replacement.id)[-1].action == "forget"
    assert engine.get(replacement.id) is None


def test_edit_re_embeds_the_text(engine: MemoryEngine) -> None:
    memory = engine.add("Favourite colour is blue")
    engine.add("Works as a nurse")
    engine.update(memory.id, text="Plays the violin every Sunday")
    assert engine.search("musical instrument", k=1)[0].memory.id == memory.id


def test_users_have_separate_spaces(tmp_path: Path, embedder, clock: Clock) -> None:
    folder = tmp_path / "memory"
    alice = open_engine(folder, embedder, "alice", clock)
    bob = open_engine(folder, embedder, "bob", clock)
    secret = alice.add("Alice's bank is Millennium")
    bob.add("Bob likes hiking")
    assert [m.text for m in bob.list()] == ["Bob likes hiking"]
    assert all(hit.memory.user == "bob" for hit in bob.search("bank", k=5))
    assert bob.get(secret.id) is None
    with pytest.raises(StoreError, match="no memory"):
        bob.forget([secret.id])
    bob.forget_all()
    assert [m.text for m in alice.list()] == ["Alice's bank is Millennium"]


def test_import_keeps_ids_as_sources_and_indexes_who_when_and_what_it_answered(tmp_path: Path, engine) -> None:
    path = write_jsonl(
        tmp_path / "chat.jsonl",
        [
            {
                "id": "q1",
                "session_id": "s1",
                "role": "assistant",
                "content": "Which city should we visit?",
                "timestamp": "2024-05-02T10:00:00Z",
            },
            {
                "id": "a1",
                "session_id": "s1",
                "role": "user",
                "speaker": "Alice",
                "content": "Kyoto, definitely",
                "timestamp": "2024-05-02T10:01:00+00:00",
            },
        ],
    )
    report = engine.import_file(path)
    assert (report.imported, report.already_present, report.bad_lines) == (2, 0, [])
    answer = engine.require("ep-a1")
    assert answer.sources == ["a1"] and answer.speaker == "Alice" and answer.origin == Origin.IMPORTED
    assert answer.context == "assistant: Which city should we visit?"
    assert answer.created_at.isoformat() == "2024-05-02T10:01:00+00:00"
    hits = engine.search("Alice travel destination", k=2)
    assert "ep-a1" in [hit.memory.id for hit in hits]
    assert [m.id for m in engine.messages("s1")] == ["q1", "a1"]
    assert engine.conversations()[0].id == "s1"


def test_reimport_adds_nothing_and_bad_lines_are_reported_by_number(tmp_path: Path, engine) -> None:
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            {"role": "user", "content": "I bought a red bicycle"},
            "{not json",
            {"role": "robot", "content": "beep"},
            {"role": "user", "content": "   "},
            {"role": "user", "content": "ok", "timestamp": "yesterday"},
            {"id": "x", "role": "assistant", "content": "Nice bicycle!"},
        ],
    )
    first = engine.import_file(path)
    assert first.imported == 2
    assert [number for number, _ in first.bad_lines] == [2, 3, 4, 5]
    assert "role" in first.bad_lines[1][1] and "timestamp" in first.bad_lines[3][1]
    second = engine.import_file(path)
    assert (second.imported, second.already_present) == (0, 2)
    assert len(engine.list()) == 2 and len(engine.messages()) == 2
    assert len(engine.audit()) == 2


def test_an_unreadable_import_file_is_one_clear_error(tmp_path: Path, engine) -> None:
    with pytest.raises(ImportFileError, match="cannot read"):
        engine.import_file(tmp_path / "missing.jsonl")
    # Undecodable bytes are a bad line, reported by number; the rest of the file still imports.
    binary = tmp_path / "binary.jsonl"
    good = '{"id": "ok-1", "role": "user", "content": "I like tea"}'
    binary.write_bytes(b"\xff\xfe\x00garbage\n" + good.encode() + b"\n")
    report = engine.import_file(binary)
    assert [number for number, _ in report.bad_lines] == [1]
    assert report.imported == 1


def test_forget_leaves_the_text_in_no_file(tmp_path: Path, engine: MemoryEngine) -> None:
    unique = "quixoticzebrapassword"
    keep = engine.add("Likes long walks by the sea")
    secret = engine.add(f"My locker code word is {unique}")
    engine.add_messages([Message("alice", Role.USER, f"remember {unique} please", "c1", id="msg-secret")])
    engine.maintain()  # the text is now in data files, the FTS index and older versions
    for _ in range(3):
        engine.search(f"locker code {unique}", k=3)
    engine.flush()
    data = tmp_path / "data"
    assert files_containing(data, unique)
    engine.forget([secret.id, "ep-msg-secret"])
    assert files_containing(data, unique) == []
    assert engine.get(secret.id) is None and engine.messages() == []
    assert [hit.memory.id for hit in engine.search("walks", k=3)] == [keep.id]
    assert engine.require(keep.id).text == "Likes long walks by the sea"


def test_forget_all_erases_the_space_but_leaves_other_users(tmp_path: Path, embedder, clock: Clock) -> None:
    folder = tmp_path / "data" / "memory"
    alice = open_engine(folder, embedder, "alice", clock)
    bob = open_engine(folder, embedder, "bob", clock)
    unique = "flibbertigibbetcode"
    alice.add(f"{unique} is my wifi password")
    alice.update_profile({"name": f"Alice {unique}"})
    alice.add_messages([Message("alice", Role.USER, f"the code is {unique}", "c1")])
    bob.add("Bob's cat is named Miso")
    alice.maintain()
    assert files_containing(tmp_path / "data", unique)
    alice.forget_all(reason="delete everything")
    assert files_containing(tmp_path / "data", unique) == []
    assert alice.list() == [] and alice.profile() == {} and alice.messages() == []
    assert [entry.action for entry in alice.audit()] == ["forget_all"]
    assert [m.text for m in bob.list()] == ["Bob's cat is named Miso"]


def test_export_then_import_into_an_empty_store_gives_the_same_space(tmp_path: Path, embedder, clock) -> None:
    source = open_engine(tmp_path / "one" / "memory", embedder, "alice", clock)
    source.add("Allergic to peanuts", key="allergy", importance=0.8)
    clock.advance(days=1)
    archived = source.add("Used to live in Paris")
    source.archive(archived.id, reason="old")
    source.update_profile({"name": "Alice", "style": "short answers"})
    path = write_jsonl(
        tmp_path / "chat.jsonl",
        [
            {
                "id": f"m{i}",
                "session_id": "s",
                "role": "user" if i % 2 else "assistant",
                "content": f"line {i} ünïcode",
                "timestamp": f"2024-01-0{i + 1}T00:00:00Z",
            }
            for i in range(4)
        ],
    )
    source.import_file(path)
    source.search("peanuts", k=2)
    source.flush()
    first = source.export(tmp_path / "export.jsonl")
    assert first == {"profile": 1, "conversation": 1, "message": 4, "memory": 6, "audit": 8}

    target = open_engine(tmp_path / "two" / "memory", embedder, "alice", clock)
    report = target.import_file(tmp_path / "export.jsonl")
    assert report.restored == first and report.bad_lines == []
    target.export(tmp_path / "again.jsonl")
    assert (tmp_path / "export.jsonl").read_text() == (tmp_path / "again.jsonl").read_text()
    assert target.import_file(tmp_path / "export.jsonl").restored == first  # idempotent
    target.export(tmp_path / "third.jsonl")
    assert (tmp_path / "third.jsonl").read_text() == (tmp_path / "export.jsonl").read_text()
    assert stat.S_IMODE((tmp_path / "export.jsonl").stat().st_mode) == 0o600
    assert target.search("peanut allergy", k=1)[0].memory.text == "Allergic to peanuts"


def fragments(engine: MemoryEngine, table: str) -> int:
    handle = engine.store.table(table)
    handle.checkout_latest()
    return handle.stats()["fragment_stats"]["num_fragments"]


def test_tidy_compacts_a_chat_fragmented_store_and_keeps_every_row(engine: MemoryEngine) -> None:
    conversation = engine.create_conversation(title="long chat").id
    said = [f"message number {n} about the garden" for n in range(TIDY_FRAGMENTS + 2)]
    for text in said:  # one write per message, as a chat does
        engine.add_messages([Message(engine.user, Role.USER, text, conversation)])
    assert fragments(engine, MEMORIES) >= TIDY_FRAGMENTS

    assert set(engine.tidy()) == {MEMORIES, MESSAGES}
    assert fragments(engine, MEMORIES) < TIDY_FRAGMENTS / 4
    assert [m.content for m in engine.messages(conversation)] == said
    hits = engine.search("message number 7 about the garden", k=3)
    assert hits and hits[0].memory.text == said[7]  # the text index holds the compacted rows
    assert engine.tidy() == []  # nothing left to do: one statistics read per table


def test_standing_memories_are_rules_preferences_pinned_and_profile_keyed_facts(engine: MemoryEngine) -> None:
    kept = {
        engine.add("Always answer in English", kind=Kind.PROCEDURAL).text,
        engine.add("User prefers short answers", kind=Kind.PREFERENCE).text,
        engine.add("User's name is Ana", key="user.name").text,
        engine.add("User likes to be called Annie", key="user.preferred_name").text,
        engine.add("User's locker code is on the fridge", pinned=True).text,
    }
    engine.add("User lives in Lisbon", key="user.home")
    engine.add("User's nickname glitch", key="user.preferredXname")  # "_" is not a wildcard here
    engine.add("User has a dog named Rex")
    standing = engine.standing(("user.name", "user.preferred_name"))
    assert {m.text for m in standing} == kept
