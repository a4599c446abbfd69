"""The wire format: newline-delimited JSON objects over a Unix domain socket (or the loopback TCP port).

A connection carries one exchange. The client's first line is the handshake
`{"op": "hello", "version": …, "protocol": …}`; the service answers `{"ok": true, …}` or
refuses (`{"ok": false, "error": …}`) and closes: a client never talks to a service of
another version. This first exchange never changes shape, so any two versions can at least
tell each other apart (and an old service can be stopped, `"intent": "stop"`). Over TCP the
handshake also carries the service's `"token"`; without the right one the only answer is
`{"ok": false, "reason": "token", "error": …}` (see tcp.py).

Then the client sends one request `{"op": …, …}` and reads events until one whose `event`
is "done" (with the result) or "error" (with a one-line message). While a request works
with nothing to say yet (a model loading, a long search) the service sends `{"event":
"alive"}` every HEARTBEAT_SECONDS, so a client can tell a slow answer from a hung service
(stopped, deadlocked): silence for longer than its timeout is the latter.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from assistant import __version__
from assistant.errors import AssistantError

PROTOCOL = 1
# A message of 2 M characters, JSON-escaped, stays well inside this.
MAX_LINE_BYTES = 64 * 1024 * 1024
HEARTBEAT_SECONDS = 1.0
ALIVE = {"event": "alive"}


class ProtocolError(AssistantError):
    """The other side sent something that is not this protocol."""


def hello(*, intent: str | None = None, version: str = __version__, token: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"op": "hello", "version": version, "protocol": PROTOCOL}
    if intent:
        message["intent"] = intent
    if token is not None:
        message["token"] = token
    return message


def compatible(message: dict[str, Any]) -> bool:
    return message.get("version") == __version__ and message.get("protocol") == PROTOCOL


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n"


class Channel:
    """One connected socket, read and written a JSON line at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._reader: BinaryIO = sock.makefile("rb")
        self._sending = threading.Lock()  # a request's events and its heartbeat never interleave

    def send(self, message: dict[str, Any]) -> None:
        with self._sending:
            self.sock.sendall(encode(message))

    def receive(self) -> dict[str, Any] | None:
        """The next message; None when the other side closed the connection.

        Raises TimeoutError when the socket has a timeout (`sock.settimeout`) and nothing came in time.
        """
        line = self._reader.readline(MAX_LINE_BYTES + 1)
        if not line:
            return None
        if len(line) > MAX_LINE_BYTES or not line.endswith(b"\n"):
            raise ProtocolError("a message on the service socket is too long or cut short")
        try:
            message = json.loads(line)
        except ValueError:
            raise ProtocolError("the service socket carried something that is not JSON") from None
        if not isinstance(message, dict):
            raise ProtocolError("the service socket carried JSON that is not an object")
        return message

    def peer(self) -> tuple[int, int]:
        """(pid, uid) of the process at the other end, from the kernel (SO_PEERCRED)."""
        import struct

        raw = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, _gid = struct.unpack("3i", raw)
        return pid, uid

    def close(self) -> None:
        self._reader.close()
        self.sock.close()


def accept_connections(
    listener: socket.socket, stopping: threading.Event, handle: Callable[[socket.socket], None]
) -> None:
    """Hand each connection on `listener` to `handle` until the service stops.

    The listener has a timeout so that a stop is noticed between connections; closing it is how
    the service stops waiting, so an error after a stop ends the loop and any other is raised.
    """
    while not stopping.is_set():
        try:
            sock, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            if stopping.is_set():
                return
            raise
        handle(sock)
