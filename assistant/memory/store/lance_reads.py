"""Reading a table through Lance itself, at its latest version, with one cache for every version.

Recall's vector searches, its take of the candidates and its look-up of the summaries covering
them go to the table's Lance dataset rather than through LanceDB: LanceDB (opened to always read
the latest version) looks for a newer version before each query, which at 100k rows cost 1.6 ms
of a vector search for the same results. A dataset opened anew starts with cold caches (its
indexes read again: a vector and a words' search took 28.5 ms against 10.5), so one dataset is
kept and checked out at each new version, which keeps its caches.

The words' search stays with LanceDB: LanceDB runs its own build of Lance, and on rows the text
index does not cover yet the two score BM25 differently (recall.py).
"""

from __future__ import annotations

import threading
from typing import Any


class LatestDataset:
    """One table's Lance dataset, moved to the table's latest version when asked for (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table: Any = None
        self._dataset: Any = None

    def of(self, table: Any) -> Any:
        """`table` (a LanceDB table) as a Lance dataset at the version the table reads now."""
        version = table.version
        with self._lock:
            if self._dataset is None or self._table is not table:
                # Another table object (the store opened it again, after a repair): its own caches.
                self._dataset, self._table = table.to_lance(), table
            elif self._dataset.version != version:
                self._dataset = self._dataset.checkout_version(version)
            return self._dataset
