"""`assistant serve`: the service's socket, its connections, its lifetime.

The socket is bound before anything heavy is imported, so a client that started the service
can connect within a second and waits only for what its request needs; the model, the
embedder and the store load in the background (`Backend.warm_up`). One thread per
connection: reads run side by side, the backend serializes chat turns and writes.

Only this user gets in: the socket lives in an owner-only folder, is itself 0600, and every
connection's peer uid (SO_PEERCRED, from the kernel) must be ours. A client of another
version is refused at the handshake. A TCP port is opened only when asked, on loopback, and
admits a connection only with the token (tcp.py). The service exits after `idle_minutes` without a
request once no learning is left, on `stop`, and on SIGTERM/SIGINT; a service killed outright
leaves a stale socket that the next start replaces, and its queued learning to the next process.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant import __version__
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.service import paths, restart
from assistant.service.protocol import (
    ALIVE,
    HEARTBEAT_SECONDS,
    PROTOCOL,
    Channel,
    ProtocolError,
    accept_connections,
    compatible,
)
from assistant.service.tcp import TcpListener, open_listener

if TYPE_CHECKING:
    from assistant.llm.runner import ModelRunner
    from assistant.service.handlers import Backend
    from assistant.service.memory_watch import MemoryWatch

log = logging.getLogger(__name__)


class AlreadyRunning(AssistantError):
    pass


def _rss_megabytes() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Service:
    def __init__(self, settings: Settings, *, idle_minutes: float | None = None, tcp: str | None = None) -> None:
        self.settings = settings
        self.idle_seconds = 60.0 * (idle_minutes if idle_minutes is not None else settings.service_idle_minutes)
        self.socket_path = paths.socket_path()
        self.tcp_address = tcp if tcp is not None else settings.service_tcp
        self._tcp: TcpListener | None = None
        self.started = time.monotonic()
        self._stopping = threading.Event()
        self._guard = threading.Lock()
        self._active = 0
        self._last_activity = time.monotonic()
        self._backend: Backend | None = None
        self._backend_ready = threading.Event()
        self._warm = False
        self._lock_descriptor: int | None = None
        self._listener: socket.socket | None = None
        self.memory_watch: MemoryWatch | None = None
        self.instance = uuid.uuid4().hex  # tells a client this image from the one it restarted from
        self._restarting = False

    # -- lifetime ------------------------------------------------------------------------

    def _take_lifetime_lock(self) -> None:
        descriptor = os.open(paths.lifetime_lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 32).decode(errors="replace").strip() or "?"
            os.close(descriptor)
            raise AlreadyRunning(
                f"a service is already running for this data dir (pid {holder}, socket {self.socket_path})"
            ) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        self._lock_descriptor = descriptor  # held until the process ends, however it ends

    def _bind(self) -> socket.socket:
        inherited = restart.inherited_listener()  # this image restarted itself: it keeps the socket
        if inherited is not None:
            inherited.settimeout(0.5)
            return inherited
        # Holding the lifetime lock, no live service owns the socket file: one left behind is stale.
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        previous = os.umask(0o177)
        try:
            listener.bind(str(self.socket_path))
        finally:
            os.umask(previous)
        self.socket_path.chmod(0o600)
        listener.listen(64)
        listener.settimeout(0.5)
        return listener

    def run(self) -> int:
        self._take_lifetime_lock()
        self._listener = self._bind()
        try:
            self._tcp = open_listener(self.tcp_address, self._serve, self._stopping)
        except OSError:
            self._close()
            raise
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(signum, lambda *_: self.shutdown("signal"))
        print(
            f"assistant {__version__}: service listening on {self.socket_path}"
            + (f" and {self._tcp.url}" if self._tcp else "")
            + f" (pid {os.getpid()})",
            file=sys.stderr,
            flush=True,
        )
        threading.Thread(target=self._load_backend, name="service-warm-up", daemon=True).start()
        threading.Thread(target=self._watch_idle, name="service-idle", daemon=True).start()
        try:
            accept_connections(self._listener, self._stopping, self._serve_in_thread)
        finally:
            self._close()
        return 0

    def _serve_in_thread(self, sock: socket.socket) -> None:
        threading.Thread(target=self._serve, args=(Channel(sock),), name="service-connection", daemon=True).start()

    def shutdown(self, why: str) -> None:
        if not self._stopping.is_set():
            print(f"assistant: service stopping ({why})", file=sys.stderr, flush=True)
        self._stopping.set()

    def restart(self, why: str) -> None:
        """Stop as `shutdown` does, then exec again on the same socket (see restart.py)."""
        self._restarting = True
        self.shutdown(why)

    def _close(self) -> None:
        listener, self._listener = self._listener, None
        # Only a process of its own execs again (a service run in a thread, as in tests, just stops).
        again = self._restarting and threading.current_thread() is threading.main_thread()
        if listener is not None and not again:
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
        if self._tcp is not None:
            self._tcp.close()  # a restarted service opens its port anew, with a new token
        # Requests still running get a moment to finish; queued learning stays queued for the next process.
        deadline = time.monotonic() + 10
        while self._active and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._backend is not None:
            self._backend.close()
        if self._lock_descriptor is not None:
            os.close(self._lock_descriptor)
        if again:
            restart.exec_again(listener)

    def _load_backend(self) -> None:
        try:
            runner = self._load_model_early()
            from assistant.service.handlers import Backend

            self._backend = Backend(self.settings, runner=runner)
            log.info("core imported %.2f s after the service started", time.monotonic() - self.started)
            # Requests may start now: each opens what it needs (a search needs no model) under the core's locks.
            self._backend_ready.set()
            from assistant.service.memory_watch import MemoryWatch

            self.memory_watch = MemoryWatch(self._backend, stopping=self._stopping)
            self.memory_watch.start()
            if self.settings.service_warm_up:
                self._backend.warm_up(before_embedder=self._wait_for_no_request)
                self._warm = True
                log.info("warm %.2f s after the service started", time.monotonic() - self.started)
        except Exception:
            log.exception("the service failed to load")
            print("assistant: the service failed to load its core; see the traceback above", file=sys.stderr)
        finally:
            self._backend_ready.set()

    def _load_model_early(self) -> ModelRunner | None:
        """Start loading the model before importing the core: loading is native work beside the
        interpreter's imports, and a cold first chat waits for both. A failure shows on first use."""
        if not self.settings.service_warm_up:
            return None
        from assistant.llm.opening import open_runner

        try:
            runner = open_runner(self.settings)
        except AssistantError:
            return None

        def load() -> None:
            with contextlib.suppress(AssistantError):
                runner.load()

        threading.Thread(target=load, name="service-model-load", daemon=True).start()
        return runner

    def _wait_for_no_request(self, longest: float = 60.0) -> None:
        """Until no connection is being answered (at most `longest` s): loading the embedder
        (importing torch) holds the interpreter for seconds, and the first chat does without it."""
        deadline = time.monotonic() + longest
        while not self._stopping.is_set() and time.monotonic() < deadline:
            with self._guard:
                if self._active == 0:
                    return
            time.sleep(0.1)

    def _watch_idle(self) -> None:
        step = max(0.2, min(5.0, self.idle_seconds / 10))
        while not self._stopping.wait(step):
            with self._guard:
                quiet = self._active == 0 and time.monotonic() - self._last_activity >= self.idle_seconds
            backend = self._backend
            if quiet and (backend is None or backend.idle()):
                self.shutdown(f"idle for {self.idle_seconds / 60:g} minutes")
                if self._listener is not None:
                    with contextlib.suppress(OSError):
                        self._listener.shutdown(socket.SHUT_RDWR)

    # -- one connection ------------------------------------------------------------------

    def _serve(self, channel: Channel, first: dict[str, Any] | None = None) -> None:
        """Answer one connection; `first` is its handshake when already read (TCP: tcp.py checked its token)."""
        with self._guard:
            self._active += 1
        try:
            if self._admit(channel, first):
                self._answer(channel)
        except (OSError, ProtocolError) as error:
            log.info("connection dropped: %s", error)
        finally:
            with self._guard:
                self._active -= 1
                self._last_activity = time.monotonic()
            channel.close()

    def _welcome(self, **fields: Any) -> dict[str, Any]:
        return {"version": __version__, "protocol": PROTOCOL, "pid": os.getpid(), "instance": self.instance, **fields}

    def _admit(self, channel: Channel, first: dict[str, Any] | None) -> bool:
        if first is None and hasattr(socket, "SO_PEERCRED"):  # the Unix socket: the kernel names the peer's user
            _pid, uid = channel.peer()
            if uid != os.getuid():
                print(f"assistant: refused a connection from uid {uid}", file=sys.stderr, flush=True)
                refusal = "refused: the service serves its own user only"
                channel.send(self._welcome(ok=False, reason="uid", error=refusal))
                return False
        first = first or channel.receive()
        if first is None or first.get("op") != "hello":
            channel.send(self._welcome(ok=False, reason="protocol", error="the first message must be the handshake"))
            return False
        if not compatible(first):
            if first.get("intent") == "stop":  # an upgrade replacing this service: allowed across versions
                channel.send(self._welcome(ok=True, stoppable=True))
                return True
            channel.send(
                self._welcome(
                    ok=False,
                    reason="version",
                    error=f"version mismatch: the service is {__version__}, the client {first.get('version')}",
                )
            )
            return False
        channel.send(self._welcome(ok=True))
        return True

    def status(self) -> dict[str, Any]:
        backend = self._backend
        return {
            "pid": os.getpid(),
            "version": __version__,
            "protocol": PROTOCOL,
            "uptime_seconds": round(time.monotonic() - self.started, 1),
            "socket": str(self.socket_path),
            **(self._tcp.describe() if self._tcp is not None else {}),
            "rss_mb": round(_rss_megabytes(), 1),
            "idle_minutes": self.idle_seconds / 60,
            "ready": self._backend_ready.is_set() and backend is not None,
            "warm": self._warm,
            **(backend.describe() if backend is not None else {}),
        }

    def _answer(self, channel: Channel) -> None:
        request = channel.receive()
        if request is None:
            return
        with self._guard:
            self._last_activity = time.monotonic()
        op = request.get("op")
        if op == "stop":
            channel.send({"event": "done", "pid": os.getpid()})
            self.shutdown("asked to stop")
            return
        if op == "status":
            channel.send({"event": "done", "status": self.status()})
            return
        if op == "reload":  # the settings may have changed on disk (the app's settings screen)
            changed = restart.changed_settings(self.settings)
            channel.send({"event": "done", "restarting": bool(changed), "changed": changed, "instance": self.instance})
            if changed:
                self.restart(f"its settings changed: {', '.join(changed)}")
            return
        answered = threading.Event()
        threading.Thread(
            target=self._heartbeat, args=(channel, answered), name="service-heartbeat", daemon=True
        ).start()
        try:
            self._backend_ready.wait()
            backend = self._backend
            if backend is None:
                channel.send({"event": "error", "error": f"the service failed to load; see {paths.log_path()}"})
                return
            backend.handle(request, channel.send)
        finally:
            answered.set()

    @staticmethod
    def _heartbeat(channel: Channel, answered: threading.Event) -> None:
        """Tell the client this service still works on its request (see protocol.HEARTBEAT_SECONDS)."""
        while not answered.wait(HEARTBEAT_SECONDS):
            try:
                channel.send(ALIVE)
            except OSError:
                return  # the client left; the request notices on its next send
