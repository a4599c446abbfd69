"""The vector index: when to build it, how, and how much of it a search reads.

IVF_SQ: 8-bit vectors in partitions of ~8k rows. Measured on 100k clustered vectors (384
dimensions), top 40 against an exact search: IVF_SQ built in 7 s and, every partition read and
refined by the full vectors, found 1.00 of them in 6 ms; IVF_HNSW_SQ (one partition, m 20,
ef_construction 300, the index before) took 59 s and found 0.92 in 4 ms. On 1M clustered
vectors (122 partitions), the exact top 10 found: 0.71 reading 24 partitions (14 ms), 0.89
reading 48 (25 ms), 0.998 reading 96 (42 ms); an IVF_HNSW_SQ index there (4 partitions, m 16)
found 0.91-0.94 in 8 ms but took 12 min to build on 2 busy cores, IVF_SQ 25 s.
"""

from __future__ import annotations

import math

# Above this many rows, vector search uses the index instead of scanning every vector
# (a scan of 50k vectors took 50 ms; the index's search, 6 ms at 100k).
VECTOR_INDEX_MIN_ROWS = 20_000
PARTITION_ROWS = 8192
# Built again once the table has grown this many times over the rows it was built on, so the
# partitions stay near their size.
REGROWTH = 4
# A search reads at least this many partitions (every one up to ~200k rows), and above that
# this share of them.
VECTOR_NPROBES = 24
PROBE_SHARE = 0.5
ROWS_KEY = "vector_index_rows"  # in the meta table: the rows the index was built on


def is_vector_index(index_type: str) -> bool:
    name = index_type.upper().replace("_", "")
    return name.startswith("IVF") or "HNSW" in name


def partitions_for(rows: int) -> int:
    return max(1, rows // PARTITION_ROWS)


def due(rows: int, built_on: str | None) -> bool:
    """Whether the index should be built (again): none yet ("0"), built on a quarter of today's
    rows or fewer, or before its size was recorded (the IVF_HNSW_SQ index of earlier versions)."""
    return built_on is None or rows >= REGROWTH * int(built_on)


def probes(built_on: str | None) -> int:
    """The partitions a search reads, for an index built on `built_on` rows."""
    partitions = partitions_for(int(built_on)) if built_on else 0
    return max(VECTOR_NPROBES, math.ceil(partitions * PROBE_SHARE))
