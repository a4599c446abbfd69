"""LM Studio's models folder: `~/.lmstudio/models/PUBLISHER/REPO/FILE.gguf`.

Older versions kept the same layout under `~/.cache/lm-studio/models`. LM Studio names a
model by publisher and repository, then file; we prefix "lmstudio:".
"""

from __future__ import annotations

from pathlib import Path

from assistant.llm.discovery.common import FoundModel, examine, gguf_files, home

SOURCE = "lmstudio"


def roots() -> list[Path]:
    return [home() / ".lmstudio" / "models", home() / ".cache" / "lm-studio" / "models"]


def discover() -> list[FoundModel]:
    found: dict[str, FoundModel] = {}
    for root in roots():
        for path in gguf_files(root):
            relative = path.relative_to(root)
            if len(relative.parts) < 2:
                continue  # LM Studio itself only sees files inside a publisher/repo folder
            name = f"{SOURCE}:{relative.as_posix()}"
            found.setdefault(name, examine(name, SOURCE, path))
    return list(found.values())
