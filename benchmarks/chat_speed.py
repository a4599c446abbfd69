"""Chat speed: the app's path against raw llama-cpp-python, same prompt, same run.

Measures load time, time to first token and tokens per second for
  * raw llama-cpp-python: `Llama(...)` + `create_chat_completion(stream=True)` (the baseline),
  * the app in-process: settings, model lookup and `ModelRunner.stream_chat` (template, lock),
and, at process level, the wall time to the first byte of output and to the end for
  * `python -c <raw llama-cpp-python script>` (baseline) against
  * `python -m assistant chat PROMPT` (the real CLI: imports, settings, model lookup), with
    memory on (recall and learning included: the whole turn) and with memory off, in-process
    (ASSISTANT_SERVICE=off), and through the local service: warm (already running) and cold
    (each repetition stops it first, so the command starts it); and what the model's learning
    costs a command: the default against learning by the rules alone (model_extraction off),
    in-process and through a warm service.

Both sides get the same messages, threads, context size, max tokens and temperature 0,
and each repetition loads the model afresh, alternating which side goes first. Ratios are
app / raw: ~1.0 means the app adds no overhead (for tokens/s, higher is better).

    .venv/bin/python benchmarks/chat_speed.py --reps 5 --max-tokens 96
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PROMPT = "Give me three tips for remembering names"
# Both sides get this system prompt in-process; the CLI builds its own (with memory sections).
BASE_SYSTEM_PROMPT = "You are a helpful, private assistant running on the user's own computer."


@dataclass
class Run:
    load: float
    first_token: float
    tokens: int
    total: float

    @property
    def tokens_per_second(self) -> float:
        generating = self.total - self.first_token
        return (self.tokens - 1) / generating if self.tokens > 1 and generating > 0 else 0.0


def _timed_stream(pieces: Iterable[str], started: float) -> tuple[float, int, float]:
    first, count = None, 0
    for piece in pieces:
        if not piece:
            continue
        if first is None:
            first = time.perf_counter() - started
        count += 1
    return (first or 0.0), count, time.perf_counter() - started


def run_raw(model: Path, messages: list[dict[str, str]], args: argparse.Namespace) -> Run:
    from llama_cpp import Llama

    from assistant.llm.cpu_guard import keep_llama_off_crashing_kernels

    keep_llama_off_crashing_kernels()  # the same kernels as the app: on AMX CPUs the others crash

    started = time.perf_counter()
    llama = Llama(
        model_path=str(model),
        n_ctx=args.context,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        seed=0,
        verbose=False,
    )
    load = time.perf_counter() - started
    started = time.perf_counter()
    stream = llama.create_chat_completion(messages=messages, max_tokens=args.max_tokens, temperature=0.0, stream=True)
    pieces = (chunk["choices"][0]["delta"].get("content") or "" for chunk in stream)  # type: ignore[index,union-attr]
    first, count, total = _timed_stream(pieces, started)
    del llama
    gc.collect()
    return Run(load, first, count, total)


def run_app(messages: list[dict[str, str]], args: argparse.Namespace) -> Run:
    """The app's generation path: settings -> model lookup -> ModelRunner.stream_chat."""
    from assistant.application.session import open_runner
    from assistant.config import load_settings
    from assistant.llm.runner import ChatMessage

    settings = load_settings(model=args.model, threads=args.threads, context_size=args.context, seed=0)
    runner = open_runner(settings)
    started = time.perf_counter()
    runner.load()
    load = time.perf_counter() - started
    chat = [ChatMessage(m["role"], m["content"]) for m in messages]
    started = time.perf_counter()
    first, count, total = _timed_stream(runner.stream_chat(chat, max_tokens=args.max_tokens, temperature=0.0), started)
    del runner
    gc.collect()
    return Run(load, first, count, total)


RAW_SCRIPT = """
import sys
from llama_cpp import Llama
from assistant.llm.cpu_guard import keep_llama_off_crashing_kernels
keep_llama_off_crashing_kernels()
model, threads, context, max_tokens, system, prompt = sys.argv[1:7]
llama = Llama(model_path=model, n_ctx=int(context), n_threads=int(threads), n_threads_batch=int(threads),
              seed=0, verbose=False)
messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
for chunk in llama.create_chat_completion(messages=messages, max_tokens=int(max_tokens), temperature=0.0,
                                          stream=True):
    text = chunk["choices"][0]["delta"].get("content")
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()
sys.stdout.write("\\n")
"""


def time_process(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds to the first byte on stdout and to the process's end."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert process.stdout is not None
    first = None
    while chunk := os.read(process.stdout.fileno(), 4096):
        if first is None and chunk.strip():
            first = time.perf_counter() - started
    if process.wait() != 0:
        raise SystemExit(f"command failed: {' '.join(command[:4])} ...")
    return (first or 0.0), time.perf_counter() - started


def stop_service(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "assistant", "serve", "--stop"], env=env, capture_output=True, check=True)


