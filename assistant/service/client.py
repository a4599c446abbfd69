"""The thin client: find the running service (or start it), say hello, send one request.

Imports only the standard library and the foundation (config, locations, errors), so a
command served by the service starts in a fraction of a second. `connect` never starts
anything; `connect_or_start` starts `python -m assistant serve` detached when nothing
answers, under a file lock so that commands racing to start it get one service, and replaces
a stale socket (a file nobody listens on: its service was killed). `connect_tcp` reaches a
service on its loopback TCP port (`service = "tcp://HOST:PORT"`), with its token.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant import __version__
from assistant.config import TCP_SCHEME, loopback_address
from assistant.errors import AssistantError
from assistant.service import paths
from assistant.service.protocol import Channel, ProtocolError, compatible, hello

START_TIMEOUT_SECONDS = float(os.environ.get("ASSISTANT_SERVICE_START_TIMEOUT", "30"))
# How long a client waits for the handshake or the next event (the service sends one at least
# every protocol.HEARTBEAT_SECONDS while it works): longer silence means a hung service.
ANSWER_TIMEOUT_SECONDS = float(os.environ.get("ASSISTANT_SERVICE_TIMEOUT", "10"))
STOP_TIMEOUT_SECONDS = 30.0
TOKEN_ENV = "ASSISTANT_SERVICE_TOKEN"


class ServiceUnavailable(AssistantError):
    """No service answers and none could be started."""


class ServiceRefused(AssistantError):
    """The service answered but would not serve this client."""


class VersionMismatch(ServiceRefused):
    def __init__(self, version: str | None, pid: int | None) -> None:
        super().__init__(
            f"the running service is version {version} (pid {pid}), this is {__version__}: "
            "stop it with `assistant serve --stop`"
        )
        self.version = version
        self.pid = pid


class ServiceHung(ServiceRefused):
    """The service accepted the connection but said nothing for ANSWER_TIMEOUT_SECONDS."""

    def __init__(self, pid: int | None, waiting_for: str) -> None:
        who = f"the service (pid {pid})" if pid else "the service"
        kill = f"`kill -9 {pid}` (it loses nothing acknowledged)" if pid else "kill it"
        super().__init__(
            f"{who} did not answer {waiting_for} within {ANSWER_TIMEOUT_SECONDS:g} s; it may be stuck "
            f"(stopped or overloaded): {kill} and the next command starts a new one"
        )
        self.pid = pid


class Fallback(AssistantError):
    """The service cannot serve this request (other settings): do it in this process."""


class Connection:
    """A handshaken connection to the service; one request per connection."""

    def __init__(self, channel: Channel, welcome: dict[str, Any], peer_pid: int | None = None) -> None:
        self.channel = channel
        self.welcome = welcome
        self.peer_pid = peer_pid or int(welcome.get("pid") or 0) or None

    @property
    def pid(self) -> int:
        return int(self.welcome.get("pid") or 0)

    def request(self, op: str, **fields: Any) -> Iterator[dict[str, Any]]:
        """Send one request; yield its events up to and including "done" (an "error" raises)."""
        self.channel.send({"op": op, **fields})
        while True:
            try:
                event = self.channel.receive()
            except TimeoutError:
                raise ServiceHung(self.peer_pid, "this request") from None
            except OSError as error:
                raise AssistantError(f"lost the connection to the service: {error}") from None
            if event is None:
                raise AssistantError("the service stopped before it answered (see `assistant serve --status`)")
            kind = event.get("event")
            if kind == "alive":
                continue  # still working on it
            if kind == "error":
                raise AssistantError(str(event.get("error") or "the service failed"))
            if kind == "fallback":
                raise Fallback(str(event.get("reason") or "the service cannot serve this request"))
            yield event
            if kind == "done":
                return

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        """A request whose only answer is its "done" event."""
        events = list(self.request(op, **fields))
        return events[-1] if events else {}

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.channel.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _open_socket(path: Path) -> socket.socket | None:
    """A socket connected to `path`; None when no service listens there (no file, or a stale one)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        return None
    except OSError:
        sock.close()
        raise
    return sock


