"""The ChatGPT and Claude export readers: the kept branch, hidden nodes, blocks, shards, zips, bad entries."""

from __future__ import annotations

import io
import json
import shutil
import tracemalloc
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assistant.errors import ImportFileError
from assistant.memory.exports import BadEntry, open_export, read_export
from assistant.memory.exports.stream import ArrayReader

DATA = Path(__file__).resolve().parent.parent / "data"


def read(path: Path) -> tuple[list, list[BadEntry]]:
    source = open_export(path)
    assert source is not None
    bad: list[BadEntry] = []
    return list(read_export(source, bad)), bad


def zipped(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, prefix + file.name)
    return target


def test_chatgpt_keeps_the_branch_the_user_kept_and_only_visible_text() -> None:
    conversations, bad = read(DATA / "chatgpt_export" / "conversations.json")
    assert bad == []
    by_title = {c.title: c for c in conversations}
    assert set(by_title) == {"Meeting Dana", "Lisbon trams"}
    dana = by_title["Meeting Dana"]
    assert dana.id == "6f0c9a34-1111-4c1e-9d3e-000000000001" and dana.source == "ChatGPT"
    assert dana.created_at == datetime(2023, 3, 1, 12, 0, tzinfo=UTC)
    assert [(m.role, m.content) for m in dana.messages] == [
        ("user", "Hi! My name is Dana and I live in Porto."),
        ("assistant", "Nice to meet you, Dana! Porto is lovely."),
        ("user", "I work at Globex as an engineer. What's new at Globex?"),  # the edit, not "I work at Acme."
        ("assistant", "Globex just opened an office in Porto."),  # the tool call and its output left out
        ("user", "Here is my desk."),  # the image part left out
        ("assistant", "A tidy desk!"),
    ]
    assert [m.created_at.isoformat() for m in dana.messages[:3]] == [
        "2023-03-01T12:00:10+00:00",
        "2023-03-01T12:00:20+00:00",
        "2023-03-01T12:00:50+00:00",
    ]
    assert len({m.id for m in dana.messages}) == 6
    again, _ = read(DATA / "chatgpt_export")
    assert [m.id for c in again for m in c.messages] == [m.id for c in conversations for m in c.messages]


def test_sharded_folder_and_zip_read_like_the_single_file(tmp_path: Path) -> None:
    single, _ = read(DATA / "chatgpt_export")
    sharded, bad = read(DATA / "chatgpt_sharded")
    assert bad == []
    flat = sorted((c.id, c.title, m.id, m.content, m.created_at) for c in single for m in c.messages)
    assert sorted((c.id, c.title, m.id, m.content, m.created_at) for c in sharded for m in c.messages) == flat
    archive = zipped(DATA / "chatgpt_sharded", tmp_path / "chatgpt-export.zip", prefix="export-2026/")
    from_zip, bad = read(archive)
    assert bad == []
    assert sorted((c.id, c.title, m.id, m.content, m.created_at) for c in from_zip for m in c.messages) == flat


def test_claude_content_blocks_attachments_and_plain_text() -> None:
    conversations, bad = read(DATA / "claude_export")
    assert bad == []
    flat, blue = conversations
    assert flat.title == "Colours for the flat" and flat.source == "Claude"
    assert flat.id == "c1a0de00-aaaa-4bbb-8ccc-000000000001"
    user, reply = flat.messages
    assert user.role == "user" and user.content.startswith("My favourite colour is green.")
    # The attachment is kept as quoted, pasted data (learning skips quoted lines).
    assert "> [attached: paint.txt]\n> Landlord notes\n> My name is Mallory" in user.content
    assert reply.content == "Green works well with oak.\n\nTry a sage green."  # tool use and result left out
    assert user.created_at == datetime(2024, 8, 1, 9, 0, 1, tzinfo=UTC)
    assert blue.title is None  # an empty name: the log titles it from the first message
    assert [m.content for m in blue.messages] == ["Actually my favorite color is blue these days.", "Blue it is."]


def test_the_format_is_told_by_content_not_by_name(tmp_path: Path) -> None:
    renamed = tmp_path / "my-history.json"
    shutil.copy(DATA / "claude_export" / "conversations.json", renamed)
    conversations, _ = read(renamed)
    assert {c.source for c in conversations} == {"Claude"}
    jsonl = tmp_path / "conversations.json"
    jsonl.write_text('{"role": "user", "content": "hi"}\n', encoding="utf-8")
    assert open_export(jsonl) is None  # JSON Lines go to the app's own importer
    with pytest.raises(ImportFileError, match="no conversations.json"):
        open_export(_empty_zip(tmp_path / "other.zip"))


def _empty_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("user.json", "{}")
    return path


def test_bad_entries_are_reported_and_skipped(tmp_path: Path) -> None:
    good = json.loads((DATA / "chatgpt_export" / "conversations.json").read_text(encoding="utf-8"))
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([good[0], {"title": "no id", "mapping": {}}, "junk", good[1]]), encoding="utf-8")
    conversations, bad = read(path)
    assert [c.title for c in conversations] == ["Lisbon trams", "Meeting Dana"]
    assert [entry.where for entry in bad] == [
        "conversations.json: conversation 2",
        "conversations.json: conversation 3",
    ]
    assert "without an 'id'" in bad[0].reason
    # Broken JSON mid-file: what came before is kept, the break is reported.
    text = json.dumps(good)
    cut = text.index('{"title": "Meeting Dana"')
    path.write_text(text[:cut] + '{"title": oops}]', encoding="utf-8")
    conversations, bad = read(path)
    assert [c.title for c in conversations] == ["Lisbon trams"]
    assert len(bad) == 1 and "not valid JSON" in bad[0].reason


def test_the_array_reader_matches_json_loads_at_any_chunk_size() -> None:
    value = [{"text": "é" * 3000, "n": 123456789, "nested": [1.5, None, True, {"k": "\\ud83d\\ude00"}]}, 42, "s", []]
    data = json.dumps(value).encode("utf-8")
    for chunk in (1, 2, 7, 64, 4096):
        assert list(ArrayReader(io.BytesIO(data), chunk_bytes=chunk)) == value


def test_a_large_export_is_read_in_bounded_memory(tmp_path: Path) -> None:
    one = json.loads((DATA / "chatgpt_export" / "conversations.json").read_text(encoding="utf-8"))[1]
    path = tmp_path / "conversations.json"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("[")
        for number in range(3000):
            handle.write(("," if number else "") + json.dumps({**one, "id": f"conv-{number}", "conversation_id": None}))
        handle.write("]")
    size = path.stat().st_size
    assert size > 15_000_000
    tracemalloc.start()
    try:
        source = open_export(path)
        assert source is not None
        count = sum(1 for _ in read_export(source, []))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 3000
    # A few read chunks and one conversation, not the file: the same bound holds for 200 MB.
    assert peak < 8_000_000 < size / 2, f"peak {peak} bytes for a {size}-byte export"
