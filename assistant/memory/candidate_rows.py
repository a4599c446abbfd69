"""The full rows of one recall's candidates, read in one take by row id once its searches are done.

Each search returns only ids, text and scores. At 100k rows, reading a result's other columns
cost about as much for 40 rows as for 100 (most of it a fixed cost per column), so three or
four searches reading them apiece cost more than one take of them all: recall's p50/p95 went
from 41.5/59.7 to 32.1/41.4 ms. Reading the words' hits on their own thread, while the query
was still embedded, made it slower (46.7/63.2): the two threads shared two cores. At 1M rows a
take costs about 0.25 ms a row (19-35 ms for 100): Lance decodes a whole mini-block for each
row, and at that size nearly every row is in a block of its own. It is the largest part of a
recall there (26 of 68 ms at the median), ahead of the vector search (22).

A row id names a place in the table's files, which compaction can move between a search and
the take: a row whose id no longer matches is read again by its id.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from assistant.memory.store.query import is_in, owned_by

Ranking = tuple[list[dict[str, Any]], float]


def arrow_rows(table: Any) -> list[dict[str, Any]]:
    """An Arrow table's rows as dicts, each vector a numpy row: as Python lists, the vectors
    of 100 rows took 3 of the 12 ms their take cost."""
    if "vector" not in table.column_names:
        rows: list[dict[str, Any]] = table.to_pylist()
        return rows
    import numpy as np

    vectors = table.column("vector").combine_chunks()
    size = vectors.type.list_size
    # The values themselves, null rows' slots included (flatten() would skip those and shift the rest).
    flat = vectors.values.to_numpy(zero_copy_only=False)[vectors.offset * size : (vectors.offset + len(vectors)) * size]
    matrix = np.asarray(flat, dtype=np.float32).reshape(len(vectors), size)
    rows = table.drop_columns(["vector"]).to_pylist()
    for row, vector, valid in zip(rows, matrix, vectors.is_valid().to_pylist(), strict=True):
        row["vector"] = vector if valid else None
    return rows


class CandidateRows:
    """One recall's candidates with all their `columns`."""

    def __init__(self, table: Any, columns: Sequence[str], owner: str) -> None:
        self.table = table
        # Not the owner: every search was for this owner's rows (2.6 of a take's 25 ms at 1M rows).
        self.columns = [column for column in columns if column != "owner"]
        self.owner = owner
        self._full: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def read(self, found: Sequence[dict[str, Any]]) -> None:
        """Read the rows of `found` (search results with `_rowid`) that are not read yet."""
        with self._lock:
            wanted = {row["_rowid"]: row["id"] for row in found if row["id"] not in self._full}
        if not wanted:
            return
        places = sorted(wanted)
        try:
            taken = arrow_rows(self._take(places))
        except OSError:  # compacted since: a place names a file that is gone
            taken = []
        read = {row["id"]: row for place, row in zip(places, taken, strict=False) if wanted[place] == row["id"]}
        for row in taken:
            row["owner"] = self.owner
        moved = [memory_id for memory_id in wanted.values() if memory_id not in read]
        if moved:
            where = owned_by(self.owner) & is_in("id", moved)
            query = self.table.search().where(where.sql).select(self.columns).limit(len(moved))
            read.update((row["id"], {**row, "owner": self.owner}) for row in arrow_rows(query.to_arrow()))
        with self._lock:
            self._full.update(read)

    def _take(self, places: list[int]) -> Any:
        """The rows at `places`, in their order. Lance's own take (5.2 ms for 40 rows at 100k)
        is marked unstable; LanceDB's (7.4 ms) stands in if a release drops it."""
        take_rows = getattr(self.table.to_lance(), "_take_rows", None)
        if take_rows is None:
            return self.table.take_row_ids(places).select(self.columns).to_arrow()
        return take_rows(places, columns=self.columns)

    def complete(self, rankings: Sequence[Ranking]) -> list[Ranking]:
        """`rankings` with every row whole (a row deleted since its search is left out)."""
        self.read([row for ranking, _ in rankings for row in ranking])
        return [
            ([{**row, **self._full[row["id"]]} for row in ranking if row["id"] in self._full], weight)
            for ranking, weight in rankings
        ]
