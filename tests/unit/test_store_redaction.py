"""Redaction at the sinks: whichever engine method writes text, no secret reaches a file."""

from __future__ import annotations

from pathlib import Path

import pytest
from memory_helpers import Clock, files_containing, open_engine

from assistant.memory.embed import SentenceTransformerEmbedder
from assistant.memory.engine import MemoryEngine
from assistant.memory.types import Kind, Message, Role

CARD = "4111 1111 1111 1111"
API_KEY = "sk-live-Hq3vT8mK2pL9xR4wY7nB"
CARD_PLACEHOLDER = "[redacted card number]"
KEY_PLACEHOLDER = "[redacted API key]"


@pytest.fixture(scope="module")
def embedder(embedder_path: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(embedder_path)


@pytest.fixture
def engine(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> MemoryEngine:
    return open_engine(tmp_path / "memory", embedder, clock=Clock())


def secrets_on_disk(folder: Path) -> list[Path]:
    return [path for needle in (CARD, CARD.replace(" ", ""), API_KEY) for path in files_containing(folder, needle)]


def test_add_update_and_supersede_store_secrets_redacted(tmp_path: Path, engine: MemoryEngine) -> None:
    added = engine.add(f"Pays with card {CARD}", key="payment.card")
    assert added.text == f"Pays with card {CARD_PLACEHOLDER}"
    edited = engine.update(added.id, text=f"Pays with card {CARD} or the key {API_KEY}")
    assert edited.text == f"Pays with card {CARD_PLACEHOLDER} or the key {KEY_PLACEHOLDER}"
    newer = engine.supersede(edited.id, f"Uses the key {API_KEY} now", reason="the user said so")
    assert newer.text == f"Uses the key {KEY_PLACEHOLDER} now"
    rule = engine.add(f"Never say {API_KEY} out loud", kind=Kind.PROCEDURAL)
    engine.update_profile({"card": CARD, "name": "Alice"})
    engine.maintain()

    assert secrets_on_disk(tmp_path) == []
    assert engine.require(newer.id).text == newer.text and engine.require(rule.id).text.count(KEY_PLACEHOLDER) == 1
    assert engine.profile() == {"card": CARD_PLACEHOLDER, "name": "Alice"}
    # The vector is of the redacted text too: a search finds the memory by its remaining words.
    assert engine.search("which key does the user use now", k=1)[0].memory.id == newer.id


def test_chat_messages_and_their_conversation_title_are_redacted(tmp_path: Path, engine: MemoryEngine) -> None:
    conversation = engine.create_conversation(title=f"card {CARD}")
    first = Message("alice", Role.USER, f"my card is {CARD}", conversation.id, id="c1")
    reply = Message("alice", Role.ASSISTANT, "Got it.", conversation.id, id="c2")
    memories = engine.add_messages([first, reply])
    assert memories[0].text == f"my card is {CARD_PLACEHOLDER}"
    assert memories[1].context == f"user: my card is {CARD_PLACEHOLDER}"  # the reply quotes it redacted
    engine.rename_conversation(conversation.id, f"key {API_KEY}")
    assert secrets_on_disk(tmp_path) == []
    assert [m.content for m in engine.messages(conversation.id)] == [f"my card is {CARD_PLACEHOLDER}", "Got it."]
    assert engine.conversations()[0].title == f"key {KEY_PLACEHOLDER}"


def test_restoring_an_export_that_holds_secrets_redacts_them(tmp_path: Path, embedder, engine: MemoryEngine) -> None:
    engine.add("Likes tea")
    engine.add_messages([Message("alice", Role.USER, "hello there", "c1", id="c1-1")])
    export = tmp_path / "export.jsonl"
    engine.export(export)
    # An export written by an older version, or edited by hand, may hold secrets anywhere.
    lines = export.read_text(encoding="utf-8").splitlines()
    doctored = [
        line.replace("Likes tea", f"Likes tea, card {CARD}").replace("hello there", f"hello {API_KEY}")
        for line in lines
    ]
    export.write_text("\n".join(doctored) + "\n", encoding="utf-8")
    assert any(CARD in line for line in doctored) and any(API_KEY in line for line in doctored)

    target = open_engine(tmp_path / "restored", embedder, clock=Clock())
    report = target.import_file(export)
    assert report.restored["memory"] == 2 and report.restored["message"] == 1
    assert report.redacted["card number"] >= 1 and report.redacted["API key"] >= 1
    assert secrets_on_disk(tmp_path / "restored") == []
    texts = {memory.text for memory in target.list()}
    assert f"Likes tea, card {CARD_PLACEHOLDER}" in texts and f"hello {KEY_PLACEHOLDER}" in texts
    assert target.search("tea", k=1)[0].memory.text == f"Likes tea, card {CARD_PLACEHOLDER}"
