"""The service taking up changed settings: it restarts itself in place, on the same socket.

The settings screen of the app writes the config file; the service read it when it started,
so it would answer every request with "fallback" (other settings) until it exits. Asked to
`reload`, the service reads its settings again; when they changed it finishes its requests,
closes its core (queued learning stays queued on disk), and execs itself with its own command
line: the same pid, terminal, environment and log. The listening socket is handed to the new
image (an inherited descriptor, named in the environment), so a client connecting meanwhile
waits in the socket's backlog instead of finding no service and starting a second one.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import NoReturn

from assistant.config import Settings, load_settings
from assistant.errors import AssistantError

LISTENER_FD_ENV = "ASSISTANT_SERVICE_LISTENER_FD"
# Settings a restart does not need to take up (the memory space is the request's own).
IGNORED = ("user",)


def changed_settings(running: Settings) -> list[str]:
    """The settings whose value in the config file and environment differs from `running`'s."""
    try:
        current = load_settings().model_dump()
    except AssistantError:
        return []  # a config file that does not load now: keep serving what did
    ours = running.model_dump()
    return sorted(name for name in ours if name not in IGNORED and ours[name] != current[name])


def inherited_listener() -> socket.socket | None:
    """The listening socket a restarting image handed to this one, if any."""
    descriptor = os.environ.pop(LISTENER_FD_ENV, None)
    if descriptor is None:
        return None
    try:
        listener = socket.socket(fileno=int(descriptor))
    except (OSError, ValueError):
        return None  # not a socket any more: bind a new one
    listener.set_inheritable(False)
    return listener


def exec_again(listener: socket.socket | None) -> NoReturn:
    """Replace this process with a fresh `assistant serve` (same command line), handing it `listener`."""
    if listener is not None:
        listener.set_inheritable(True)
        os.environ[LISTENER_FD_ENV] = str(listener.fileno())
    sys.stdout.flush()
    sys.stderr.flush()
    # The model's native log took fd 2 (native_log.py); the new image starts with the real stderr again.
    if sys.stderr is not None and sys.stderr.fileno() != 2:
        os.dup2(sys.stderr.fileno(), 2)
    os.execv(sys.executable, sys.orig_argv)
