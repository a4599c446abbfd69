"""Proof that no command except `models pull` opens an internet socket.

Each command runs in a fresh interpreter with an audit hook installed before the app is
imported. The hook records, and refuses, every AF_INET/AF_INET6 connect or send, every
bind outside loopback and every DNS lookup (Unix sockets are allowed; creating an unused
socket is allowed because urllib3 probes IPv6 support at import by binding one to ::1).
Recording to a file catches attempts that a library might swallow. When this machine
allows it, chat and doctor also run inside a network namespace with no interfaces at all
(`unshare -n`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GUARD = r"""
import ipaddress, os, socket, sys

_log = os.environ["NETWORK_GUARD_LOG"]
_internet = {int(socket.AF_INET), int(socket.AF_INET6)}


def _is_loopback(address):
    try:
        return ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
    except ValueError:
        return False


def _guard(event, args):
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        # Any outgoing connection or datagram, even to this machine: a local app has no reason to.
        blocked = int(args[0].family) in _internet
    elif event == "socket.bind":
        # urllib3 probes IPv6 support at import by binding a socket to ::1; listening on a
        # real interface would be a network service.
        blocked = int(args[0].family) in _internet and not _is_loopback(args[1])
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
        blocked = True  # a DNS lookup is already a network request
    else:
        return
    if blocked:
        with open(_log, "a") as log:
            log.write(f"{event} {args[1:]!r}\n")
        raise PermissionError(f"network use blocked by the offline test: {event}")


sys.addaudithook(_guard)
sys.argv = ["assistant", *sys.argv[1:]]
import runpy

runpy.run_module("assistant", run_name="__main__", alter_sys=True)
"""

COMMANDS = [
    pytest.param(("--version",), None, id="version"),
    pytest.param(("--help",), None, id="help"),
    pytest.param(("models", "list"), None, id="models-list"),
    pytest.param(("models", "list", "--json"), None, id="models-list-json"),
    pytest.param(("models", "use", "smollm2-135m-instruct"), None, id="models-use"),
    pytest.param(("doctor",), None, id="doctor"),
    pytest.param(("doctor", "--json"), None, id="doctor-json"),
    pytest.param(("chat", "Give me three tips for remembering names"), None, id="chat"),
    pytest.param(("chat",), "What is the capital of France?", id="chat-stdin"),
]


def _run_guarded(args: tuple[str, ...], stdin: str | None, log: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NETWORK_GUARD_LOG": str(log), "ASSISTANT_MAX_REPLY_TOKENS": "32"}
    # Run with the app's own defaults: nothing in the environment forces the hub libraries offline.
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-c", GUARD, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_the_guard_catches_a_connection_attempt(tmp_path: Path) -> None:
    log = tmp_path / "network.log"
    script = "import socket; socket.create_connection(('192.0.2.1', 80), timeout=1)"
    env = {**os.environ, "NETWORK_GUARD_LOG": str(log)}
    guard = GUARD.replace('runpy.run_module("assistant", run_name="__main__", alter_sys=True)', script)
    result = subprocess.run([sys.executable, "-c", guard], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode != 0 and "blocked by the offline test" in result.stderr
    assert log.read_text().strip()


@pytest.mark.parametrize(("args", "stdin"), COMMANDS)
def test_command_opens_no_internet_socket(args: tuple[str, ...], stdin: str | None, tmp_path: Path) -> None:
    log = tmp_path / "network.log"
    result = _run_guarded(args, stdin, log)
    attempts = log.read_text() if log.exists() else ""
    assert attempts == "", f"`assistant {' '.join(args)}` tried to use the network:\n{attempts}"
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_pull_is_the_one_command_that_does_use_the_network(tmp_path: Path) -> None:
    log = tmp_path / "network.log"
    result = _run_guarded(("models", "pull", "qwen3-4b-instruct-2507"), None, log)
    assert log.exists() and log.read_text().strip(), "the guard did not see pull's connection attempt"
    assert result.returncode == 1 and "cannot reach the model hub" in result.stderr


def _network_namespace_available() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        return False
    return subprocess.run([unshare, "-n", "true"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.skipif(not _network_namespace_available(), reason="needs root and `unshare -n`")
@pytest.mark.parametrize("args", [("chat", "Say hello in five words."), ("doctor",)], ids=["chat", "doctor"])
def test_runs_in_a_network_namespace_without_interfaces(args: tuple[str, ...]) -> None:
    probe = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode != 0  # the namespace really has no network
    env = {**os.environ, "ASSISTANT_MAX_REPLY_TOKENS": "32"}
    env.pop("HF_HUB_OFFLINE", None)
    result = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
