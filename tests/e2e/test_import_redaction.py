"""An imported chat keeps no secret on disk: the README's promise, checked byte by byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CARD = "4111 1111 1111 1111"
API_KEY = "sk-proj-Zq8vT3mK9pL2xR7wY4nB6cJ1"
# Every way the secrets could sit in a file: as typed, without separators, in UTF-16.
NEEDLES = [CARD, CARD.replace(" ", ""), CARD.replace(" ", "-"), API_KEY, API_KEY.removeprefix("sk-proj-")]


def files_holding_a_secret(folder: Path) -> list[tuple[Path, str]]:
    patterns = [(needle, encoded) for needle in NEEDLES for encoded in (needle.encode(), needle.encode("utf-16-le"))]
    found = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            data = path.read_bytes()
            found.extend((path, needle) for needle, pattern in patterns if pattern in data)
    return found


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "ASSISTANT_DATA_DIR": str(data_dir)},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_importing_json_lines_with_a_card_number_and_an_api_key_stores_neither(tmp_path: Path) -> None:
    records = [
        {"id": "m1", "session_id": "s", "role": "user", "content": f"My card is {CARD}, expires 09/27"},
        {"id": "m2", "session_id": "s", "role": "assistant", "content": "Thanks, noted."},
        {"id": "m3", "session_id": "s", "role": "user", "content": f"and the API key is {API_KEY}"},
        {"id": "m4", "session_id": "s", "role": "user", "content": f"again: {CARD.replace(' ', '')}"},
        {"role": "user", "content": f"{API_KEY} is what the deploy script uses"},
    ]
    chat = tmp_path / "chat.jsonl"
    chat.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    data_dir = tmp_path / "data"

    imported = run("memory", "import", str(chat), "--user", "u", data_dir=data_dir)
    assert "imported 5 messages" in imported.stdout
    assert "secrets are never saved" in imported.stderr  # the user is told, in one line

    assert files_holding_a_secret(data_dir) == []
    listed = json.loads(run("memory", "list", "--user", "u", "--json", data_dir=data_dir).stdout)
    texts = " ".join(item["text"] for item in listed)
    assert texts.count("[redacted card number]") == 2 and texts.count("[redacted API key]") == 2
    assert "expires 09/27" in texts and "deploy script" in texts  # the rest of each message is kept
