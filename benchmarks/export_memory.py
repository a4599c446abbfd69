"""Peak memory reading a big ChatGPT export: the app's streaming reader against `json.load`.

    .venv/bin/python benchmarks/export_memory.py [--megabytes 200]

Writes a synthetic ChatGPT `conversations.json` of about the size asked for (many
conversations, each a `mapping` tree of user and assistant turns), then, each in a fresh
process, (a) reads it whole with `json.load` and walks every conversation (the baseline:
what a naive importer does), and (b) reads it with the app's `read_export`, which parses
every conversation and its kept branch. Prints both processes' peak RSS (ru_maxrss) and the
time taken, and their ratio. Storing and learning are not included: they hold one batch at a
time whatever the file's size.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

BASELINE = """
import json, resource, sys
with open(sys.argv[1], "rb") as handle:
    data = json.load(handle)
messages = sum(1 for c in data for node in c["mapping"].values() if node["message"])
print(messages, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

APP = """
import resource, sys
from pathlib import Path
from assistant.memory.exports.archive import open_export, read_export
bad = []
messages = sum(len(c.messages) for c in read_export(open_export(Path(sys.argv[1])), bad))
print(messages, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def conversation(number: int, rng: random.Random, turns: int = 40) -> dict:
    words = ["tea", "Lisbon", "train", "garden", "sister", "project", "recipe", "holiday", "piano", "budget"]
    mapping: dict[str, dict] = {"root": {"id": "root", "message": None, "parent": None, "children": []}}
    parent, started = "root", 1_700_000_000 + number * 3600
    for turn in range(turns):
        node_id = f"c{number}-m{turn}"
        role = "user" if turn % 2 == 0 else "assistant"
        text = " ".join(rng.choice(words) for _ in range(rng.randint(20, 120)))
        mapping[node_id] = {
            "id": node_id,
            "message": {
                "id": node_id,
                "author": {"role": role, "name": None, "metadata": {}},
                "create_time": started + turn * 30,
                "content": {"content_type": "text", "parts": [text]},
                "status": "finished_successfully",
                "metadata": {},
                "recipient": "all",
            },
            "parent": parent,
            "children": [],
        }
        mapping[parent]["children"].append(node_id)
        parent = node_id
    return {
        "id": f"conv-{number}",
        "title": f"Conversation {number}",
        "create_time": started,
        "update_time": started + turns * 30,
        "mapping": mapping,
        "current_node": parent,
    }


def write_export(path: Path, megabytes: int) -> int:
    rng, written, count = random.Random(7), 0, 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[")
        while written < megabytes * 1_000_000:
            piece = json.dumps(conversation(count, rng))
            handle.write(("," if count else "") + piece)
            written += len(piece) + 1
            count += 1
        handle.write("]")
    return count


def measure(script: str, path: Path) -> tuple[int, float, float]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True, cwd=REPO
    )
    messages, peak_kb = result.stdout.split()
    return int(messages), int(peak_kb) / 1024, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "conversations.json"
        conversations = write_export(path, args.megabytes)
        size = path.stat().st_size / 1e6
        naive_messages, naive_peak, naive_seconds = measure(BASELINE, path)
        app_messages, app_peak, app_seconds = measure(APP, path)
    print(f"export: {size:,.0f} MB, {conversations:,} conversations")
    print(f"{'reader':<34} {'messages':>10} {'peak RSS (MB)':>14} {'seconds':>8}")
    print(f"{'json.load (baseline)':<34} {naive_messages:>10,} {naive_peak:>14,.0f} {naive_seconds:>8.1f}")
    print(f"{'assistant read_export (streamed)':<34} {app_messages:>10,} {app_peak:>14,.0f} {app_seconds:>8.1f}")
    print(f"peak RSS ratio app/baseline: {app_peak / naive_peak:.2f}")


if __name__ == "__main__":
    main()
