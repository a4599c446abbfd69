"""What every discovery source shares: a found model, and checking a file is a usable GGUF.

Models other tools downloaded are used where they are (never copied): a source only reads
its tool's folders and manifests. A file that is not GGUF, is truncated or is a split model
with a part missing is still listed, with a one-line reason instead of its header.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ModelError
from assistant.llm.gguf import inspect_gguf

GGUF_SUFFIX = ".gguf"
# llama.cpp's split files: NAME-00001-of-00003.gguf; the first part is the one to load.
_SPLIT = re.compile(r"^(?P<stem>.+)-(?P<part>\d{5})-of-(?P<total>\d{5})\.gguf$", re.IGNORECASE)
# Vision projectors (mmproj files) sit beside chat models but are not models to chat with.
_SKIP_PARTS = ("mmproj",)


@dataclass(frozen=True)
class FoundModel:
    """A GGUF model another tool keeps on this computer."""

    name: str  # as its tool names it, with the tool as prefix: "ollama:qwen3:4b"
    source: str  # "ollama", "lmstudio", "hf", "gpt4all", "jan", "llamacpp"
    path: Path  # the file to load, in place (the first part of a split model)
    size: int  # bytes on disk, all parts together
    architecture: str | None = None
    context_length: int | None = None
    chat_template: bool = False
    problem: str | None = None  # why it cannot be used; None when it can
    parts: int = 1

    @property
    def usable(self) -> bool:
        return self.problem is None


def home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def xdg(kind: str, default: str) -> Path:
    """An XDG base directory (XDG_CACHE_HOME, XDG_DATA_HOME) or its default under home."""
    return env_path(kind) or home() / default


def split_parts(path: Path) -> list[Path] | None:
    """All parts of a split GGUF given its first part; None when `path` is not a split file."""
    match = _SPLIT.match(path.name)
    if match is None:
        return None
    total = int(match["total"])
    width = len(match["part"])
    return [path.with_name(f"{match['stem']}-{i:0{width}d}-of-{match['total']}.gguf") for i in range(1, total + 1)]


def is_later_split_part(path: Path) -> bool:
    match = _SPLIT.match(path.name)
    return match is not None and int(match["part"]) != 1


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def examine(name: str, source: str, path: Path) -> FoundModel:
    """A FoundModel for `path`: its header if it is a complete GGUF, else the reason it is not."""
    parts = split_parts(path) or [path]
    size = sum(_size(part) for part in parts)
    missing = [part for part in parts if not part.is_file()]
    if missing and len(parts) > 1:
        index = parts.index(missing[0]) + 1
        return FoundModel(
            name, source, path, size, problem=f"split model: part {index} of {len(parts)} is missing", parts=len(parts)
        )
    try:
        info = inspect_gguf(path)
    except ModelError as error:
        return FoundModel(name, source, path, size, problem=_short(str(error), path), parts=len(parts))
    return FoundModel(
        name,
        source,
        path,
        size,
        architecture=info.architecture,
        context_length=info.context_length,
        chat_template=info.chat_template is not None,
        parts=len(parts),
    )


def _short(message: str, path: Path) -> str:
    """inspect_gguf's reason without the path (the listing shows the path already)."""
    for tail in (f": {path}; copy or download it again", f": {path}", f" in {path}"):
        message = message.replace(tail, "")
    return message


def gguf_files(folder: Path, max_depth: int = 4) -> Iterator[Path]:
    """GGUF files under `folder` (following no symlinked folders), sorted, one per split model."""
    if not folder.is_dir():
        return
    root_depth = len(folder.parts)
    for current, folders, files in os.walk(folder):
        depth = len(Path(current).parts) - root_depth
        folders[:] = sorted(f for f in folders if not f.startswith(".")) if depth < max_depth else []
        for file in sorted(files):
            if not file.lower().endswith(GGUF_SUFFIX) or file.startswith("."):
                continue
            path = Path(current) / file
            if is_later_split_part(path) or any(skip in file.lower() for skip in _SKIP_PARTS):
                continue
            yield path


def display_stem(path: Path) -> str:
    """A file's name as a tool shows it: without .gguf and without the split suffix."""
    match = _SPLIT.match(path.name)
    if match is not None:
        return match["stem"]
    return path.name[: -len(GGUF_SUFFIX)] if path.name.lower().endswith(GGUF_SUFFIX) else path.name
