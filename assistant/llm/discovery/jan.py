"""Jan's models: plain GGUF files in a folder per model under its data folder.

Older Jan kept `~/jan/models`; newer versions keep `Jan/data/models` or
`Jan/data/llamacpp/models` under `~/.local/share` (XDG_DATA_HOME) on Linux and
`~/Library/Application Support` on macOS. Named "jan:" and the model folder (and file when a
folder holds several).
"""

from __future__ import annotations

from pathlib import Path

from assistant.llm.discovery.common import FoundModel, display_stem, examine, gguf_files, home, xdg

SOURCE = "jan"


def roots() -> list[Path]:
    data_folders = [
        xdg("XDG_DATA_HOME", ".local/share") / "Jan" / "data",
        home() / "Library" / "Application Support" / "Jan" / "data",
    ]
    found = [home() / "jan" / "models"]
    for data in data_folders:
        found += [data / "llamacpp" / "models", data / "models"]
    return found


def discover() -> list[FoundModel]:
    found: dict[str, FoundModel] = {}
    for root in roots():
        files = list(gguf_files(root))
        per_folder: dict[Path, int] = {}
        for path in files:
            per_folder[path.parent] = per_folder.get(path.parent, 0) + 1
        for path in files:
            folder = path.parent.relative_to(root).as_posix()
            alone = per_folder[path.parent] == 1 and folder != "."
            label = folder if alone else (f"{folder}/{display_stem(path)}" if folder != "." else display_stem(path))
            name = f"{SOURCE}:{label}"
            found.setdefault(name, examine(name, SOURCE, path))
    return list(found.values())
