"""Models other tools already downloaded to this computer, found and used in place.

One module per tool (Ollama, LM Studio, the Hugging Face cache, GPT4All, Jan, llama.cpp's
cache); each only reads that tool's folders. A model is named as its tool names it, with the
tool as prefix ("ollama:qwen3:4b", "hf:org/repo/file.gguf"), and that name is what
`models use` saves and the runner resolves, so the file is loaded where it lies.
"""

from __future__ import annotations

from collections.abc import Callable

from assistant.errors import ModelError
from assistant.llm.discovery import gpt4all, huggingface, jan, llamacpp, lmstudio, ollama
from assistant.llm.discovery.common import FoundModel

SOURCES: dict[str, Callable[[], list[FoundModel]]] = {
    ollama.SOURCE: ollama.discover,
    lmstudio.SOURCE: lmstudio.discover,
    huggingface.SOURCE: huggingface.discover,
    gpt4all.SOURCE: gpt4all.discover,
    jan.SOURCE: jan.discover,
    llamacpp.SOURCE: llamacpp.discover,
}

__all__ = ["FoundModel", "SOURCES", "discover", "is_found_name", "lookup", "resolve_found"]


def is_found_name(name: str) -> bool:
    source, colon, rest = name.partition(":")
    return bool(colon and rest) and source in SOURCES


def _from(source: str) -> list[FoundModel]:
    try:
        return SOURCES[source]()
    except (OSError, ValueError):
        return []  # an unreadable folder of another tool hides its models, never the app


def discover() -> list[FoundModel]:
    """Every model found on this computer, usable or not (the unusable ones say why)."""
    return [model for source in SOURCES for model in _from(source)]


def lookup(name: str) -> FoundModel | None:
    if not is_found_name(name):
        return None
    if name.startswith(f"{ollama.SOURCE}:"):
        try:
            found = ollama.lookup(name)
        except OSError:
            found = None
        if found is not None:
            return found
    source = name.partition(":")[0]
    return next((model for model in _from(source) if model.name == name), None)


def resolve_found(name: str) -> FoundModel:
    """The usable model called `name`, or a ModelError saying why there is none."""
    found = lookup(name)
    if found is None:
        raise ModelError(f"no model {name!r} on this computer; see `assistant models list`")
    if found.problem is not None:
        raise ModelError(f"model {name!r} cannot be used: {found.problem}")
    return found