def _service_status(env: dict[str, str]) -> dict[str, object]:
    status = subprocess.run(
        [sys.executable, "-m", "assistant", "serve", "--status", "--json"], env=env, capture_output=True, text=True
    )
    try:
        return dict(json.loads(status.stdout))
    except ValueError:
        return {}


def warm_service(command: list[str], env: dict[str, str]) -> None:
    """Make sure the service runs, has answered once and has loaded everything, embedder included (untimed)."""
    if not _service_status(env).get("running"):
        subprocess.run(command, env=env, capture_output=True, check=True)
    deadline = time.monotonic() + 180
    while not _service_status(env).get("warm") and time.monotonic() < deadline:
        time.sleep(0.5)


def settle(envs: list[dict[str, str]]) -> None:
    """Wait (up to 3 minutes) until every running service has warmed up (a cold row's service loads
    its embedder after its answer) and has no learning left to do."""
    deadline = time.monotonic() + 180
    for env in envs:
        while time.monotonic() < deadline:
            status = _service_status(env)
            if not status.get("running") or (status.get("warm") and not status.get("pending_learning")):
                break
            time.sleep(0.5)


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def print_table(title: str, rows: list[tuple[str, float, float, bool]]) -> None:
    print(f"\n{title}")
    print(f"  {'metric':<34} {'raw llama-cpp':>14} {'assistant':>12} {'ratio':>7}")
    for name, raw, app, higher_is_better in rows:
        ratio = app / raw if raw else float("nan")
        better = (ratio > 1) == higher_is_better
        hint = "" if abs(ratio - 1) < 0.1 else ("  (app better)" if better else "  (app worse)")
        print(f"  {name:<34} {raw:>14.3f} {app:>12.3f} {ratio:>7.2f}{hint}")


