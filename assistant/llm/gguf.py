"""Read and validate a GGUF file's header without loading the model.

`models add`, `doctor` and the runner call `inspect_gguf` first so that a file that is not
GGUF, or was truncated by an interrupted copy or download, gets a clear one-line error
instead of a crash inside llama.cpp.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from assistant.errors import ModelError

GGUF_MAGIC = b"GGUF"
_DEFAULT_ALIGNMENT = 32

# value type id -> struct format for scalars
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9

# ggml tensor type id -> (elements per block, bytes per block); used to find where the
# last tensor ends, which tells a complete file from a truncated one.
_TENSOR_BLOCKS = {
    0: (1, 4),
    1: (1, 2),
    2: (32, 18),
    3: (32, 20),
    6: (32, 22),
    7: (32, 24),
    8: (32, 34),
    9: (32, 36),
    10: (256, 84),
    11: (256, 110),
    12: (256, 144),
    13: (256, 176),
    14: (256, 210),
    15: (256, 292),
    16: (256, 66),
    17: (256, 74),
    18: (256, 98),
    19: (256, 50),
    20: (32, 18),
    21: (256, 110),
    22: (256, 82),
    23: (256, 136),
    24: (1, 1),
    25: (1, 2),
    26: (1, 4),
    27: (1, 8),
    28: (1, 8),
    29: (256, 56),
    30: (1, 2),
    34: (256, 54),
    35: (256, 66),
    39: (32, 17),
}


@dataclass(frozen=True)
class GGUFInfo:
    path: Path
    version: int
    tensor_count: int
    architecture: str
    name: str
    context_length: int | None
    chat_template: str | None
    file_size: int
    metadata: dict[str, Any] = field(repr=False, default_factory=dict)


class _Reader:
    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle

    def read(self, size: int) -> bytes:
        data = self.handle.read(size)
        if len(data) != size:
            raise EOFError
        return data

    def scalar(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        length = self.scalar("<Q")
        if length > 1 << 26:
            raise ValueError("string length out of range")
        return self.read(length).decode("utf-8", errors="replace")

    def value(self, kind: int, keep: bool = True) -> Any:
        if kind in _SCALARS:
            return self.scalar(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_kind, count = self.scalar("<I"), self.scalar("<Q")
            if count > 1 << 28:
                raise ValueError("array length out of range")
            if item_kind in _SCALARS:
                # Large numeric arrays (token scores, types) are skipped in one read.
                size = struct.calcsize(_SCALARS[item_kind])
                data = self.read(size * count)
                return list(struct.unpack(f"<{count}{_SCALARS[item_kind][1]}", data)) if keep else count
            items = [self.value(item_kind, keep) for _ in range(count)]
            return items if keep else count
        raise ValueError(f"unknown metadata value type {kind}")


def inspect_gguf(path: Path | str) -> GGUFInfo:
    """Return the header of a GGUF file, or raise ModelError saying why it cannot be used."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelError(f"model file not found: {path}")
    if path.is_dir():
        raise ModelError(f"model path is a directory, not a .gguf file: {path}")
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            reader = _Reader(handle)
            if handle.read(4) != GGUF_MAGIC:
                raise ModelError(f"not a GGUF model file (bad magic bytes): {path}")
            version = reader.scalar("<I")
            if version not in (2, 3):
                raise ModelError(f"unsupported GGUF version {version} in {path}")
            tensor_count, kv_count = reader.scalar("<Q"), reader.scalar("<Q")
            metadata: dict[str, Any] = {}
            for _ in range(kv_count):
                key = reader.string()
                kind = reader.scalar("<I")
                # Keep only small values; the tokenizer vocabulary is huge and not needed.
                keep = not key.startswith("tokenizer.ggml.")
                metadata[key] = reader.value(kind, keep)
            data_end = _data_end(reader, tensor_count, metadata)
    except ModelError:
        raise
    except (EOFError, ValueError, struct.error):
        raise ModelError(f"GGUF file is truncated or damaged: {path}") from None
    except OSError as error:
        raise ModelError(f"cannot read model file {path}: {error.strerror}") from None
    if data_end > size:
        raise ModelError(f"GGUF file is truncated ({size} of {data_end} bytes): {path}; copy or download it again")
    architecture = str(metadata.get("general.architecture", "unknown"))
    context = metadata.get(f"{architecture}.context_length")
    return GGUFInfo(
        path=path,
        version=version,
        tensor_count=tensor_count,
        architecture=architecture,
        name=str(metadata.get("general.name", path.stem)),
        context_length=int(context) if isinstance(context, int) else None,
        chat_template=metadata.get("tokenizer.chat_template"),
        file_size=size,
        metadata=metadata,
    )


def _data_end(reader: _Reader, tensor_count: int, metadata: dict[str, Any]) -> int:
    """Byte offset where the last tensor's data ends (a lower bound for unknown types)."""
    last_offset, last_size = 0, 0
    for _ in range(tensor_count):
        reader.string()
        dims = [reader.scalar("<Q") for _ in range(reader.scalar("<I"))]
        kind, offset = reader.scalar("<I"), reader.scalar("<Q")
        if offset >= last_offset:
            elements = 1
            for dim in dims:
                elements *= dim
            per_block, block_bytes = _TENSOR_BLOCKS.get(kind, (1, 0))
            last_offset, last_size = offset, (elements // per_block) * block_bytes
    alignment = int(metadata.get("general.alignment", _DEFAULT_ALIGNMENT)) or _DEFAULT_ALIGNMENT
    header_end = reader.handle.tell()
    data_start = (header_end + alignment - 1) // alignment * alignment
    return data_start + last_offset + last_size if tensor_count else header_end
