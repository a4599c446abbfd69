"""The Lance file format the store writes, and the one-time rewrite of a table kept in another.

Lance 2.2 (pylance 14's default) reads a column whose every value in a data file is the same
(`pinned` all false, one `origin`, `access_count` all 0: common in one person's store) by
decoding it whole: taking 100 rows of such a column cost 2.5 ms at 1M rows, whatever the
number of rows, against 0.3 ms in 2.1. Recall's take of its candidates' columns (candidate_rows.py)
went from 19.5 to 5.6 ms at 1M rows, and recall's p95 from 77-89 to 53-60 ms. Format 2.1 is
the previous stable format: every Lance release reads it.

A table written in another format is rewritten once, when the store opens (under its schema
lock, so the store's other processes of this version wait). The rewrite commits only on top of
the version it read: a write by another process in between (an older version of the app still
running) makes it give up and leave the table as it was, to try again at the next open.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

FILE_FORMAT = "2.1"
REWRITE_ATTEMPTS = 3
REWRITE_BATCH_ROWS = 20_000  # read and written this many rows at a time: a big table never sits in memory whole

log = logging.getLogger(__name__)


class TableMoved(Exception):
    """Another process committed to the table while it was being rewritten."""


def file_format(table: Any) -> str:
    """The format `table` writes its data files in ("2.1", "2.2", ...)."""
    return str(table.to_lance().data_storage_version)


def _commit_only_as(expected: int) -> Callable[[int], contextlib.AbstractContextManager[None]]:
    """A commit lock that lets the rewrite commit only as version `expected`: Lance would
    otherwise put an overwrite on top of any version committed meanwhile, and lose that write."""

    @contextlib.contextmanager
    def lock(version: int) -> Iterator[None]:
        if version != expected:
            raise TableMoved(f"the table moved on to version {version - 1} during the rewrite")
        yield

    return lock


def settle_file_format(table: Any) -> bool:
    """Rewrite `table` in FILE_FORMAT if it is kept in another; True if it was rewritten (its
    indexes are then gone: the caller builds them again)."""
    try:
        if file_format(table) == FILE_FORMAT:
            return False
        rewritten = rewrite_in_file_format(table)
    except (OSError, RuntimeError, ValueError) as error:  # a damaged table: the store's own checks say so
        log.info("memories not rewritten in Lance format %s: %s", FILE_FORMAT, error)
        return False
    if not rewritten:
        log.info("memories not rewritten in Lance format %s: other writes kept getting in; next time", FILE_FORMAT)
    return rewritten


def rewrite_in_file_format(table: Any) -> bool:
    """Rewrite `table`'s rows in FILE_FORMAT; True once it is in it. Its indexes are gone
    afterwards (the caller builds them again); False if other writes kept getting in between."""
    import lance

    for _ in range(REWRITE_ATTEMPTS):
        table.checkout_latest()
        dataset = table.to_lance()  # one version: the rows are read from it while the new files are written
        if str(dataset.data_storage_version) == FILE_FORMAT:
            return True
        try:
            lance.write_dataset(
                dataset.to_batches(batch_size=REWRITE_BATCH_ROWS),
                dataset.uri,
                schema=dataset.schema,
                mode="overwrite",
                data_storage_version=FILE_FORMAT,
                commit_lock=_commit_only_as(dataset.version + 1),
            )
        except OSError as error:  # the lock's refusal comes back wrapped by Lance
            if TableMoved.__name__ not in str(error):
                raise
            log.info("table %s changed during its rewrite; trying again", dataset.uri)
            continue
        table.checkout_latest()
        return True
    return False
