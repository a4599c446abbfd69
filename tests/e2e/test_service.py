"""The warm local service, as processes: handshake, sockets, races, permissions, idle exit.

These services are started with `service_warm_up = false`: they bind, shake hands, report
status and exit without loading a model, so each costs a Python start. The tests that chat
through a real, warm service are in test_service_chat.py. Every test stops its service.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from assistant.service import client, paths, protocol
from assistant.service.protocol import encode
from tests.conftest import run_cli

NOBODY = 65534


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop_everything() -> None:
    """Teardown: stop this data dir's service, and kill it if it would not stop."""
    lock = paths.lifetime_lock_path()
    holder = lock.read_text().strip() if lock.exists() else ""
    try:
        client.stop(timeout=15)
    except Exception:
        pass
    if holder.isdigit() and _alive(int(holder)):
        os.kill(int(holder), 9)


@pytest.fixture
def light_service(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ASSISTANT_SERVICE", "auto")
    monkeypatch.setenv("ASSISTANT_SERVICE_WARM_UP", "false")
    yield
    _stop_everything()


def _start() -> int:
    with client.connect_or_start() as connection:
        return connection.pid


def test_serve_status_and_stop(light_service: None) -> None:
    assert run_cli("serve", "--status").stdout.startswith("not running")
    pid = _start()
    status = json.loads(run_cli("serve", "--status", "--json").stdout)
    assert status["running"] and status["pid"] == pid and status["socket"] == str(paths.socket_path())
    assert status["version"] and status["rss_mb"] > 0
    doctor = run_cli("doctor", "--quick", "--json")
    service = next(check for check in json.loads(doctor.stdout)["checks"] if check["name"] == "service")
    assert service["ok"] and f"pid {pid}" in service["detail"]
    stopped = run_cli("serve", "--stop")
    assert stopped.returncode == 0 and f"pid {pid}" in stopped.stdout
    assert not _alive(pid) and not paths.socket_path().exists()
    assert run_cli("serve", "--stop").stdout.strip() == "no service was running"


def test_a_second_serve_refuses_to_run(light_service: None) -> None:
    pid = _start()
    second = run_cli("serve", timeout=60)
    assert second.returncode == 1
    assert f"already running for this data dir (pid {pid}" in second.stderr
    assert _alive(pid)


def test_a_client_of_another_version_is_refused_and_can_still_stop_it(light_service: None) -> None:
    pid = _start()
    with pytest.raises(client.VersionMismatch) as refused:
        client.connect(version="0.0.1-old")
    assert refused.value.pid == pid and "stop it with `assistant serve --stop`" in str(refused.value)
    # A service of another version (seen from this side: this client is the other version).
    with client.connect(version="0.0.1-old", intent="stop") as connection:
        assert connection.welcome["stoppable"] and connection.call("stop")["pid"] == pid
    deadline = time.monotonic() + 15
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_a_command_tells_the_user_about_a_service_of_another_version(
    light_service: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _start()
    import assistant.service.protocol as protocol

    monkeypatch.setattr(protocol, "PROTOCOL", 999)  # this process now speaks another protocol
    with pytest.raises(client.VersionMismatch):
        client.connect()
    from assistant.cli import remote
    from assistant.config import load_settings

    assert remote.connection(load_settings()) is None  # the command falls back to working in-process


def test_a_stale_socket_is_replaced(light_service: None) -> None:
    path = paths.socket_path()
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nothing listens: a killed service leaves exactly this
    assert path.exists() and client.connect() is None
    assert run_cli("serve", "--status").stdout.startswith("not running")
    pid = _start()
    assert _alive(pid) and client.status()["pid"] == pid  # a listening socket where the stale one was


def test_a_killed_service_is_restarted_by_the_next_command(light_service: None) -> None:
    first = _start()
    os.kill(first, 9)
    while _alive(first):
        time.sleep(0.05)
    assert paths.socket_path().exists()  # left behind
    second = _start()
    assert second != first and client.status()["pid"] == second


def test_a_hung_service_gives_a_clear_one_line_error_in_bounded_time(
    light_service: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _start()
    monkeypatch.setattr(client, "ANSWER_TIMEOUT_SECONDS", 1.5)
    with client.connect() as connection:  # handshaken while it still answers
        os.kill(pid, signal.SIGSTOP)  # the kernel still accepts connections; nobody answers them
        try:
            started = time.monotonic()
            with pytest.raises(client.ServiceHung) as mid_request:
                connection.call("status")
            assert time.monotonic() - started < 5
            message = str(mid_request.value)
            assert f"pid {pid}" in message and "this request within 1.5 s" in message and "\n" not in message
            started = time.monotonic()
            with pytest.raises(client.ServiceHung, match="did not answer the handshake"):
                client.connect()
            assert time.monotonic() - started < 5
            # A command says so in one line and does the work in its own process.
            listed = run_cli("memory", "list", env={"ASSISTANT_SERVICE_TIMEOUT": "1.5"}, timeout=120)
            assert listed.returncode == 0, listed.stderr
            [line] = [line for line in listed.stderr.splitlines() if "did not answer" in line]
            assert f"pid {pid}" in line and "working in this process" in line
        finally:
            os.kill(pid, signal.SIGCONT)
    assert client.status()["pid"] == pid  # woken up, it answers again


def test_a_slow_answer_is_not_taken_for_a_hung_service(light_service: None) -> None:
    _start()  # not warmed up: its first search loads the store and the embedder, seconds of silence
    # Twice the heartbeat: short enough that a cold search outlasts it even on a fast machine (3.9 s
    # seen in CI), long enough that a heartbeat late under load still arrives in time.
    timeout = 2 * protocol.HEARTBEAT_SECONDS
    started = time.monotonic()
    searched = run_cli("memory", "search", "anything", env={"ASSISTANT_SERVICE_TIMEOUT": str(timeout)}, timeout=300)
    assert searched.returncode == 0, searched.stderr
    assert "did not answer" not in searched.stderr and "working in this process" not in searched.stderr
    assert time.monotonic() - started > timeout, "the answer came too fast to show that heartbeats kept it alive"


RACER = """
from assistant.service import client
with client.connect_or_start() as connection:
    print(connection.pid)
"""


def test_racing_starts_give_one_service(light_service: None) -> None:
    racers = [
        subprocess.Popen([sys.executable, "-c", RACER], stdout=subprocess.PIPE, text=True, env=dict(os.environ))
        for _ in range(5)
    ]
    pids = {racer.communicate(timeout=120)[0].strip() for racer in racers}
    assert all(racer.returncode == 0 for racer in racers)
    assert len(pids) == 1
    pid = int(pids.pop())
    assert paths.lifetime_lock_path().read_text().strip() == str(pid)
    assert client.status()["pid"] == pid


def _connect_as_nobody(path: Path) -> str:
    """Fork a child that becomes uid `nobody` and tries the service's handshake; what happened."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        outcome = "connected"
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(10)
            sock.connect(str(path))
            sock.sendall(encode({"op": "hello", "version": "any", "protocol": 1}))
            answer = json.loads(sock.makefile("rb").readline() or b"{}")
            outcome = f"answered {answer.get('ok')} {answer.get('reason')}"
        except PermissionError:
            outcome = "permission denied"
        except Exception as error:  # noqa: BLE001
            outcome = f"error {error!r}"
        os.write(write_end, outcome.encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(child, 0)
    with os.fdopen(read_end, "rb") as reader:
        return reader.read().decode()


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="simulating a second uid needs root")
def test_the_socket_is_owner_only_and_other_users_are_refused(
    light_service: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = Path(tempfile.mkdtemp(prefix="rt-"))  # 0700, as XDG_RUNTIME_DIR must be
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    try:
        _start()
        path = paths.socket_path()
        assert path.parent == runtime / "assistant"
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        runtime.chmod(0o755)  # even with the runtime dir open to others, the service's own folder keeps them out
        assert _connect_as_nobody(path) == "permission denied"
        # Even where the file system lets another user reach the socket, the service refuses them.
        path.parent.chmod(0o755)
        path.chmod(0o666)
        assert _connect_as_nobody(path) == "answered False uid"
        with client.connect(path) as connection:  # its owner still gets in
            assert connection.call("status")["status"]["pid"] == connection.pid
    finally:
        runtime.chmod(0o700)  # as it was, so the teardown finds the service where it started it
        _stop_everything()
        subprocess.run(["rm", "-rf", str(runtime)], check=False)


def test_the_service_exits_when_idle(light_service: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_SERVICE_IDLE_MINUTES", "0.05")  # 3 s
    pid = _start()
    assert client.status()["idle_minutes"] == pytest.approx(0.05)
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(pid)
    assert not paths.socket_path().exists()
    log = paths.log_path().read_text()
    assert "service stopping (idle for 0.05 minutes)" in log


def test_serve_rejects_a_bad_idle_timeout() -> None:
    result = run_cli("serve", "--idle-timeout", "0")
    assert result.returncode == 2 and "more than 0 minutes" in result.stderr


LIGHT_CLIENT = """
import sys
import assistant.service.client, assistant.cli.remote
from assistant.cli.main import build_parser
build_parser()
heavy = ("torch", "sentence_transformers", "transformers", "lancedb", "lance", "llama_cpp", "pyarrow", "numpy")
print(sorted(name for name in sys.modules if name.split(".")[0] in heavy))
"""


def test_the_thin_client_imports_nothing_heavy() -> None:
    result = subprocess.run([sys.executable, "-c", LIGHT_CLIENT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_services_own_log_lines_stay_in_its_log_once_the_model_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the model points fd 2 at llama.cpp's log; the service's warm-up lines still go to service.log."""
    monkeypatch.setenv("ASSISTANT_SERVICE", "auto")
    monkeypatch.setenv("ASSISTANT_SERVICE_WARM_UP", "true")
    from assistant.llm.native_log import native_log_path

    try:
        _start()
        deadline = time.monotonic() + 240
        while "warm " not in paths.log_path().read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        service_log = paths.log_path().read_text()
        assert "warm-up: model loaded" in service_log and "warm " in service_log, service_log[-2000:]
        llama_log = native_log_path().read_text() if native_log_path().exists() else ""
        assert " INFO assistant." not in llama_log, llama_log[-2000:]
    finally:
        _stop_everything()
