"""The front end's views as JSON, for the service's socket: dataclasses in, plain objects out, and back.

One generic codec instead of a to_json/from_json pair on every view: a dataclass is encoded
field by field (datetimes as ISO text, enums as their values) and decoded by reading its
fields' type hints, so a field added to a view travels without touching this module. The two
views whose hints name types only a type checker sees (`LearningResult`, `JobStatus`) are
decoded by hand.

Imports only what the thin client may: the views, the memory records and the turn (none of
which loads the model, the embedder or the store).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from assistant.application.turn import LearnReport, Turn
from assistant.application.views import JobStatus, LearningResult

Decoded = TypeVar("Decoded")


def to_json(value: Any) -> Any:
    """`value` as JSON-ready data: dataclasses become objects, datetimes ISO strings, enums their values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_json(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_json(kind: Any, data: Any) -> Any:
    """Rebuild a value of type `kind` (a dataclass, `list[Memory]`, `Memory | None`, …) from `to_json`'s output."""
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if origin is typing.Union or origin is types.UnionType:
        options = [option for option in typing.get_args(kind) if option is not type(None)]
        return from_json(options[0], data)
    if origin is list:
        (item,) = typing.get_args(kind)
        return [from_json(item, value) for value in data]
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(from_json(item, value) for value in data)
    if origin is dict:
        _, item = typing.get_args(kind)
        return {key: from_json(item, value) for key, value in data.items()}
    if kind is LearningResult:
        return learning_result_from_json(data)
    if kind is JobStatus:
        return job_status_from_json(data)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        fields = {
            field.name: from_json(hints[field.name], data[field.name])
            for field in dataclasses.fields(kind)
            if field.init and field.name in data
        }
        return kind(**fields)
    if kind is datetime:
        return datetime.fromisoformat(data)
    if isinstance(kind, type) and issubclass(kind, Enum | Path):
        return kind(data)
    if kind is float:
        return float(data)
    return data


def decode(kind: type[Decoded], data: Any) -> Decoded:
    """`from_json` for a plain class, typed for the caller."""
    return typing.cast("Decoded", from_json(kind, data))


def learning_result_from_json(data: dict[str, Any]) -> LearningResult:
    return LearningResult(
        job=str(data["job"]),
        turn=decode(Turn, data["turn"]),
        report=decode(LearnReport, data["report"]),
        final=bool(data["final"]),
        saved_ids=tuple(str(memory_id) for memory_id in data.get("saved_ids", ())),
    )


def job_status_to_json(status: JobStatus) -> dict[str, Any]:
    """The status bar's part of a JobStatus: the maintenance report stays in the service's log."""
    return {
        field.name: getattr(status, field.name)
        for field in dataclasses.fields(status)
        if field.name != "last_maintenance"
    }


def job_status_from_json(data: dict[str, Any]) -> JobStatus:
    names = {field.name for field in dataclasses.fields(JobStatus)} - {"last_maintenance"}
    return JobStatus(**{name: value for name, value in data.items() if name in names})
