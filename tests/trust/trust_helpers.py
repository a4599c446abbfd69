"""Helpers shared by the trust tests: seeded message files, listings, one-line error checks."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

TOPICS = (
    "my sister Ana lives in Porto",
    "I started learning the cello",
    "the dentist appointment moved to Friday",
    "I prefer short answers",
    "my dog Pico hates thunderstorms",
    "we are planning a trip to Kyoto",
    "I switched teams at work",
    "my favourite tea is genmaicha",
)


def write_messages(
    path: Path, count: int, *, seed: int, sessions: int = 3, prefix: str = "m", session_prefix: str = "s"
) -> Path:
    """A JSON Lines import file of `count` user/assistant messages with stable ids."""
    rng = random.Random(seed)
    lines = []
    for number in range(count):
        topic = rng.choice(TOPICS)
        lines.append(
            json.dumps(
                {
                    "id": f"{prefix}{number:05d}",
                    "session_id": f"{session_prefix}{number % sessions}",
                    "role": "user" if number % 2 == 0 else "assistant",
                    "content": f"Note {number}: {topic} ({rng.randint(0, 10**6)})",
                    "timestamp": f"2025-0{1 + number % 9}-1{number % 10}T10:{number % 60:02d}:00+00:00",
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def listing(cli, **kwargs) -> list[dict]:
    result = cli("memory", "list", "--json", **kwargs)
    assert result.returncode == 0, result.stderr
    return sorted(json.loads(result.stdout), key=lambda memory: memory["id"])


def assert_one_line_error(result: subprocess.CompletedProcess, expected: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stdout[-500:], result.stderr[-2000:])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in lines if line.startswith("assistant: error:")]
    assert len(errors) == 1, result.stderr
    assert expected in errors[0], errors[0]


def newest_file(folder: Path, *, suffix: str = "") -> Path:
    files = [path for path in folder.iterdir() if path.is_file() and path.name.endswith(suffix)]
    return max(files, key=lambda path: (path.stat().st_mtime_ns, path.name))
