"""Startup speed of the TUI: launch -> first paint, and launch -> ready to chat.

Each app runs in a fresh process on a pseudo-terminal (120x40), as a user starts it. The
baseline, measured in the same run, is a minimal Textual app (a label and a footer), so
the ratio shows what the assistant adds on top of Textual itself. The app is timed twice:
in-process (it loads the model, the embedder and the store itself) and as a thin client of
the warm local service (`assistant serve`, started and warmed before the timed runs).

    python benchmarks/startup.py [--runs 5]

Goals: first paint within 2x of the minimal app; ready to chat within 2 s with the service warm.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

MINIMAL_APP = """
from textual.app import App
from textual.widgets import Footer, Label

class Minimal(App):
    BINDINGS = [("ctrl+q", "quit", "Quit")]
    def compose(self):
        yield Label("minimal app painted")
        yield Footer()

Minimal().run()
"""
SIZE = (40, 120)
TIMEOUT = 120.0
WARM_GOAL_SECONDS = 2.0
GIVE_UP = (b"unavailable", b"Internal error", b"Traceback")


def time_markers(
    command: list[str], markers: list[bytes], env: dict[str, str], give_up: tuple[bytes, ...] = ()
) -> list[float | None]:
    """Seconds from launch until each marker first appears on the terminal (None if never or on `give_up`)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[0], SIZE[1], 0, 0))
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True
    )
    os.close(slave)
    seen: list[float | None] = [None] * len(markers)
    output = b""
    try:
        while None in seen and time.perf_counter() - started < TIMEOUT:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            output += chunk
            now = time.perf_counter() - started
            for index, marker in enumerate(markers):
                if seen[index] is None and marker in output:
                    seen[index] = now
            if any(failure in output for failure in give_up):
                break
    finally:
        try:
            os.write(master, b"\x11")  # ctrl+q
            process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        os.close(master)
    return seen


def assistant_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "assistant", *args]


def start_warm_service(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`assistant serve` for the benchmark's data dir, once it has loaded the model, the embedder and the store."""
    service = subprocess.Popen(
        assistant_command("serve"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.perf_counter() + TIMEOUT
    while time.perf_counter() < deadline:
        status = subprocess.run(
            assistant_command("serve", "--status", "--json"), env=env, capture_output=True, text=True
        )
        if status.returncode == 0 and json.loads(status.stdout).get("warm"):
            return service
        if service.poll() is not None:
            break
        time.sleep(0.5)
    service.kill()
    raise SystemExit("the service did not warm up")


def stop_service(service: subprocess.Popen[bytes], env: dict[str, str]) -> None:
    subprocess.run(assistant_command("serve", "--stop"), env=env, capture_output=True, timeout=60)
    try:
        service.wait(timeout=30)
    except subprocess.TimeoutExpired:
        service.kill()
        service.wait()


def median(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if len(present) == len(values) and present else None


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:8.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "ASSISTANT_DATA_DIR": str(Path(folder) / "data"),
            "ASSISTANT_CONFIG": str(Path(folder) / "config.toml"),
            "TERM": "xterm-256color",
            "COLUMNS": str(SIZE[1]),
            "LINES": str(SIZE[0]),
            "ASSISTANT_SERVICE": "off",  # the in-process rows; the served row sets its own
        }
        served_env = {**env, "ASSISTANT_SERVICE": "running"}
        minimal = Path(folder) / "minimal_app.py"
        minimal.write_text(MINIMAL_APP, encoding="utf-8")
        baseline_paint: list[float | None] = []
        app_paint: list[float | None] = []
        app_ready: list[float | None] = []
        tui_only_paint: list[float | None] = []
        served_paint: list[float | None] = []
        served_ready: list[float | None] = []
        service = start_warm_service(served_env)
        try:
            for _ in range(args.runs):
                paint, ready = time_markers(
                    assistant_command(), [b"loading model", b"ready"], served_env, give_up=GIVE_UP
                )
                served_paint.append(paint)
                served_ready.append(ready)
        finally:
            stop_service(service, served_env)
        for _ in range(args.runs):
            # Alternate the two so machine load affects both alike.
            baseline_paint += time_markers([sys.executable, str(minimal)], [b"minimal app painted"], env)
            paint, ready = time_markers(assistant_command(), [b"loading model", b"ready"], env, give_up=GIVE_UP)
            app_paint.append(paint)
            app_ready.append(ready)
            # The same app started without the CLI's command modules: shows what they cost.
            tui_only_paint += time_markers(
                [sys.executable, "-c", "from assistant.tui.launch import run_tui; run_tui(None)"],
                [b"loading model"],
                env,
                give_up=GIVE_UP,
            )
    base, paint_median, ready_median = median(baseline_paint), median(app_paint), median(app_ready)
    tui_only = median(tui_only_paint)
    print(f"startup, median of {args.runs} runs, terminal {SIZE[1]}x{SIZE[0]}")
    print(f"{'measure':<34}{'time':>11}{'vs minimal':>12}")
    print(f"{'minimal Textual app: first paint':<34}{fmt(base):>11}{'1.00x':>12}")
    rows = (
        ("assistant: first paint", paint_median),
        ("  (TUI entry without the CLI)", tui_only),
        ("assistant: ready to chat", ready_median),
        ("served: first paint", median(served_paint)),
        ("served: ready to chat (warm)", median(served_ready)),
    )
    for label, value in rows:
        ratio = f"{value / base:.2f}x" if value is not None and base else "n/a"
        print(f"{label:<34}{fmt(value):>11}{ratio:>12}")
    if paint_median is not None and base:
        verdict = "met" if paint_median <= 2 * base else "NOT met"
        print(f"goal (first paint within 2x of minimal): {verdict}")
    warm = median(served_ready)
    if warm is not None:
        verdict = "met" if warm <= WARM_GOAL_SECONDS else "NOT met"
        print(f"goal (ready to chat within {WARM_GOAL_SECONDS:g} s with the service warm): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
