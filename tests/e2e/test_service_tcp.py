"""The service's optional TCP port, as processes: loopback only, a token first, the same handshake.

Services here start light (`service_warm_up = false`) with `service_tcp = 127.0.0.1:0`, so
the system picks a free port (the status says which). Which TCP sockets a service listens
on is read from /proc: what the kernel says, not what the service claims. Every test stops
its service.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.config import load_settings, loopback_address
from assistant.service import client, paths
from assistant.service.protocol import encode, hello
from tests.conftest import run_cli
from tests.e2e.test_service import _alive, _start, _stop_everything

TCP = "127.0.0.1:0"


@pytest.fixture
def light_service(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ASSISTANT_SERVICE", "auto")
    monkeypatch.setenv("ASSISTANT_SERVICE_WARM_UP", "false")
    yield
    _stop_everything()


@pytest.fixture
def tcp_service(light_service: None, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ASSISTANT_SERVICE_TCP", TCP)
    yield


def _start_tcp() -> tuple[int, str, str]:
    """Start the service; its pid, its TCP address (tcp://…) and its token."""
    pid = _start()
    status = client.status()
    assert status is not None and status["pid"] == pid
    token = client.read_token()
    assert token is not None
    return pid, status["tcp"], token


def _address(text: str) -> tuple[str, int]:
    """A /proc/net/tcp{,6} address (hex, little-endian words) as (host, port)."""
    host, port = text.split(":")
    raw = bytes.fromhex(host)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, words), int(port, 16)


def _listening_tcp(pid: int) -> list[tuple[str, int]]:
    """The TCP addresses process `pid` listens on, from the kernel's tables."""
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(descriptor)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    listening = []
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                listening.append(_address(fields[1]))
    return listening


def _exchange(url: str, *messages: dict[str, Any]) -> list[dict[str, Any]]:
    """Send `messages` at once over a raw TCP connection; every line the service sends until it closes."""
    with socket.create_connection(loopback_address(url.removeprefix("tcp://")), timeout=10) as sock:
        sock.sendall(b"".join(encode(message) for message in messages))
        received = b""
        with contextlib.suppress(ConnectionResetError):  # closed with our unread request in its buffer
            while chunk := sock.recv(65536):  # a connection left open times out here and fails the test
                received += chunk
    return [json.loads(line) for line in received.splitlines()]


def test_no_tcp_port_unless_asked(light_service: None) -> None:
    paths.token_path().write_text("left-by-a-killed-service\n")
    pid = _start()
    assert _listening_tcp(pid) == []
    status = client.status()
    assert status is not None and "tcp" not in status and "token_file" not in status
    assert not paths.token_path().exists()
    shown = run_cli("serve", "--status", "--show-token")
    assert shown.returncode == 0 and "tcp:" not in shown.stdout and "token" not in shown.stdout


def test_the_tcp_port_is_loopback_only_and_its_token_file_owner_only(tcp_service: None) -> None:
    pid, url, token = _start_tcp()
    host, port = loopback_address(url.removeprefix("tcp://"))
    assert (host, port) == ("127.0.0.1", port) and port > 0
    assert _listening_tcp(pid) == [("127.0.0.1", port)]
    token_file = paths.token_path()
    assert token_file.parent == paths.socket_path().parent
    info = token_file.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == os.getuid()
    assert len(token) >= 32
    # --status names the file, not the token, unless asked.
    shown = run_cli("serve", "--status")
    assert f"tcp: {url} (token in {token_file})" in shown.stdout and token not in shown.stdout
    revealed = json.loads(run_cli("serve", "--status", "--json", "--show-token").stdout)
    assert revealed["tcp"] == url and revealed["token_file"] == str(token_file) and revealed["token"] == token
    doctor = run_cli("doctor", "--quick", "--json")
    service = next(check for check in json.loads(doctor.stdout)["checks"] if check["name"] == "service")
    assert service["ok"] and url in service["detail"] and str(token_file) in service["detail"]
    # A token file others can read is a problem doctor names.
    token_file.chmod(0o644)
    doctor = run_cli("doctor", "--quick", "--json")
    service = next(check for check in json.loads(doctor.stdout)["checks"] if check["name"] == "service")
    assert not service["ok"] and "open to others (mode 644)" in service["detail"]
    token_file.chmod(0o600)
    # Each start has its own token; a stopped service leaves none behind.
    assert client.stop() == pid
    assert not token_file.exists()
    _, _, second = _start_tcp()
    assert second != token


