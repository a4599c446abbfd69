"""The OpenAI-compatible API as the remote runner speaks it: the address, and the wire.

`http://HOST:PORT/v1#MODEL` names a server and a model; answers are JSON, streams are
server-sent events. Every failure becomes one ModelError line naming the server.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from assistant.errors import ModelError


def is_endpoint(model: str) -> bool:
    return model.startswith(("http://", "https://"))


@dataclass(frozen=True)
class Endpoint:
    """`http://HOST:PORT/v1#MODEL`: the API base and the model to ask for (None: the server's first)."""

    base: str
    model: str | None

    @classmethod
    def parse(cls, spec: str) -> Endpoint:
        address, _, model = spec.partition("#")
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ModelError(f"not a model server address: {spec!r} (expected http://HOST:PORT/v1#MODEL)")
        if parts.username or parts.password or parts.query:
            raise ModelError("put no credentials or query in the model server address")
        base = address.rstrip("/")
        if not base.endswith("/v1"):
            base += "/v1"
        return cls(base=base, model=model.strip() or None)

    @property
    def root(self) -> str:
        return self.base.removesuffix("/v1")

    @property
    def label(self) -> str:
        return f"{self.base}#{self.model}" if self.model else self.base


def http_error(error: urllib.error.HTTPError, endpoint: Endpoint) -> ModelError:
    try:
        detail = json.loads(error.read() or b"{}")
        message = (
            detail.get("error", {}).get("message") if isinstance(detail.get("error"), dict) else detail.get("detail")
        )
    except (ValueError, OSError, AttributeError):
        message = None
    text = " ".join(str(message or error.reason).split())[:200]
    return ModelError(f"the model server at {endpoint.base} answered HTTP {error.code}: {text}")


def json_body(response: Any, endpoint: Endpoint) -> Any:
    try:
        return json.loads(response.read())
    except TimeoutError:
        raise
    except (ValueError, OSError) as error:
        raise ModelError(f"the model server at {endpoint.base} sent an unreadable answer: {error}") from None


def server_events(response: Any, endpoint: Endpoint) -> Iterator[dict[str, Any]]:
    """The `data:` events of a server-sent-events stream, until `[DONE]`."""
    try:
        for raw in response:
            line = raw.decode("utf-8", errors="replace").strip()
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                return
            try:
                event = json.loads(payload)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("error"):
                raise ModelError(f"the model server at {endpoint.base} failed: {event['error']}")
            if isinstance(event, dict):
                yield event
    except (OSError, http.client.HTTPException) as error:
        raise ModelError(f"the model server at {endpoint.base} stopped answering: {error}") from None


def delta_text(event: dict[str, Any]) -> str:
    choices = event.get("choices") or [{}]
    delta = choices[0].get("delta") or {}
    return str(delta.get("content") or "")


def message_text(answer: dict[str, Any]) -> str:
    choices = answer.get("choices") or [{}]
    return str((choices[0].get("message") or {}).get("content") or "")
