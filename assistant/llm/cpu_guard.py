"""Keep llama.cpp off CPU kernels known to crash.

On CPUs with Intel AMX (Sapphire Rapids and later Xeons), a llama.cpp built for the host
repacks quantized weights into an AMX buffer, and the first prompt of more than a couple of
tokens then dies with a segmentation fault inside `ggml_backend_amx_mul_mat` (llama.cpp issue
20824, closed without a fix; seen here with the starter model, Q4_1, llama-cpp-python 0.3.36).
A crash in C takes the whole process down, acknowledged writes of the service included, so the
repacking ("extra buffer types") is turned off on such CPUs before any model is loaded. The
plain CPU kernels are used instead; they are what every machine without AMX runs.

`ASSISTANT_LLAMA_REPACK=1` turns repacking back on, for a llama.cpp build where it is fixed.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

_CPU_FLAGS_FILE = Path("/proc/cpuinfo")
_AMX_FLAGS = frozenset({"amx_tile", "amx_int8", "amx_bf16"})
_lock = threading.Lock()
_installed = False


def cpu_flags(cpuinfo: Path = _CPU_FLAGS_FILE) -> frozenset[str]:
    """The CPU's feature flags as Linux lists them; empty where that list cannot be read."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def repack_is_unsafe(flags: frozenset[str] | None = None) -> bool:
    """Whether llama.cpp's weight repacking must stay off here: the CPU has AMX and no one said otherwise."""
    if os.environ.get("ASSISTANT_LLAMA_REPACK") == "1":
        return False
    if not sys.platform.startswith("linux"):
        return False  # the flags are read from /proc; elsewhere AMX machines are not known to this check
    return bool(_AMX_FLAGS & (cpu_flags() if flags is None else flags))


def keep_llama_off_crashing_kernels() -> bool:
    """Before the first model load: make every model llama.cpp loads in this process skip repacking
    when `repack_is_unsafe()`. Idempotent; True when repacking is off."""
    global _installed
    if not repack_is_unsafe():
        return False
    with _lock:
        if _installed:
            return True
        import llama_cpp.llama_cpp as native

        defaults: Callable[[], Any] = native.llama_model_default_params

        def params_without_repacking() -> Any:
            params = defaults()
            if hasattr(params, "use_extra_bufts"):
                params.use_extra_bufts = False
            return params

        # llama_cpp.Llama builds its model parameters from this function, with no argument for the
        # field, so the defaults themselves are changed, for this process only.
        native.llama_model_default_params = params_without_repacking
        _installed = True
        return True