def print_in_process(raw_runs: list[Run], app_runs: list[Run]) -> None:
    print_table(
        "in-process (median of repetitions)",
        [
            ("load (s)", median(r.load for r in raw_runs), median(r.load for r in app_runs), False),
            (
                "time to first token (s)",
                median(r.first_token for r in raw_runs),
                median(r.first_token for r in app_runs),
                False,
            ),
            (
                "tokens/s",
                median(r.tokens_per_second for r in raw_runs),
                median(r.tokens_per_second for r in app_runs),
                True,
            ),
            ("tokens generated", median(r.tokens for r in raw_runs), median(r.tokens for r in app_runs), True),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct", help="model name or .gguf path")
    parser.add_argument("--prompt", default=DEFAULT_PROMPT)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--context", type=int, default=2048)
    parser.add_argument("--no-cli", action="store_true", help="skip the subprocess comparison")
    parser.add_argument(
        "--only",
        metavar="ROWS",
        help="comma-separated process rows to time (raw is always timed): app, app-no-memory, app-rules-only, "
        "service-warm, service-warm-rules-only, service-cold",
    )
    parser.add_argument("--no-in-process", action="store_true", help="skip the in-process generation comparison")
    parser.add_argument(
        "--only-learning",
        action="store_true",
        help="time only the learning rows (rules alone vs rules + model, in-process and through a warm service)",
    )
    args = parser.parse_args()
    if args.only_learning:
        args.only, args.no_in_process = "app,app-rules-only,service-warm,service-warm-rules-only", True

    scratch = Path(tempfile.mkdtemp(prefix="chat-speed-"))
    os.environ["ASSISTANT_DATA_DIR"] = str(scratch / "data")
    os.environ["ASSISTANT_CONFIG"] = str(scratch / "config.toml")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from assistant.llm.catalog import resolve_model
    from assistant.llm.native_log import route_native_stderr

    route_native_stderr()  # llama.cpp's chatter goes to the log for both sides alike
    model = resolve_model(args.model).path
    messages = [{"role": "system", "content": BASE_SYSTEM_PROMPT}, {"role": "user", "content": args.prompt}]
    print(
        f"model {model.name}; threads {args.threads}; context {args.context}; max tokens {args.max_tokens}; "
        f"{args.reps} repetitions; prompt {args.prompt!r}"
    )

    run_app(messages, args)  # warm-up: page the model file in and import everything once
    raw_runs: list[Run] = []
    app_runs: list[Run] = []
    for rep in range(0 if args.no_in_process else args.reps):
        order: list[Callable[[], None]] = [
            lambda: raw_runs.append(run_raw(model, messages, args)),
            lambda: app_runs.append(run_app(messages, args)),
        ]
        for measure in order if rep % 2 == 0 else reversed(order):
            measure()
    if raw_runs:
        print_in_process(raw_runs, app_runs)
    if not args.no_cli:
        compare_processes(args, model, scratch)


def compare_processes(args: argparse.Namespace, model: Path, scratch: Path) -> None:
    env = {
        **os.environ,
        "ASSISTANT_MODEL": str(model),
        "ASSISTANT_THREADS": str(args.threads),
        "ASSISTANT_CONTEXT_SIZE": str(args.context),
        "ASSISTANT_MAX_REPLY_TOKENS": str(args.max_tokens),
        "ASSISTANT_TEMPERATURE": "0",
        "ASSISTANT_SEED": "0",
    }
    raw_command = [
        sys.executable,
        "-c",
        RAW_SCRIPT,
        str(model),
        str(args.threads),
        str(args.context),
        str(args.max_tokens),
        BASE_SYSTEM_PROMPT,
        args.prompt,
    ]
    app_command = [sys.executable, "-m", "assistant", "chat", args.prompt]
    # In-process rows never touch the service; the service rows share one (same settings, so it serves them).
    in_process = {**env, "ASSISTANT_SERVICE": "off"}
    no_memory = {**in_process, "ASSISTANT_MEMORY_ENABLED": "false"}
    served = {**env, "ASSISTANT_SERVICE": "auto"}
    # Learning by the rules alone (no model pass): the baseline for what the model's learning costs
    # a command. Other settings need their own service, so it gets its own data dir.
    rules_only = {
        **in_process,
        "ASSISTANT_MODEL_EXTRACTION": "false",
        "ASSISTANT_DATA_DIR": str(scratch / "data-in-process-rules-only"),
    }
    served_rules_only = {
        **served,
        "ASSISTANT_MODEL_EXTRACTION": "false",
        "ASSISTANT_DATA_DIR": str(scratch / "data-rules-only"),
    }
    sides = {
        "raw": (raw_command, env),
        "app": (app_command, in_process),
        "app-no-memory": (app_command, no_memory),
        "app-rules-only": (app_command, rules_only),
        "service-warm": (app_command, served),
        "service-warm-rules-only": (app_command, served_rules_only),
        "service-cold": (app_command, served),
    }
    if args.only:
        wanted = {"raw", *args.only.split(",")}
        unknown = wanted - set(sides)
        if unknown:
            raise SystemExit(f"unknown rows: {', '.join(sorted(unknown))}")
        sides = {name: side for name, side in sides.items() if name in wanted}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    try:
        for rep in range(args.reps):
            names = list(sides) if rep % 2 == 0 else list(reversed(sides))
            for name in names:
                command, command_env = sides[name]
                if name == "service-cold":
                    stop_service(served)  # cold: the command starts the service and waits for it
                elif name.startswith("service-warm"):
                    warm_service(app_command, command_env)
                # A service still reading the previous exchange with the model would take a core
                # from whichever command runs next: each is timed on a machine at rest.
                settle([served, served_rules_only])
                times[name].append(time_process(command, command_env))
    finally:
        stop_service(served)
        stop_service(served_rules_only)
    for label, name in (
        ("memory off", "app-no-memory"),
        ("memory on: the whole turn", "app"),
        ("through a warm service, memory on", "service-warm"),
        ("cold: starting the service, memory on", "service-cold"),
    ):
        if name not in times:
            continue
        print_table(
            f"process: `python -m assistant chat` ({label}) vs a raw llama-cpp-python script (median wall s)",
            [
                (
                    "start to first output (s)",
                    median(t[0] for t in times["raw"]),
                    median(t[0] for t in times[name]),
                    False,
                ),
                ("start to exit (s)", median(t[1] for t in times["raw"]), median(t[1] for t in times[name]), False),
            ],
        )

    if "app-rules-only" not in times and "service-warm-rules-only" not in times:
        return
    print("\nlearning: `assistant chat` with the model's learning on (the default) vs the rules alone (median wall s)")
    print(f"  {'path':<34} {'rules alone':>14} {'rules + model':>14} {'ratio':>7}")
    for label, off, on in (
        ("in-process: start to exit", "app-rules-only", "app"),
        ("warm service: start to exit", "service-warm-rules-only", "service-warm"),
    ):
        if off not in times or on not in times:
            continue
        alone, learning = median(t[1] for t in times[off]), median(t[1] for t in times[on])
        print(f"  {label:<34} {alone:>14.3f} {learning:>14.3f} {learning / alone:>7.2f}")
        samples = ", ".join(f"{t[1]:.2f}" for t in times[off]), ", ".join(f"{t[1]:.2f}" for t in times[on])
        print(f"    each repetition: rules alone {samples[0]}; rules + model {samples[1]}")


if __name__ == "__main__":
    main()
