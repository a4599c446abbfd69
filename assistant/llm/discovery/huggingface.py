"""The Hugging Face hub cache: `models--ORG--NAME/snapshots/REVISION/FILE.gguf`.

The cache is HF_HUB_CACHE, else HF_HOME/hub, else XDG_CACHE_HOME/huggingface/hub, else
`~/.cache/huggingface/hub`. Snapshot files are symlinks into the repository's `blobs/`; a
download in progress stays a `.incomplete` blob and is not in a snapshot yet. The revision
`refs/main` points to is preferred, then newer snapshots. Named "hf:ORG/NAME/FILE".
"""

from __future__ import annotations

from pathlib import Path

from assistant.llm.discovery.common import FoundModel, env_path, examine, gguf_files, xdg

SOURCE = "hf"


def cache() -> Path:
    explicit = env_path("HF_HUB_CACHE") or env_path("HUGGINGFACE_HUB_CACHE")
    if explicit is not None:
        return explicit
    hf_home = env_path("HF_HOME")
    if hf_home is not None:
        return hf_home / "hub"
    return xdg("XDG_CACHE_HOME", ".cache") / "huggingface" / "hub"


def _snapshots(repo: Path) -> list[Path]:
    folder = repo / "snapshots"
    if not folder.is_dir():
        return []
    try:
        main = (repo / "refs" / "main").read_text(encoding="utf-8").strip()
    except OSError:
        main = ""

    def order(snapshot: Path) -> tuple[bool, float]:
        try:
            modified = snapshot.lstat().st_mtime
        except OSError:
            modified = 0.0
        return (snapshot.name != main, -modified)

    return sorted((s for s in folder.iterdir() if s.is_dir()), key=order)


def discover() -> list[FoundModel]:
    root = cache()
    if not root.is_dir():
        return []
    found: dict[str, FoundModel] = {}
    for repo in sorted(root.glob("models--*")):
        org_name = repo.name[len("models--") :].split("--", 1)
        repo_id = "/".join(org_name)
        for snapshot in _snapshots(repo):
            for path in gguf_files(snapshot):
                name = f"{SOURCE}:{repo_id}/{path.relative_to(snapshot).as_posix()}"
                found.setdefault(name, examine(name, SOURCE, path))
    return list(found.values())
