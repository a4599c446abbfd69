"""`assistant memory import` of ChatGPT and Claude exports, through the real CLI, store and embedder."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from assistant.config import load_settings
from assistant.memory.engine import MemoryEngine
from assistant.memory.types import Kind, Status

DATA = Path(__file__).resolve().parent.parent / "data"
API_KEY = "sk-proj-Zq8vT3mK9pL2xR7wY4nB6cJ1"


def ok(result):
    assert result.returncode == 0, result.stderr
    return result


def zipped(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, file.name)
    return target


def facts(user: str) -> list:
    with MemoryEngine.open(load_settings(user=user)) as engine:
        return [m for m in engine.list() if m.kind != Kind.EPISODIC]


def test_a_chatgpt_zip_is_imported_with_titles_times_and_ids_and_a_second_import_adds_nothing(cli, tmp_path: Path):
    export = zipped(DATA / "chatgpt_sharded", tmp_path / "chatgpt-export.zip")
    first = json.loads(ok(cli("memory", "import", str(export), "--user", "dana", "--json")).stdout)
    assert first["format"] == "ChatGPT" and first["conversations"] == 2
    assert first["imported"] == 8 and first["already_present"] == 0 and first["bad_entries"] == 0
    assert first["learned_from"] == 4 and first["superseded"] == 1

    listed = json.loads(ok(cli("conversations", "list", "--user", "dana", "--json")).stdout)
    assert [(c["id"], c["title"], c["created_at"]) for c in listed] == [
        ("6f0c9a34-2222-4c1e-9d3e-000000000002", "Lisbon trams", "2024-06-10T12:00:05Z"),
        ("6f0c9a34-1111-4c1e-9d3e-000000000001", "Meeting Dana", "2023-03-01T12:00:10Z"),
    ]
    shown = json.loads(ok(cli("conversations", "show", listed[1]["id"], "--user", "dana", "--json")).stdout)
    assert [(m["role"], m["content"], m["timestamp"]) for m in shown[:3]] == [
        ("user", "Hi! My name is Dana and I live in Porto.", "2023-03-01T12:00:10Z"),
        ("assistant", "Nice to meet you, Dana! Porto is lovely.", "2023-03-01T12:00:20Z"),
        ("user", "I work at Globex as an engineer. What's new at Globex?", "2023-03-01T12:00:50Z"),
    ]
    assert "Acme" not in json.dumps(shown)  # the abandoned branch
    assert len(shown) == 6

    # The same export again, unpacked and unsharded this time: nothing twice, nothing learned twice.
    again = json.loads(ok(cli("memory", "import", str(DATA / "chatgpt_export"), "--user", "dana", "--json")).stdout)
    assert again["imported"] == 0 and again["already_present"] == 8 and again["memories_saved"] == 0
    assert len(json.loads(ok(cli("conversations", "list", "--user", "dana", "--json")).stdout)) == 2
    known = facts("dana")
    assert sorted(m.text for m in known if m.status == Status.ACTIVE) == [
        "User lives in Lisbon",
        "User works as an engineer",
        "User works at Globex",
        "User's name is Dana",
    ]


def test_a_later_value_supersedes_the_earlier_one_with_the_times_it_was_said(cli):
    ok(cli("memory", "import", str(DATA / "chatgpt_export" / "conversations.json"), "--user", "dana"))
    homes = {m.text: m for m in facts("dana") if m.key == "user.home"}
    porto, lisbon = homes["User lives in Porto"], homes["User lives in Lisbon"]
    said_porto = datetime(2023, 3, 1, 12, 0, 10, tzinfo=UTC)
    said_lisbon = datetime(2024, 6, 10, 12, 0, 5, tzinfo=UTC)
    assert porto.status == Status.SUPERSEDED and porto.superseded_by == lisbon.id
    assert porto.valid_from == said_porto and porto.valid_to == said_lisbon
    assert lisbon.status == Status.ACTIVE and lisbon.valid_from == said_lisbon and lisbon.valid_to is None

    answer = ok(cli("chat", "--user", "dana", "what do you know about me?")).stdout
    # The answer speaks to the user ("You live in …"); the memory text is what the model reads.
    assert "You live in Lisbon" in answer and "Porto" not in answer.split("You live in Lisbon")[0].split("\n")[-1]
    line = next(line for line in answer.splitlines() if "You live in Lisbon" in line)
    assert "imported conversation (“Lisbon trams”), 2024-06-10" in line
    assert "I moved to Lisbon last month" in line
    assert "- You live in Porto" not in answer  # the superseded value is not reported (its source quote may be)


def test_a_claude_export_learns_from_the_user_not_from_attachments(cli):
    report = ok(cli("memory", "import", str(DATA / "claude_export"), "--user", "c"))
    assert "imported 4 messages in 2 conversations from a Claude export" in report.stdout
    listed = json.loads(ok(cli("conversations", "list", "--user", "c", "--json")).stdout)
    assert [c["title"] for c in listed] == ["Actually my favorite color is blue these days.", "Colours for the flat"]
    known = facts("c")
    colours = {m.text: m.status for m in known if m.key == "user.favourite.colour"}
    assert colours == {
        "User's favourite colour is green": Status.SUPERSEDED,
        "User's favourite colour is blue": Status.ACTIVE,
    }
    assert not [m for m in known if "Mallory" in m.text]  # the attached file's text is data, not the user
    answer = ok(cli("chat", "--user", "c", "what do you know about me?")).stdout
    assert "favourite colour is blue" in answer and "“Actually my favorite color is blue these days.”" in answer


def test_secrets_in_an_export_are_redacted_before_anything_is_stored(cli, tmp_path: Path, isolated_dirs: Path):
    conversations = json.loads((DATA / "chatgpt_export" / "conversations.json").read_text(encoding="utf-8"))
    lisbon = conversations[0]
    lisbon["title"] = f"deploy with {API_KEY}"
    lisbon["mapping"]["bbb3-user"]["message"]["content"]["parts"] = [f"I moved to Lisbon. The key is {API_KEY}"]
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(conversations), encoding="utf-8")
    result = ok(cli("memory", "import", str(path), "--user", "s"))
    assert "secrets are never saved" in result.stderr
    found = []
    for root, _dirs, names in os.walk(isolated_dirs):
        for name in names:
            data = (Path(root) / name).read_bytes()
            if API_KEY.encode() in data or API_KEY.removeprefix("sk-proj-").encode() in data:
                found.append(name)
    assert found == []
    listed = json.loads(ok(cli("conversations", "list", "--user", "s", "--json")).stdout)
    assert any("[redacted API key]" in c["title"] for c in listed)


def test_bad_entries_are_counted_and_skipped_and_a_broken_export_is_one_clear_error(cli, tmp_path: Path):
    conversations = json.loads((DATA / "chatgpt_export" / "conversations.json").read_text(encoding="utf-8"))
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([{"title": "no id", "mapping": {}}, *conversations, 17]), encoding="utf-8")
    result = ok(cli("memory", "import", str(path), "--user", "b"))
    assert "imported 8 messages in 2 conversations from a ChatGPT export, 2 bad entries skipped" in result.stdout
    first, count = result.stderr.strip().splitlines()[:2]
    assert "conversation 1: a conversation without an 'id'" in first
    assert "2 entries could not be read" in count
    junk = tmp_path / "junk" / "conversations.json"
    junk.parent.mkdir()
    junk.write_text('[{"mapping": {}, "id": "x", "title": broken', encoding="utf-8")
    failed = cli("memory", "import", str(junk.parent), "--user", "b")
    assert failed.returncode != 0
    assert failed.stderr.strip().count("\n") <= 2 and "Traceback" not in failed.stderr
    missing = cli("memory", "import", str(tmp_path / "nope.zip"), "--user", "b")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    shutil.rmtree(junk.parent)


def test_progress_is_shown_on_a_terminal_only(tmp_path: Path):
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", "memory", "import", str(DATA / "claude_export"), "--user", "p"],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=dict(os.environ),
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    stdout, _ = process.communicate(timeout=600)
    os.close(master)
    assert process.returncode == 0
    assert b"importing\xe2\x80\xa6 100%" in seen and b"learning from your messages\xe2\x80\xa6 2/2" in seen
    assert b"importing" not in stdout  # the report on stdout is clean; without a terminal, no meter at all


def test_no_learn_queues_the_learning_and_a_bare_import_finishes_it(cli):
    queued = ok(cli("memory", "import", str(DATA / "claude_export"), "--user", "q", "--no-learn"))
    assert "learning is queued" in queued.stdout
    assert facts("q") == []
    finished = ok(cli("memory", "import", "--user", "q"))
    assert "learned 2 memories from 2 of your imported messages" in finished.stdout
    assert [m.text for m in facts("q") if m.status == Status.ACTIVE] == ["User's favourite colour is blue"]
    assert "nothing left to learn" in ok(cli("memory", "import", "--user", "q")).stdout
