"""GPT4All's download folder.

The desktop app downloads to `~/.local/share/nomic.ai/GPT4All` on Linux (XDG_DATA_HOME),
`~/Library/Application Support/nomic.ai/GPT4All` on macOS; its Python bindings use
`~/.cache/gpt4all`. Files sit directly in the folder; named "gpt4all:FILE".
"""

from __future__ import annotations

from pathlib import Path

from assistant.llm.discovery.common import FoundModel, examine, gguf_files, home, xdg

SOURCE = "gpt4all"


def roots() -> list[Path]:
    return [
        xdg("XDG_DATA_HOME", ".local/share") / "nomic.ai" / "GPT4All",
        home() / "Library" / "Application Support" / "nomic.ai" / "GPT4All",
        home() / ".cache" / "gpt4all",
    ]


def discover() -> list[FoundModel]:
    found: dict[str, FoundModel] = {}
    for root in roots():
        for path in gguf_files(root, max_depth=0):
            name = f"{SOURCE}:{path.name}"
            found.setdefault(name, examine(name, SOURCE, path))
    return list(found.values())
