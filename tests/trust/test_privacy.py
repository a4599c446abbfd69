"""Privacy at the file and system-call level.

- Every file and folder under the data dir is owner-only after chat, import, maintain and forget.
- strace shows chat, import, maintenance and the TUI never open an IPv4 socket and never
  connect anywhere but loopback or a unix socket, with no telemetry variables set by the caller.
- Secrets typed into chat are redacted before anything is written: no byte under the data dir
  holds them.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from trust_helpers import write_messages

pytestmark = pytest.mark.slow

NETWORK_CALLS = "trace=socket,connect,bind,sendto,sendmsg"
TELEMETRY_VARIABLES = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "HF_HUB_DISABLE_TELEMETRY",
    "DO_NOT_TRACK",
)
SECRETS = {
    "password": ("my password is Tr0ub4dor&3-zebra", "Tr0ub4dor&3-zebra"),
    "api key": ("here is my key sk-proj-9f8e7d6c5b4a39281706f5e4d3c2b1a0", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
    "card": ("my card number is 4111 1111 1111 1111 exp 09/29", "4111 1111 1111 1111"),
}


def _clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any offline or telemetry switch: the app must set its own."""
    env = {name: value for name, value in os.environ.items() if name not in TELEMETRY_VARIABLES}
    return {**env, "ASSISTANT_MAX_REPLY_TOKENS": "24", **extra}


def _loose_modes(folder: Path) -> list[str]:
    loose = []
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(root) / name
            mode = stat.S_IMODE(path.lstat().st_mode)
            if not path.is_symlink() and mode & 0o077:
                loose.append(f"{path.relative_to(folder)} {mode:o}")
    return loose


def test_everything_under_the_data_dir_is_owner_only(cli, tmp_path: Path, isolated_dirs: Path) -> None:
    source = write_messages(tmp_path / "messages.jsonl", 40, seed=5)
    os.umask(0o022)  # a typical user umask: the app must not rely on a strict one
    steps = [
        ("memory", "import", str(source)),
        ("chat", "My sister Ana lives in Porto."),
        ("memory", "maintain", "--no-model"),
        ("memory", "forget", "ep-m00001"),
        ("backup", str(isolated_dirs / "backup.tar")),
    ]
    for step in steps:
        result = cli(*step, env=_clean_env())
        assert result.returncode == 0, (step, result.stderr[-2000:])
        assert _loose_modes(isolated_dirs) == [], f"after {' '.join(step[:2])}"
    assert stat.S_IMODE(isolated_dirs.stat().st_mode) == 0o700


def _network_calls(log: Path) -> list[str]:
    return [
        line
        for line in log.read_text(errors="replace").splitlines()
        if re.search(r"\b(socket|connect|bind|send)", line)
    ]


def _leaks(calls: list[str]) -> list[str]:
    """IPv4 sockets of any kind, and any connect/send to an address that is not loopback or a unix socket."""
    leaks = []
    for call in calls:
        if "socket(AF_INET," in call:
            leaks.append(call)
        elif re.search(r"\b(connect|sendto|sendmsg)\(", call) and "AF_INET" in call:
            loopback = 'inet_addr("127.' in call or 'inet_pton(AF_INET6, "::1"' in call
            if not loopback:
                leaks.append(call)
    return leaks


def _strace(log: Path, *command: str) -> list[str]:
    return ["strace", "-f", "-qq", "-e", NETWORK_CALLS, "-o", str(log), *command]


needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")


@needs_strace
def test_chat_import_and_maintenance_open_no_network_connection(tmp_path: Path) -> None:
    source = write_messages(tmp_path / "messages.jsonl", 60, seed=6)
    runs = {
        "import": ("memory", "import", str(source)),
        "chat": ("chat", "What do you know about my sister?"),
        "maintain": ("memory", "maintain", "--no-model"),  # the model path is covered by chat
    }
    for name, args in runs.items():
        log = tmp_path / f"{name}.strace"
        result = subprocess.run(
            _strace(log, sys.executable, "-m", "assistant", *args),
            capture_output=True,
            text=True,
            env=_clean_env(),
            timeout=900,
        )
        assert result.returncode == 0, (name, result.stderr[-2000:])
        calls = _network_calls(log)
        assert _leaks(calls) == [], f"{name} touched the network"
        assert log.stat().st_size > 0  # strace really followed the process


@needs_strace
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_tui_opens_no_network_connection(tmp_path: Path) -> None:
    log = tmp_path / "tui.strace"
    session = f"trust-tui-{os.getpid()}-{int(time.time() * 1000)}"
    env = _clean_env(TERM="xterm-256color", ASSISTANT_CONTEXT_SIZE="2048")
    exports = " ".join(
        f"{name}={shlex.quote(value)}"
        for name, value in env.items()
        if name.startswith(("ASSISTANT_", "TERM", "PATH", "HOME"))
    )
    done = tmp_path / "exit-status"
    command = (
        f"env -i {exports} {shlex.join(_strace(log, sys.executable, '-m', 'assistant'))}; "
        f"echo $? > {shlex.quote(str(done))}"
    )
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command], check=True)

    def screen() -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout

    def wait_for(condition, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = screen()
            if condition(shown):
                return shown
            time.sleep(0.5)
        raise AssertionError(f"timed out; the screen shows:\n{screen()}")

    try:
        wait_for(lambda s: "Message" in s or "ready" in s, 120)
        subprocess.run(["tmux", "send-keys", "-t", session, "-l", "Hello, who are you?"], check=True)
        subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        wait_for(lambda s: "tok/s" in s, 300)
        subprocess.run(["tmux", "send-keys", "-t", session, "C-q"], check=True)
        deadline = time.monotonic() + 60
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, check=False)
    assert done.exists() and done.read_text().strip() == "0"
    assert _leaks(_network_calls(log)) == [], "the TUI touched the network"


def test_secrets_typed_into_chat_are_in_no_byte_under_the_data_dir(cli, isolated_dirs: Path) -> None:
    for message, _secret in SECRETS.values():
        result = cli("chat", message, env=_clean_env())
        assert result.returncode == 0, result.stderr[-2000:]
        assert "redact" in result.stderr.lower() or "secret" in result.stderr.lower(), result.stderr
    for name, (_message, secret) in SECRETS.items():
        for needle in {secret, secret.replace(" ", "")}:
            found = [
                str(path.relative_to(isolated_dirs))
                for path in isolated_dirs.rglob("*")
                if path.is_file() and needle.encode() in path.read_bytes()
            ]
            assert found == [], f"the {name} is stored in {found}"
