"""The service's optional TCP port: loopback only, and no word to a connection before its token.

Only when asked (`assistant serve --tcp [HOST:]PORT` or the `service_tcp` setting). The
kernel cannot name a TCP peer's user as it does a Unix socket's, so a secret stands in for
it: a new random token each start, in an owner-only file beside the socket (only this user
can read it) and removed when the service stops. A connection's first message must be the
handshake carrying that token; anything else gets one line of refusal, without the
service's version or pid, and is closed. After it the connection is served exactly as one
on the Unix socket, version check included.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.config import TCP_SCHEME, loopback_address
from assistant.service import paths
from assistant.service.protocol import Channel, ProtocolError, accept_connections

log = logging.getLogger(__name__)

# A peer gets this long to present its token; it holds no request slot meanwhile.
AUTH_SECONDS = 5.0
# Handshakes awaited at once: more are closed unanswered, so a flood costs few threads.
MAX_UNAUTHENTICATED = 16

Serve = Callable[[Channel, dict[str, Any]], None]


def url(host: str, port: int) -> str:
    return f"{TCP_SCHEME}[{host}]:{port}" if ":" in host else f"{TCP_SCHEME}{host}:{port}"


def write_token(path: Path) -> str:
    """A fresh token in `path`, created 0600 (never readable by others, even for a moment)."""
    token = secrets.token_urlsafe(32)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a killed service's; this one holds the lifetime lock
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, f"{token}\n".encode("ascii"))
    finally:
        os.close(descriptor)
    return token


def refusal(token_given: object) -> dict[str, Any]:
    why = "no token" if token_given is None else "a wrong token"
    return {
        "ok": False,
        "reason": "token",
        "error": f"refused: this TCP connection presented {why} (the service's token file is owner-only)",
    }


def open_listener(address: str, serve: Serve, stopping: threading.Event) -> TcpListener | None:
    """The TCP listener `address` asks for; None (and no token file left from a killed service) when empty."""
    if address:
        return TcpListener(address, serve, stopping)
    with contextlib.suppress(FileNotFoundError):
        paths.token_path().unlink()
    return None


class TcpListener:
    """Accepts on a loopback TCP port; hands `serve` each connection whose handshake has the token."""

    def __init__(self, address: str, serve: Serve, stopping: threading.Event) -> None:
        self.host, port = loopback_address(address)
        self._serve = serve
        self._stopping = stopping
        self._waiting = threading.BoundedSemaphore(MAX_UNAUTHENTICATED)
        self.token_path = paths.token_path()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((self.host, port))
            self._listener.listen(64)
            self._listener.settimeout(0.5)
        except OSError:
            self._listener.close()
            raise
        self.port = int(self._listener.getsockname()[1])  # the one chosen when asked for port 0
        self._token = write_token(self.token_path)
        self._thread = threading.Thread(target=self._accept, name="service-tcp", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return url(self.host, self.port)

    def describe(self) -> dict[str, Any]:
        return {"tcp": self.url, "token_file": str(self.token_path)}

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.close()
        with contextlib.suppress(FileNotFoundError):
            self.token_path.unlink()

    def _accept(self) -> None:
        accept_connections(self._listener, self._stopping, self._hand_over)

    def _hand_over(self, sock: socket.socket) -> None:
        if not self._waiting.acquire(blocking=False):
            sock.close()  # too many connections still owe their handshake
            return
        threading.Thread(target=self._authenticate, args=(sock,), name="service-tcp-hello", daemon=True).start()

    def _authenticate(self, sock: socket.socket) -> None:
        channel = Channel(sock)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a reply streams in small events
            sock.settimeout(AUTH_SECONDS)
            first = channel.receive()
            if first is None or first.get("op") != "hello" or not self.admits(first.get("token")):
                if first is not None:
                    channel.send(refusal(first.get("token")))
                log.info("refused a TCP connection without the right token")
                channel.close()
                return
            sock.settimeout(None)
        except (OSError, ProtocolError) as error:
            log.info("TCP connection dropped before its handshake: %s", error)
            channel.close()
            return
        finally:
            self._waiting.release()
        self._serve(channel, first)

    def admits(self, given: object) -> bool:
        if not isinstance(given, str):
            return False
        return hmac.compare_digest(given.encode("utf-8"), self._token.encode("ascii"))
