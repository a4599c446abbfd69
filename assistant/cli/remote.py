"""The thin-client side of the commands: ask the warm service when it answers, else return None.

`None` means "do the work in this process": the service is off, could not start, is of
another version (said once on stderr), or runs with other settings than this command's.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from assistant.config import Settings
from assistant.errors import AssistantError


def connection(settings: Settings) -> Any | None:
    """A handshaken connection to the service (started on demand with service = 'auto'), or None."""
    if settings.service == "off" or sys.platform == "win32":  # no named-pipe service on Windows yet
        return None
    from assistant.service import client

    try:
        return client.connect_to(settings.service)
    except client.VersionMismatch as error:
        print(f"assistant: {error}; working in this process", file=sys.stderr)
    except (AssistantError, OSError) as error:
        print(f"assistant: the service is unavailable ({error}); working in this process", file=sys.stderr)
    return None


def stop_running() -> None:
    """Stop a running service before a command replaces the store under it (restore)."""
    if sys.platform == "win32":
        return
    from assistant.service import client

    try:
        pid = client.stop()
    except (AssistantError, OSError) as error:
        raise AssistantError(f"cannot stop the running service first: {error}") from None
    if pid is not None:
        print(f"assistant: stopped the local service (pid {pid}); the next command starts it again", file=sys.stderr)


def payload(settings: Settings) -> dict[str, Any]:
    return settings.model_dump(mode="json")


def call(settings: Settings, op: str, **fields: Any) -> dict[str, Any] | None:
    """One request's result from the service, or None to do it here."""
    from assistant.service.client import Fallback

    for attempt in range(2):
        connected = connection(settings)
        if connected is None:
            return None
        with connected:
            try:
                return dict(connected.call(op, settings=payload(settings), **fields))
            except Fallback:
                pass
        if attempt or not _service_took_up_settings():
            return None
    return None


def _service_took_up_settings() -> bool:
    """After a "fallback": the config file may have changed since the service read it (see service/restart.py)."""
    from assistant.service import client

    try:
        return client.take_up_settings()
    except (AssistantError, OSError):
        return False


def stream(settings: Settings, op: str, **fields: Any) -> Iterator[dict[str, Any]] | None:
    """A request's events as they come, or None to do it here (decided before the first event)."""
    from assistant.service.client import Fallback

    for attempt in range(2):
        connected = connection(settings)
        if connected is None:
            return None
        events = connected.request(op, settings=payload(settings), **fields)
        try:
            first = next(events)
        except Fallback:
            connected.close()
            if attempt or not _service_took_up_settings():
                return None
            continue
        except BaseException:
            connected.close()
            raise
        return _all_events(connected, first, events)
    return None


def _all_events(connected: Any, first: dict[str, Any], events: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    with connected:
        yield first
        yield from events
