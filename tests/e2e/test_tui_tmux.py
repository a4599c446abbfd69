"""The real app in a real terminal: `python -m assistant` inside tmux at 120x40.

Types a message, reads the reply off the screen, opens the memory panel and finds the
memory the message created, quits, and checks the memory is in the database from a new
process (`assistant memory list --json`).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

WIDTH, HEIGHT = 120, 40


class Terminal:
    def __init__(self, session: str) -> None:
        self.session = session

    def screen(self) -> str:
        result = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.session], capture_output=True, text=True, check=False
        )
        return result.stdout

    def type(self, *keys: str, literal: bool = False) -> None:
        command = ["tmux", "send-keys", "-t", self.session]
        if literal:
            command.append("-l")
        subprocess.run([*command, *keys], check=True)

    def wait_for(self, condition: Callable[[str], bool], what: str, timeout: float = 240.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if condition(screen):
                return screen
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting for {what}; the screen shows:\n{screen}")


@pytest.fixture
def terminal(isolated_dirs: Path, tmp_path: Path) -> Iterator[Terminal]:
    session = f"assistant-e2e-{os.getpid()}-{int(time.time() * 1000)}"
    env = {
        "ASSISTANT_DATA_DIR": os.environ["ASSISTANT_DATA_DIR"],
        "ASSISTANT_CONFIG": os.environ["ASSISTANT_CONFIG"],
        "ASSISTANT_CONTEXT_SIZE": "2048",
        "ASSISTANT_MAX_REPLY_TOKENS": "48",
        "TERM": "xterm-256color",
    }
    exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
    status_file = tmp_path / "exit-status"
    command = f"env {exports} {shlex.quote(sys.executable)} -m assistant; echo $? > {shlex.quote(str(status_file))}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", str(WIDTH), "-y", str(HEIGHT), command], check=True
    )
    try:
        yield Terminal(session)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, check=False)


def status_line(screen: str) -> str:
    lines = [line for line in screen.splitlines() if line.strip()]
    return lines[-2] if len(lines) >= 2 else ""


def test_chat_then_find_the_memory_in_the_panel(terminal: Terminal, cli, tmp_path: Path) -> None:
    terminal.wait_for(lambda s: "loading model" in s or "ready" in status_line(s), "the first paint", timeout=60)
    terminal.type("remember that my favourite colour is teal", literal=True)
    terminal.type("Enter")
    screen = terminal.wait_for(lambda s: "Saved to memory" in s, "the remember notice")
    assert "teal" in screen
    assert "Traceback" not in screen

    terminal.type("Hello! Please greet me in one sentence.", literal=True)
    terminal.type("Enter")
    screen = terminal.wait_for(lambda s: "tok/s" in status_line(s) and "ready" in status_line(s), "the reply")
    lines = screen.splitlines()
    asked = max(i for i, line in enumerate(lines) if "Please greet me" in line)
    reply_lines = [line.split("▕", 1)[-1].strip(" █") for line in lines[asked + 1 :]]
    reply_text = " ".join(line for line in reply_lines if line and not line.startswith(("╭", "│", "╰")))
    assert any(ch.isalpha() for ch in reply_text.split("Used")[0]), f"no reply on screen:\n{screen}"

    terminal.type("F2")
    screen = terminal.wait_for(lambda s: "Search memories" in s and "teal" in s, "the memory panel with the memory")
    assert "semantic" in screen or "preference" in screen

    terminal.type("Escape")
    terminal.wait_for(lambda s: "Message (Enter sends" in s or "Please greet me" in s, "the chat again", timeout=30)
    terminal.type("C-q")
    status_file = tmp_path / "exit-status"
    deadline = time.monotonic() + 60
    while not status_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status_file.read_text().strip() == "0"

    listed = cli("memory", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    texts = [item["text"] for item in json.loads(listed.stdout)]
    assert any("teal" in text for text in texts), texts