def test_a_tcp_connection_without_the_right_token_gets_one_line_and_is_closed(tcp_service: None) -> None:
    pid, url, token = _start_tcp()
    status = {"op": "status"}
    for greeting, why in ((hello(), "no token"), (hello(token=token[::-1]), "a wrong token"), (status, "no token")):
        # The request sent right behind the handshake is never answered: only the refusal comes back.
        [answer] = _exchange(url, greeting, status)
        assert answer["ok"] is False and answer["reason"] == "token"
        assert why in str(answer["error"]) and "\n" not in str(answer["error"])
        assert "version" not in answer and "pid" not in answer  # nothing about the service before the token
    with pytest.raises(client.ServiceRefused, match="a wrong token"):
        client.connect_tcp(url, token="x" * len(token))
    # A command given a wrong token says so in one line and works in its own process.
    listed = run_cli("memory", "list", env={"ASSISTANT_SERVICE": url, "ASSISTANT_SERVICE_TOKEN": "wrong"})
    assert listed.returncode == 0, listed.stderr
    [line] = [line for line in listed.stderr.splitlines() if "token" in line]
    assert "a wrong token" in line and "working in this process" in line
    # The right token still gets in, to the same service.
    [welcome, done] = _exchange(url, hello(token=token), status)
    assert welcome["ok"] is True and welcome["pid"] == pid
    assert done["event"] == "done" and done["status"]["pid"] == pid


def test_memory_search_over_tcp_reaches_the_services_memories(
    tcp_service: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url, token = _start_tcp()
    added = run_cli("memory", "add", "--raw", "The spare key is under the blue pot", "--json")
    assert added.returncode == 0, added.stderr
    # A client with a data dir of its own: only the service over TCP can know about the key.
    elsewhere = {"ASSISTANT_DATA_DIR": str(tmp_path / "elsewhere")}
    alone = run_cli("memory", "search", "spare key", "--json", env={**elsewhere, "ASSISTANT_SERVICE": "off"})
    assert alone.returncode == 0 and json.loads(alone.stdout) == []
    over_tcp = {**elsewhere, "ASSISTANT_SERVICE": url, "ASSISTANT_SERVICE_TOKEN": token}
    found = run_cli("memory", "search", "spare key", "--json", env=over_tcp, timeout=300)
    assert found.returncode == 0, found.stderr
    assert "working in this process" not in found.stderr
    assert "blue pot" in " ".join(hit["text"] for hit in json.loads(found.stdout))
    # The app's core over TCP too (the TUI's open_frontend), from the other data dir.
    with monkeypatch.context() as patched:  # undone before the teardown looks for this data dir's service
        for name, value in over_tcp.items():
            patched.setenv(name, value)
        from assistant.service.remote_frontend import RemoteFrontend, open_frontend

        core = open_frontend(load_settings())
        assert isinstance(core, RemoteFrontend) and core.count_memories() == 1
        assert "blue pot" in core.find_memories("spare key")[0].memory.text
    # In the service's own data dir the token comes from its file.
    mine = run_cli("memory", "search", "spare key", "--json", env={"ASSISTANT_SERVICE": url})
    assert mine.returncode == 0 and "working in this process" not in mine.stderr
    assert "blue pot" in " ".join(hit["text"] for hit in json.loads(mine.stdout))


def test_serve_status_and_stop_reach_the_service_at_its_tcp_address(tcp_service: None, tmp_path: Path) -> None:
    pid, url, token = _start_tcp()
    # From a data dir of its own, with only the address and the token: the service there answers.
    over_tcp = {"ASSISTANT_DATA_DIR": str(tmp_path / "elsewhere"), "ASSISTANT_SERVICE": url}
    refused = run_cli("serve", "--status", env={**over_tcp, "ASSISTANT_SERVICE_TOKEN": "wrong"})
    assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert _alive(pid)
    over_tcp["ASSISTANT_SERVICE_TOKEN"] = token
    status = run_cli("serve", "--status", "--json", env=over_tcp)
    assert status.returncode == 0, status.stderr
    described = json.loads(status.stdout)
    assert described["running"] is True and described["pid"] == pid and described["tcp"] == url
    stopped = run_cli("serve", "--stop", "--json", env=over_tcp)
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout) == {"stopped": True, "pid": pid}
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)
    gone = run_cli("serve", "--status", "--json", env=over_tcp)
    assert gone.returncode == 0 and json.loads(gone.stdout)["running"] is False, gone.stdout + gone.stderr
    assert run_cli("serve", "--stop", "--json", env=over_tcp).stdout.strip() == '{"stopped": false, "pid": null}'


