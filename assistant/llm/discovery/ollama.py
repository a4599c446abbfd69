"""Ollama's model store: `~/.ollama/models` (or OLLAMA_MODELS).

`manifests/HOST/NAMESPACE/MODEL/TAG` are JSON manifests; the layer whose mediaType is
`application/vnd.ollama.image.model` names the weights by digest, kept as
`blobs/sha256-<hex>` (a GGUF file without a suffix). Ollama names models "MODEL:TAG" for its
own library and "HOST/NAMESPACE/MODEL:TAG" otherwise; we prefix "ollama:".
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from assistant.llm.discovery.common import FoundModel, env_path, examine, home

SOURCE = "ollama"
MODEL_LAYER = "application/vnd.ollama.image.model"
DEFAULT_HOST = "registry.ollama.ai"
_DIGEST = re.compile(r"^sha256[:-](?P<hex>[0-9a-f]{64})$")


def store() -> Path:
    return env_path("OLLAMA_MODELS") or home() / ".ollama" / "models"


def _name(manifest: Path, manifests: Path) -> str:
    host, *middle, tag = manifest.relative_to(manifests).parts
    if host == DEFAULT_HOST and middle[:1] == ["library"]:
        model = "/".join(middle[1:])
    elif host == DEFAULT_HOST:
        model = "/".join(middle)
    else:
        model = "/".join([host, *middle])
    return f"{SOURCE}:{model}:{tag}"


def _read(manifest: Path, name: str, blobs: Path) -> FoundModel:
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        layers = data["layers"]
        layer = next(layer for layer in layers if layer.get("mediaType") == MODEL_LAYER)
        digest = str(layer["digest"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        return FoundModel(name, SOURCE, manifest, 0, problem="unreadable manifest")
    except StopIteration:
        return FoundModel(name, SOURCE, manifest, 0, problem="manifest has no model layer (not a GGUF model)")
    match = _DIGEST.match(digest)
    if match is None:
        return FoundModel(name, SOURCE, manifest, 0, problem=f"manifest names an unknown digest {digest[:24]!r}")
    blob = blobs / f"sha256-{match['hex']}"
    if not blob.is_file():
        return FoundModel(name, SOURCE, blob, 0, problem="model blob is missing (pull it again in Ollama)")
    found = examine(name, SOURCE, blob)
    expected = layer.get("size")
    if found.usable and isinstance(expected, int) and found.size < expected:
        problem = f"model blob is partial ({found.size} of {expected} bytes)"
        return FoundModel(name, SOURCE, blob, found.size, problem=problem)
    return found


def discover() -> list[FoundModel]:
    manifests, blobs = store() / "manifests", store() / "blobs"
    if not manifests.is_dir():
        return []
    found = []
    for manifest in sorted(p for p in manifests.rglob("*") if p.is_file() and not p.name.startswith(".")):
        if len(manifest.relative_to(manifests).parts) < 3:
            continue
        found.append(_read(manifest, _name(manifest, manifests), blobs))
    return found


def lookup(name: str) -> FoundModel | None:
    """The model called `name` ("ollama:qwen3:4b"), read from its manifest alone."""
    if not name.startswith(f"{SOURCE}:"):
        return None
    model, _, tag = name[len(SOURCE) + 1 :].rpartition(":")
    if not model:
        model, tag = tag, "latest"
    parts = model.split("/")
    if len(parts) == 1:
        relative = [DEFAULT_HOST, "library", *parts]
    elif "." in parts[0] or ":" in parts[0]:
        relative = parts
    else:
        relative = [DEFAULT_HOST, *parts]
    manifest = store() / "manifests" / Path(*relative) / tag
    if not manifest.is_file():
        return None
    return _read(manifest, f"{SOURCE}:{model}:{tag}", store() / "blobs")
