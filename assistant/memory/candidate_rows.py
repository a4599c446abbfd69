"""The full rows of one recall's candidates, read in one take by row id once its searches are done.

Each search returns only ids, text and scores. At 100k rows, reading a result's other columns
cost about as much for 40 rows as for 100 (most of it a fixed cost per column), so three or
four searches reading them apiece cost more than one take of them all: recall's p50/p95 went
from 41.5/59.7 to 32.1/41.4 ms. Reading the words' hits on their own thread, while the query
was still embedded, made it slower (46.7/63.2): the two threads shared two cores. At 1M rows a
take of 100 candidates costs 5.6 ms in the store's file format; in Lance 2.2 it cost 19.5, most
of it in columns whose every value is the same (store/file_format.py).

A row id names a place in the table's files, which compaction can move between a search and
the take: a row whose id no longer matches is read again by its id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.memory.store.lance_reads import LatestDataset
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


def whole_rows(
    table: Any,
    rankings: Sequence[Ranking],
    columns: Sequence[str],
    owner: str,
    *,
    datasets: LatestDataset,
    brought: Sequence[str],
) -> list[Ranking]:
    """`rankings` (search results with `_rowid` and the columns `brought`) with every row given
    its other `columns`, read in one take at the table's latest version (through `datasets`,
    which keeps its caches); a row deleted since its search is left out."""
    # The owner is the one every search was for (reading it cost 2.6 of a take's 25 ms at 1M rows);
    # the id is read again, to tell a row that moved since its search.
    columns = [column for column in columns if column == "id" or column not in (*brought, "owner")]
    wanted = {row["_rowid"]: row["id"] for ranking, _ in rankings for row in ranking}
    if not wanted:
        return list(rankings)
    places = sorted(wanted)
    try:
        taken = arrow_rows(_take(table, datasets.of(table), places, columns))
    except OSError:  # compacted since: a place names a file that is gone
        taken = []
    read = {row["id"]: row for place, row in zip(places, taken, strict=False) if wanted[place] == row["id"]}
    moved = [memory_id for memory_id in wanted.values() if memory_id not in read]
    if moved:
        query = table.search().where((owned_by(owner) & is_in("id", moved)).sql).select(columns).limit(len(moved))
        read.update((row["id"], row) for row in arrow_rows(query.to_arrow()))
    return [
        ([{**row, **read[row["id"]], "owner": owner} for row in ranking if row["id"] in read], weight)
        for ranking, weight in rankings
    ]


def _take(table: Any, dataset: Any, places: list[int], columns: list[str]) -> Any:
    """The rows at `places`, in their order. Lance's own take (5.2 ms for 40 rows at 100k) is
    marked unstable; LanceDB's (7.4 ms) stands in if a release drops it."""
    take_rows = getattr(dataset, "_take_rows", None)
    if take_rows is None:
        return table.take_row_ids(places).select(columns).to_arrow()
    return take_rows(places, columns=columns)