def test_a_client_of_another_version_is_refused_over_tcp_after_its_token(tcp_service: None) -> None:
    pid, url, token = _start_tcp()
    with pytest.raises(client.VersionMismatch) as refused:
        client.connect_tcp(url, token=token, version="0.0.1-old")
    assert refused.value.pid == pid
    # Without the token, not even the version is told.
    with pytest.raises(client.ServiceRefused) as no_token:
        client.connect_tcp(url, token="wrong", version="0.0.1-old")
    assert not isinstance(no_token.value, client.VersionMismatch) and "a wrong token" in str(no_token.value)
    with client.connect_tcp(url, token=token) as connection:
        assert connection.call("status")["status"]["pid"] == pid


@pytest.mark.parametrize("address", ["0.0.0.0:8765", "192.168.1.10:8765", "example.com:80", "[::]:8765"])
def test_serve_refuses_a_tcp_address_beyond_loopback(address: str) -> None:
    result = run_cli("serve", "--tcp", address)
    assert result.returncode == 2 and "loopback only" in result.stderr
    assert not paths.socket_path().exists()


def test_a_non_loopback_setting_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_SERVICE", "auto")
    served = run_cli("serve", env={"ASSISTANT_SERVICE_TCP": "0.0.0.0:8765"}, timeout=60)
    assert served.returncode == 1 and len(served.stderr.strip().splitlines()) == 1
    assert "service_tcp" in served.stderr and "loopback only" in served.stderr
    assert not paths.socket_path().exists()
    listed = run_cli("memory", "list", env={"ASSISTANT_SERVICE": "tcp://10.0.0.1:8765"})
    assert listed.returncode == 1 and len(listed.stderr.strip().splitlines()) == 1
    assert "'service'" in listed.stderr and "loopback only" in listed.stderr
    bad_port = run_cli("serve", "--tcp", "127.0.0.1:99999")
    assert bad_port.returncode == 2 and "not a TCP port" in bad_port.stderr


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize(("address", "listens_on"), [("localhost:0", "127.0.0.1"), ("[::1]:0", "::1")])
def test_serve_tcp_in_the_foreground(
    light_service: None, monkeypatch: pytest.MonkeyPatch, address: str, listens_on: str
) -> None:
    if listens_on == "::1" and not _ipv6_loopback():
        pytest.skip("no IPv6 loopback here")
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--tcp", address],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while (status := client.status()) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status is not None and status["pid"] == process.pid
        host, port = loopback_address(str(status["tcp"]).removeprefix("tcp://"))
        assert host == listens_on and _listening_tcp(process.pid) == [(listens_on, port)]
        with client.connect_tcp(status["tcp"]) as connection:  # the token from this data dir's file
            assert connection.pid == process.pid
        assert client.stop() == process.pid
        _, log = process.communicate(timeout=30)
        assert f"and {status['tcp']} (pid {process.pid})" in log
        with pytest.raises(client.ServiceUnavailable, match="nothing listens at"):  # the port closed with it
            client.connect_tcp(status["tcp"], token="any")
        assert not paths.token_path().exists()
    finally:
        if _alive(process.pid):
            process.kill()
            process.wait()
