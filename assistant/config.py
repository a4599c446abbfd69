"""Settings: defaults, then the TOML config file, then `ASSISTANT_*` environment variables.

Every field is documented by the docstring under it; `assistant config` and the settings
screen show those docstrings. The file is written back with tomlkit so a user's comments
and layout survive.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant import locations
from assistant.errors import ConfigError

ENV_PREFIX = "ASSISTANT_"
# Env variables with the prefix that are not settings fields.
_NON_FIELD_ENV = {"ASSISTANT_DATA_DIR", "ASSISTANT_CONFIG", "ASSISTANT_SERVICE_TOKEN"}
SERVICE_MODES = ("auto", "running", "off")
TCP_SCHEME = "tcp://"
LOCALHOST = "localhost"


def loopback_address(text: str) -> tuple[str, int]:
    """`[HOST:]PORT` as (host, port); HOST must be a loopback address or localhost (default 127.0.0.1).

    Raises ValueError with a one-line reason. The service's TCP port carries memories and a token
    in the clear, so it is never offered beyond this machine. Port 0 lets the system pick one.
    """
    host, separator, port_text = text.strip().rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"not a [HOST:]PORT: {text!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"not a TCP port: {port}")
    if host.lower() == LOCALHOST:
        return "127.0.0.1", port  # not resolved: a hosts file could point the name elsewhere
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the service's TCP port is loopback only: {host!r} is not 127.0.0.1, ::1 or localhost")
    return host, port


def _default_threads() -> int:
    # llama.cpp is fastest with one thread per physical core; leave one core for the UI
    # on bigger machines, and never go below two (measured ~1.5x faster than one here).
    cores = os.cpu_count() or 2
    return max(2, min(8, cores - 1 if cores > 4 else cores))


class Settings(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid", validate_assignment=True)

    model: str = "smollm2-135m-instruct"
    """Chat model: a catalog name, an installed model's name, or a path to a .gguf file."""

    embedder: str = "all-minilm-l6-v2"
    """Embedding model: the bundled 'all-minilm-l6-v2' or a path to a sentence-transformers folder."""

    context_size: int = Field(default=4096, ge=512, le=131072)
    """Context window in tokens given to the chat model (bounded by what the model supports)."""

    threads: int = Field(default_factory=_default_threads, ge=1, le=256)
    """CPU threads llama.cpp uses for generation."""

    max_reply_tokens: int = Field(default=512, ge=16, le=8192)
    """Most tokens one reply may have; also reserved out of the context for the reply."""

    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    """Sampling temperature for chat replies (0 = deterministic)."""

    seed: int = -1
    """Sampling seed; -1 picks a random one each reply."""

    memory_enabled: bool = True
    """Recall memories into each prompt and learn new ones after each exchange."""

    model_extraction: bool = True
    """After each exchange, also ask the chat model for memories (deterministic rules always run)."""

    token_budget: int = Field(default=0, ge=0)
    """Most prompt tokens spent on memory and history; 0 derives it from context_size minus the reply reserve."""

    recall_k: int = Field(default=8, ge=1, le=100)
    """How many memories recall returns for a prompt at most."""

    recall_dense_share: float = Field(default=0.5, ge=0.0, le=1.0)
    """Recall ranking: how much of a match's relevance is its meaning (the embedder's vectors), the rest
    its words (BM25). 0.5 suits the bundled embedder; 0.6 measured best with all-mpnet-base-v2."""

    recency_half_life_days: float = Field(default=30.0, gt=0)
    """Recall ranking: how fast a memory's recency bonus halves, in days."""

    decay_half_life_days: float = Field(default=90.0, gt=0)
    """Decay: days without use after which an unpinned memory's strength halves."""

    decay_archive_threshold: float = Field(default=0.05, ge=0.0, le=1.0)
    """Decay: memories whose strength falls below this are archived (never deleted)."""

    compression_age_days: float = Field(default=30.0, gt=0)
    """Compression: conversation messages older than this are summarised and archived."""

    maintenance_interval_minutes: float = Field(default=30.0, gt=0)
    """How often background maintenance (compression, decay, index upkeep) runs, in the service or the TUI."""

    user: str = "default"
    """Memory space used when --user is not given."""

    service: str = "auto"
    """The warm local service (`assistant serve`): 'auto' uses it and starts it when needed,
    'running' uses it only when it is already running, 'off' always works in this process;
    'tcp://127.0.0.1:PORT' uses the one listening there (its token from ASSISTANT_SERVICE_TOKEN or its token file)."""

    service_idle_minutes: float = Field(default=15.0, gt=0)
    """The service exits after this many minutes without a request (and with no learning left to do)."""

    service_warm_up: bool = True
    """The service loads the model, the embedder and the store when it starts (false: on its first request)."""

    service_tcp: str = ""
    """The service also listens on this loopback TCP [HOST:]PORT, with a token (`assistant serve --status`);
    empty: on its owner-only Unix socket alone."""

    @field_validator("service")
    @classmethod
    def _known_service(cls, value: str) -> str:
        if value.startswith(TCP_SCHEME):
            loopback_address(value[len(TCP_SCHEME) :])
        elif value not in SERVICE_MODES:
            raise ValueError("expected 'auto', 'running', 'off' or tcp://HOST:PORT (a loopback address)")
        return value

    @field_validator("service_tcp")
    @classmethod
    def _loopback_port(cls, value: str) -> str:
        if value.strip():
            loopback_address(value)
        return value.strip()


def field_docs() -> dict[str, str]:
    return {name: (info.description or "") for name, info in Settings.model_fields.items()}


def _read_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None


def _read_env() -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in os.environ.items():
        if not name.startswith(ENV_PREFIX) or name in _NON_FIELD_ENV:
            continue
        field = name[len(ENV_PREFIX) :].lower()
        if field in Settings.model_fields:
            values[field] = value
    return values


def _describe(error: ValidationError, origin: str) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "settings"
    return f"invalid setting {where!r} in {origin}: {first['msg']}"


def load_settings(**overrides: Any) -> Settings:
    """Defaults < config file < environment < explicit overrides (from CLI flags)."""
    path = locations.config_file()
    from_file = _read_file(path)
    unknown = sorted(set(from_file) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r} in {path}")
    try:
        settings = Settings(**from_file)
    except ValidationError as error:
        raise ConfigError(_describe(error, str(path))) from None
    layered = {**_read_env(), **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return settings.model_copy(update=Settings(**{**settings.model_dump(), **layered}).model_dump())
    except ValidationError as error:
        raise ConfigError(_describe(error, "environment or command line")) from None


def save_settings(changes: dict[str, Any]) -> Path:
    """Write `changes` into the config file, keeping the user's comments and layout."""
    try:
        Settings(**{**load_settings().model_dump(), **changes})  # validate before touching the file
    except ValidationError as error:
        raise ConfigError(_describe(error, "the new settings")) from None
    path = locations.config_file()
    document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    for name, value in changes.items():
        document[name] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".toml.tmp")
    temporary.write_text(tomlkit.dumps(document), encoding="utf-8")
    temporary.replace(path)
    return path