def connect(path: Path | None = None, *, intent: str | None = None, version: str = __version__) -> Connection | None:
    """Connect and say hello; None when nothing listens. Raises ServiceRefused / VersionMismatch."""
    sock = _open_socket(path or paths.socket_path())
    if sock is None:
        return None
    sock.settimeout(ANSWER_TIMEOUT_SECONDS)  # a hung service accepts (the kernel does) but never answers
    channel = Channel(sock)
    return _handshake(channel, _peer_pid(channel), hello(intent=intent, version=version), intent)


def read_token(path: Path | None = None) -> str | None:
    """The running service's TCP token from its owner-only file; None when it has none (no TCP port)."""
    try:
        return (path or paths.token_path()).read_text(encoding="ascii").strip() or None
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def connect_tcp(
    address: str, token: str | None = None, *, intent: str | None = None, version: str = __version__
) -> Connection:
    """Connect to `tcp://HOST:PORT` (loopback only) and say hello with the token (ServiceUnavailable: nothing listens).

    The token is `token`, else ASSISTANT_SERVICE_TOKEN, else this data dir's token file.
    """
    try:
        host, port = loopback_address(address.removeprefix(TCP_SCHEME))
    except ValueError as error:
        raise ServiceRefused(str(error)) from None
    token = token or os.environ.get(TOKEN_ENV) or read_token()
    if not token:
        raise ServiceRefused(
            f"no token for the service at {address}: set {TOKEN_ENV} "
            f"(`assistant serve --status --show-token` as its user prints it)"
        )
    try:
        sock = socket.create_connection((host, port), timeout=ANSWER_TIMEOUT_SECONDS)
    except ConnectionRefusedError:
        raise ServiceUnavailable(f"nothing listens at {address}") from None  # an address given is one expected
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return _handshake(Channel(sock), None, hello(intent=intent, version=version, token=token), intent)


def connect_to(service: str, *, start: bool = True) -> Connection | None:
    """The service the `service` setting names: its TCP address, or the Unix socket (started for 'auto' if `start`)."""
    if service.startswith(TCP_SCHEME):
        return connect_tcp(service)  # a service reached by its address is never started from here
    return connect_or_start() if start and service == "auto" else connect()


def _handshake(channel: Channel, peer_pid: int | None, greeting: dict[str, Any], intent: str | None) -> Connection:
    try:
        channel.send(greeting)
        welcome = channel.receive()
    except TimeoutError:
        channel.close()
        raise ServiceHung(peer_pid, "the handshake") from None
    except (OSError, ProtocolError) as error:
        channel.close()
        raise ServiceRefused(f"the service did not answer the handshake: {error}") from None
    if welcome is None:
        channel.close()
        raise ServiceRefused("the service closed the connection during the handshake")
    if not welcome.get("ok"):
        channel.close()
        if welcome.get("reason") == "version":
            raise VersionMismatch(welcome.get("version"), welcome.get("pid"))
        raise ServiceRefused(str(welcome.get("error") or "the service refused the connection"))
    if not compatible(welcome) and intent != "stop":
        channel.close()
        raise VersionMismatch(welcome.get("version"), welcome.get("pid"))
    return Connection(channel, welcome, peer_pid)


def _peer_pid(channel: Channel) -> int | None:
    """The listening service's pid from the kernel (Linux), known even when it never answers."""
    if not hasattr(socket, "SO_PEERCRED"):
        return None
    with contextlib.suppress(OSError):
        return channel.peer()[0] or None
    return None


