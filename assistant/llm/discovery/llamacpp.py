"""llama.cpp's download cache (what `llama-cli -hf` and `llama-server -hf` fetch).

LLAMA_CACHE, else `llama.cpp` under XDG_CACHE_HOME (`~/.cache`) on Linux or
`~/Library/Caches` on macOS. Files are named `ORG_REPO_FILE.gguf`; named "llamacpp:FILE".
"""

from __future__ import annotations

from pathlib import Path

from assistant.llm.discovery.common import FoundModel, env_path, examine, gguf_files, home, xdg

SOURCE = "llamacpp"


def roots() -> list[Path]:
    explicit = env_path("LLAMA_CACHE")
    if explicit is not None:
        return [explicit]
    return [xdg("XDG_CACHE_HOME", ".cache") / "llama.cpp", home() / "Library" / "Caches" / "llama.cpp"]


def discover() -> list[FoundModel]:
    found: dict[str, FoundModel] = {}
    for root in roots():
        for path in gguf_files(root):
            name = f"{SOURCE}:{path.relative_to(root).as_posix()}"
            found.setdefault(name, examine(name, SOURCE, path))
    return list(found.values())
