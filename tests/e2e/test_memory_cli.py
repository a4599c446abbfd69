"""`assistant memory` as a user runs it: real processes, real LanceDB, real embedder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SEARCH_KEYS = {"id", "text", "kind", "score", "created_at", "sources"}
LIST_KEYS = SEARCH_KEYS | {"status", "pinned", "strength", "key"}


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def as_json(result: subprocess.CompletedProcess):
    return json.loads(ok(result).stdout)


def scan(folder: Path, needle: str) -> list[Path]:
    hits = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            if needle.encode() in path.read_bytes():
                hits.append(path)
    return hits


def write_messages(path: Path, count: int, prefix: str, session: str = "s1") -> Path:
    lines = []
    for i in range(count):
        lines.append(
            json.dumps(
                {
                    "id": f"{prefix}-{i}",
                    "session_id": f"{session}-{i // 10}",
                    "role": "user" if i % 2 == 0 else "assistant",
                    "speaker": "Dana" if i % 2 == 0 else None,
                    "content": f"{prefix} message {i}: talking about topic {i % 7} and hobby {i % 5}",
                    "timestamp": f"2024-02-{1 + i % 28:02d}T12:{i % 60:02d}:00Z",
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_new_user_adds_searches_edits_pins_forgets_and_moves_their_memory(cli, tmp_path: Path, isolated_dirs):
    alice = ["--user", "alice"]
    added = [
        as_json(cli("memory", "add", "I am allergic to shellfish", "--key", "allergy", *alice, "--json")),
        as_json(cli("memory", "add", "My sister Ana lives in Porto", "--raw", *alice, "--json")),
        as_json(cli("memory", "add", "Keep answers short", "--kind", "procedural", *alice, "--json")),
    ]
    assert all(set(item) == LIST_KEYS for item in added)

    hits = as_json(cli("memory", "search", "seafood I can't eat", *alice, "--k", "2", "--json"))
    assert set(hits[0]) == SEARCH_KEYS and hits[0]["id"] == added[0]["id"] and len(hits) == 2
    assert hits[0]["created_at"].endswith("Z") and isinstance(hits[0]["score"], float)

    ok(cli("memory", "edit", added[1]["id"], "My sister Ana moved to Braga", *alice))
    ok(cli("memory", "pin", added[0]["id"], *alice))
    listed = {item["id"]: item for item in as_json(cli("memory", "list", *alice, "--json"))}
    assert all(set(item) == LIST_KEYS for item in listed.values())
    assert listed[added[0]["id"]]["pinned"] is True and listed[added[1]["id"]]["text"] == "My sister Ana moved to Braga"
    shown = as_json(cli("memory", "show", added[1]["id"], *alice, "--json"))
    assert [entry["action"] for entry in shown["audit"]] == ["add", "update"]
    assert "Braga" in ok(cli("memory", "show", added[1]["id"], *alice)).stdout

    ok(cli("memory", "forget", added[2]["id"], *alice))
    assert added[2]["id"] not in {item["id"] for item in as_json(cli("memory", "list", *alice, "--json"))}
    assert scan(isolated_dirs, "Keep answers short") == []

    export = tmp_path / "alice.jsonl"
    summary = ok(cli("memory", "export", str(export), *alice)).stdout
    assert summary.startswith("exported ") and "2 memories" in summary and "audit entries" in summary
    fresh = {"ASSISTANT_DATA_DIR": str(tmp_path / "fresh")}
    ok(cli("memory", "import", str(export), *alice, env=fresh))
    ok(cli("memory", "export", str(tmp_path / "again.jsonl"), *alice, env=fresh))
    body = lambda path: [json.loads(line) for line in path.read_text().splitlines()[1:]]  # noqa: E731
    assert body(export) == body(tmp_path / "again.jsonl")
    moved = as_json(cli("memory", "search", "where does my sister live", *alice, "--json", env=fresh))
    assert moved[0]["text"] == "My sister Ana moved to Braga"
    stats = as_json(cli("memory", "stats", *alice, "--json", env=fresh))
    assert stats["memories"] == 2 and stats["pinned"] == 1


def test_import_contract_ids_reimport_bad_lines_and_exit_codes(cli, tmp_path: Path):
    path = tmp_path / "chat.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "id": "m-1",
                        "session_id": "a",
                        "role": "user",
                        "speaker": "Sam",
                        "content": "I adopted a beagle named Biscuit",
                        "timestamp": "2024-06-01T09:00:00Z",
                    }
                ),
                "this is not json",
                json.dumps({"role": "narrator", "content": "x"}),
                json.dumps(
                    {
                        "id": "m-2",
                        "session_id": "a",
                        "role": "assistant",
                        "content": "Congratulations on Biscuit!",
                        "timestamp": "2024-06-01T09:00:10Z",
                    }
                ),
                json.dumps({"role": "user", "content": "no id, no session, no time"}),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    first = ok(cli("memory", "import", str(path), "--user", "sam"))
    assert "imported 3 messages" in first.stdout and "2 bad lines" in first.stdout
    assert first.stderr.splitlines() == [
        f"{path}:line 2: not valid JSON (Expecting value)",
        f'{path}:line 3: \'role\' must be "user" or "assistant"',
    ]
    second = ok(cli("memory", "import", str(path), "--user", "sam", "--json"))
    assert json.loads(second.stdout) == {"imported": 0, "already_present": 3, "bad_lines": 2, "restored": {}}
    listed = as_json(cli("memory", "list", "--user", "sam", "--json"))
    assert len(listed) == 3
    hits = as_json(cli("memory", "search", "what is my dog called", "--user", "sam", "--k", "1", "--json"))
    assert hits[0]["sources"] == ["m-1"] and hits[0]["created_at"] == "2024-06-01T09:00:00Z"
    assert hits[0]["kind"] == "episodic" and "Biscuit" in hits[0]["text"]

    missing = cli("memory", "import", str(tmp_path / "nope.jsonl"), "--user", "sam")
    assert missing.returncode == 1 and missing.stderr.startswith("assistant: error: cannot read")
    junk = tmp_path / "junk.jsonl"
    junk.write_text("nope\n{}\n", encoding="utf-8")
    all_bad = cli("memory", "import", str(junk), "--user", "sam")
    assert all_bad.returncode == 1 and "every line was bad" in all_bad.stderr and "Traceback" not in all_bad.stderr
    usage = cli("memory", "search", "x", "--k", "zero")
    assert usage.returncode == 2


def test_stdin_batch_search_answers_every_query_in_order(cli, tmp_path: Path):
    ok(cli("memory", "import", str(write_messages(tmp_path / "m.jsonl", 60, "batch")), "--user", "b"))
    queries = [f"topic {i % 7} hobby {i % 5}" for i in range(120)]
    result = ok(cli("memory", "search", "--user", "b", "--k", "3", "--json", input="\n".join(queries) + "\n"))
    lines = result.stdout.splitlines()
    assert len(lines) == len(queries)
    answers = [json.loads(line) for line in lines]
    assert all(len(answer) == 3 and all(set(hit) == SEARCH_KEYS for hit in answer) for answer in answers)
    single = as_json(cli("memory", "search", queries[17], "--user", "b", "--k", "3", "--json"))
    assert [hit["id"] for hit in single] == [hit["id"] for hit in answers[17]]

    # A blank line asks for nothing and gets nothing, in its place; an empty query is an error.
    gapped = ok(cli("memory", "search", "--user", "b", "--k", "3", "--json", input=f"{queries[0]}\n\n{queries[17]}\n"))
    ids = [[hit["id"] for hit in json.loads(line)] for line in gapped.stdout.splitlines()]
    assert ids == [[hit["id"] for hit in answers[0]], [], [hit["id"] for hit in answers[17]]]
    for empty in ("", "   "):
        refused = cli("memory", "search", empty, "--user", "b")
        assert refused.returncode == 1 and refused.stdout == ""
        assert refused.stderr.strip() == (
            "assistant: error: the query is empty: give words to search for, or one query per line on stdin"
        )


def test_users_are_isolated(cli):
    ok(cli("memory", "add", "Secret plan: surprise party on Friday", "--user", "one"))
    ok(cli("memory", "add", "Likes gardening", "--user", "two"))
    assert as_json(cli("memory", "search", "surprise party", "--user", "two", "--json"))[0]["text"] == "Likes gardening"
    assert [m["text"] for m in as_json(cli("memory", "list", "--user", "two", "--json"))] == ["Likes gardening"]


def test_forget_all_removes_every_trace(cli, tmp_path: Path, isolated_dirs: Path):
    unique = "zanzibarquokkaphrase"
    ok(cli("memory", "add", f"The safe phrase is {unique}", "--user", "u"))
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"role": "user", "content": f"please remember {unique}"}) + "\n", encoding="utf-8")
    ok(cli("memory", "import", str(path), "--user", "u"))
    ok(cli("memory", "add", "Keeps bees", "--user", "other"))
    assert scan(isolated_dirs, unique)
    refused = cli("memory", "forget", "--all", "--user", "u")
    assert refused.returncode == 1 and "--yes" in refused.stderr
    ok(cli("memory", "forget", "--all", "--yes", "--user", "u"))
    assert scan(isolated_dirs, unique) == []
    assert as_json(cli("memory", "list", "--user", "u", "--json")) == []
    assert [m["text"] for m in as_json(cli("memory", "list", "--user", "other", "--json"))] == ["Keeps bees"]


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path, isolated_dirs: Path):
    files = [write_messages(tmp_path / f"{name}.jsonl", 150, name, session=name) for name in ("left", "right")]
    command = [sys.executable, "-m", "assistant", "memory"]
    processes = [
        subprocess.Popen(
            [*command, "import", str(path), "--user", "c"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for path in files
    ]
    processes += [
        subprocess.Popen(
            [*command, "add", f"concurrent fact {i}", "--user", "c"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for process in processes:
        _out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
    stats = json.loads(
        subprocess.run([*command, "stats", "--user", "c", "--json"], capture_output=True, text=True, check=True).stdout
    )
    assert stats["messages"] == 300 and stats["memories"] == 302 and stats["audit_entries"] == 302
    assert stats["conversations"] == 30


def test_memory_add_never_stores_a_secret(cli, isolated_dirs):
    added = cli("memory", "add", "my password is Tr0ub4dor&3-zebra", "--json")
    assert added.returncode == 0, added.stderr
    for path in isolated_dirs.rglob("*"):
        if path.is_file():
            assert b"Tr0ub4dor" not in path.read_bytes(), path