@contextlib.contextmanager
def _start_lock() -> Iterator[None]:
    import fcntl

    descriptor = os.open(paths.start_lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _spawn() -> subprocess.Popen[bytes]:
    log = os.open(paths.log_path(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # not the terminal's: Ctrl-C on the command that started it leaves it running
            close_fds=True,
        )
    finally:
        os.close(log)


def connect_or_start(*, timeout: float = START_TIMEOUT_SECONDS) -> Connection:
    """The running service, or a new one started for this data dir (one, however many race)."""
    connection = connect()
    if connection is not None:
        return connection
    with _start_lock():
        connection = connect()  # another command may have started it while this one waited
        if connection is not None:
            return connection
        process = _spawn()
        # Reaped when it ends, so a long-lived client (the TUI, a test run) leaves no zombie behind.
        threading.Thread(target=process.wait, name="service-reaper", daemon=True).start()
        deadline = time.monotonic() + timeout
        exited_at: float | None = None
        while time.monotonic() < deadline:
            connection = connect()
            if connection is not None:
                return connection
            if process.poll() is not None:
                exited_at = exited_at or time.monotonic()
                if time.monotonic() - exited_at > 2.0:
                    break
            time.sleep(0.05)
    raise ServiceUnavailable(f"the service did not start; its log is {paths.log_path()}")


def _reach(service: str, intent: str | None = None) -> Connection | None:
    """The service the `service` setting names, without starting one: None when nothing listens."""
    if not service.startswith(TCP_SCHEME):
        return connect(intent=intent)
    try:
        return connect_tcp(service, intent=intent)
    except ServiceUnavailable:
        return None


def status(service: str = "auto") -> dict[str, Any] | None:
    """The running service's status; None when none runs. Raises VersionMismatch for another version.

    `service` is the setting: a `tcp://` address asks the service there (with its token).
    """
    connection = _reach(service)
    if connection is None:
        return None
    with connection:
        return dict(connection.call("status").get("status") or {})


def take_up_settings(*, timeout: float = START_TIMEOUT_SECONDS) -> bool:
    """Ask the running service to read its settings again; True once one runs with what is on disk now.

    A service whose settings changed restarts itself on the same socket (service/restart.py):
    this waits until the new image answers the handshake. False when none runs, nothing changed
    for it, or it did not come back in time (the caller then works in its own process).
    """
    connection = connect()
    if connection is None:
        return False
    with connection:
        try:
            answer = connection.call("reload")
        except AssistantError:
            return False  # a service that cannot reload (it fails, or predates reloading)
    if not answer.get("restarting"):
        return False
    before = answer.get("instance")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = connect()
        except ServiceRefused:
            connection = None  # the old image, closing, may drop a handshake
        if connection is not None:
            with connection:
                if connection.welcome.get("instance") != before:
                    return True
        time.sleep(0.05)
    return False


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # this process started it: reap it, or it lingers as a zombie
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        time.sleep(0.05)
    return False


def _peer(connection: Connection) -> tuple[int, int]:
    """The service's pid and uid from the kernel where it can tell (Linux), else from its welcome."""
    if hasattr(socket, "SO_PEERCRED"):
        return connection.channel.peer()
    return connection.pid, os.getuid()


def _stop_over_tcp(service: str, timeout: float) -> int | None:
    """Stop the service at a `tcp://` address; its pid may be another namespace's: gone is when nothing listens."""
    connection = _reach(service, intent="stop")
    if connection is None:
        return None
    with connection:
        pid = connection.pid
        with contextlib.suppress(AssistantError):
            connection.call("stop")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            still = _reach(service, intent="stop")
        except ServiceRefused:
            still = None  # closing: it dropped the handshake
        if still is None:
            return pid
        still.close()
        time.sleep(0.05)
    raise AssistantError(f"the service at {service} (pid {pid}) did not stop within {timeout:.0f} s")


def stop(service: str = "auto", *, timeout: float = STOP_TIMEOUT_SECONDS) -> int | None:
    """Stop the running service, whatever its version; returns its pid (None when none ran).

    `service` is the setting: a `tcp://` address stops the service there (with its token).
    """
    if service.startswith(TCP_SCHEME):
        return _stop_over_tcp(service, timeout)
    connection = connect(intent="stop")
    if connection is None:
        return None
    with connection:
        pid, uid = _peer(connection)
        if compatible(connection.welcome) or connection.welcome.get("stoppable"):
            with contextlib.suppress(AssistantError):
                connection.call("stop")
        elif uid == os.getuid():
            os.kill(pid, signal.SIGTERM)  # an older service that knows no stop intent still stops on TERM
    if not _gone(pid, timeout):
        raise AssistantError(f"the service (pid {pid}) did not stop within {timeout:.0f} s")
    return pid
