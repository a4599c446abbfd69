"""Importing lancedb without building the validators of its REST namespace client.

`lancedb.db` imports `lance_namespace`, whose generated OpenAPI client defines ~150 pydantic
models and ~350 `@validate_call` methods: building their validators is most of what importing
lancedb costs (~0.65 s of CPU of ~2.3 s here), and a local store never calls them. pydantic
can defer that build to first use (`defer_build`); lancedb gives no way to ask for it, so the
default is flipped for the length of the import only. Deferring changes when a validator is
built, not what it does: anything used later is built then, as it would have been.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

_guard = threading.Lock()


@contextlib.contextmanager
def _validators_built_on_first_use() -> Iterator[None]:
    try:
        from pydantic._internal import _config
    except ImportError:  # another pydantic: import as usual
        yield
        return
    defaults: Any = getattr(_config, "config_defaults", None)
    if not isinstance(defaults, dict) or defaults.get("defer_build") is not False:
        yield
        return
    defaults["defer_build"] = True
    try:
        yield
    finally:
        defaults["defer_build"] = False


def import_lancedb() -> ModuleType:
    import importlib
    import sys

    with _guard:
        if "lancedb" not in sys.modules:
            with _validators_built_on_first_use():
                return importlib.import_module("lancedb")
    return importlib.import_module("lancedb")
