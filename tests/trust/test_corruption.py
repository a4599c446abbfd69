"""Damaged store files give one clear line; `doctor --repair` rolls a table back to its last good
version without touching the rest; `backup` / `restore` round-trip the whole store through one file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from trust_helpers import assert_one_line_error, listing, newest_file, write_messages

MESSAGES = 12


def _seed(cli, tmp_path: Path) -> list[dict]:
    source = write_messages(tmp_path / "messages.jsonl", MESSAGES, seed=3)
    imported = cli("memory", "import", str(source))
    assert imported.returncode == 0, imported.stderr
    added = cli("memory", "add", "I am allergic to shellfish", "--key", "allergy")
    assert added.returncode == 0, added.stderr
    return listing(cli)


def test_truncated_data_file_is_a_clear_error_and_repair_brings_back_the_last_good_version(
    cli, tmp_path: Path, isolated_dirs: Path
) -> None:
    before = _seed(cli, tmp_path)
    late = cli("memory", "add", "My cat is called Miso")
    assert late.returncode == 0, late.stderr
    damaged = newest_file(isolated_dirs / "memory" / "memories.lance" / "data")
    os.truncate(damaged, damaged.stat().st_size // 3)

    for command in (("memory", "list"), ("memory", "search", "shellfish"), ("chat", "hello")):
        result = cli(*command)
        assert_one_line_error(result, "doctor --repair")

    doctor = cli("doctor")
    assert doctor.returncode == 1 and "memory store" in doctor.stderr and "Traceback" not in doctor.stderr

    repaired = cli("doctor", "--repair", "--quick")
    assert repaired.returncode == 0, repaired.stderr
    assert "memories: repaired, back to version" in repaired.stdout
    assert "messages: ok" in repaired.stdout  # untouched tables are reported healthy, not rolled back

    after = listing(cli)
    # Only the write that landed in the damaged file is gone; everything before it is intact.
    assert {m["id"]: m for m in after} == {m["id"]: m for m in before}
    assert cli("memory", "add", "My dog is called Pico").returncode == 0  # the store takes writes again
    assert cli("doctor", "--repair", "--quick").stdout.count(": ok (") == 6


def test_damaged_latest_manifest_is_repaired(cli, tmp_path: Path, isolated_dirs: Path) -> None:
    before = _seed(cli, tmp_path)
    manifests = isolated_dirs / "memory" / "memories.lance" / "_versions"
    latest = newest_file(manifests, suffix=".manifest")
    latest.write_bytes(b"\0" * 40)

    assert_one_line_error(cli("memory", "list"), "doctor --repair")
    assert cli("doctor", "--repair", "--quick").returncode == 0
    after = {m["id"] for m in listing(cli)}
    episodes = {m["id"] for m in before if m["kind"] == "episodic"}
    assert episodes <= after  # the import's versions are all older than the damaged one


def test_no_readable_version_says_how_to_restore_a_backup(cli, tmp_path: Path, isolated_dirs: Path) -> None:
    before = _seed(cli, tmp_path)
    backup = tmp_path / "backup.tar"
    assert cli("backup", str(backup)).returncode == 0
    table = isolated_dirs / "memory" / "messages.lance"
    for damaged in [*(table / "data").iterdir(), *(table / "_versions").glob("*.manifest")]:
        damaged.write_bytes(b"garbage")  # every version is unreadable now

    repaired = cli("doctor", "--repair", "--quick")
    assert repaired.returncode == 1
    assert "messages: damaged and not repairable" in repaired.stderr
    assert "assistant restore FILE --force" in repaired.stderr and "Traceback" not in repaired.stderr

    refused = cli("restore", str(backup))
    assert_one_line_error(refused, "--force")
    restored = cli("restore", str(backup), "--force")
    assert restored.returncode == 0, restored.stderr
    assert listing(cli) == before


def test_backup_and_restore_round_trip_into_an_empty_data_dir(cli, tmp_path: Path) -> None:
    seeded = _seed(cli, tmp_path)
    allergy = next(m["id"] for m in seeded if m["key"] == "allergy")
    assert cli("memory", "forget", allergy).returncode == 0  # a purged store (single versions) backs up too
    backup = tmp_path / "backup.tar"
    made = cli("backup", str(backup), "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["tables"]["messages"] == MESSAGES
    assert backup.stat().st_mode & 0o077 == 0
    original = tmp_path / "original.jsonl"
    assert cli("memory", "export", str(original)).returncode == 0

    elsewhere = {"ASSISTANT_DATA_DIR": str(tmp_path / "fresh")}
    restored = cli("restore", str(backup), env=elsewhere)
    assert restored.returncode == 0, restored.stderr
    copy = tmp_path / "copy.jsonl"
    assert cli("memory", "export", str(copy), env=elsewhere).returncode == 0
    # Every record (memories with vectors, messages, audit, profile) is the same after the trip.
    assert original.read_text().splitlines()[1:] == copy.read_text().splitlines()[1:]
    search = cli("memory", "search", "number", "--json", env=elsewhere)
    assert search.returncode == 0 and json.loads(search.stdout), search.stderr


def test_restore_checks_the_whole_file_before_changing_anything(cli, tmp_path: Path) -> None:
    before = _seed(cli, tmp_path)
    backup = tmp_path / "backup.tar"
    assert cli("backup", str(backup)).returncode == 0
    whole = backup.read_bytes()
    bad_files = {
        "truncated.tar": whole[: len(whole) // 2],
        "random.tar": os.urandom(4096),
        "empty.tar": b"",
        "messages.jsonl": (tmp_path / "messages.jsonl").read_bytes(),
    }
    for name, content in bad_files.items():
        path = tmp_path / name
        path.write_bytes(content)
        assert_one_line_error(cli("restore", str(path), "--force"), "backup")
    assert_one_line_error(cli("restore", str(tmp_path / "missing.tar"), "--force"), "no such backup file")
    assert listing(cli) == before
