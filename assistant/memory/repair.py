"""Find damaged LanceDB tables and bring each back to its last version that reads in full.

LanceDB keeps every committed version as a manifest under `<table>.lance/_versions/`. A
truncated or damaged data file breaks every version that references it; a damaged manifest
breaks only its own version. Repair reads each table at its newest version, and for a damaged
table walks back through the versions until one reads completely, then makes that version
the latest again by removing the newer manifests (they describe states that cannot be read).
Tables that are healthy are not touched, so the rest of the store is never lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.errors import StoreError

U64_MAX = 2**64 - 1
BACKUP_HINT = "restore a backup with: assistant restore FILE --force"


@dataclass
class TableHealth:
    name: str
    ok: bool
    version: int | None = None
    rows: int | None = None
    problem: str | None = None
    repaired_to: int | None = None
    dropped_versions: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def describe_error(error: BaseException) -> str:
    """The first useful line of a lance/arrow error, without the Rust source location."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    for marker in (", /rustc/", ", /root/", ", /home/"):
        text = text.split(marker)[0]
    return text.removeprefix("lance error: ").removeprefix("External error: ")[:200]


def looks_like_damage(error: BaseException) -> bool:
    """Whether an exception from a read or write is a damaged store rather than a bug."""
    text = str(error)
    return "LanceError" in text or "lance error" in text or "Parquet error" in text or "ArrowInvalid" in text


def damage_error(error: BaseException) -> StoreError:
    return StoreError(f"the memory store is damaged ({describe_error(error)}); run: assistant doctor --repair")


def table_dirs(memory_dir: Path) -> list[Path]:
    if not memory_dir.is_dir():
        return []
    return sorted(path for path in memory_dir.glob("*.lance") if path.is_dir())


def manifest_versions(table_dir: Path) -> dict[int, Path]:
    """Every version with a manifest file, read from the file names (so a damaged latest manifest is no obstacle)."""
    found: dict[int, Path] = {}
    folder = table_dir / "_versions"
    if not folder.is_dir():
        return found
    for manifest in folder.glob("*.manifest"):
        try:
            number = int(manifest.stem)
        except ValueError:
            continue
        # Newer lance names manifests U64_MAX - version so the latest sorts first.
        version = U64_MAX - number if number > 2**63 else number
        found[version] = manifest
    return found


def expected_columns(name: str) -> set[str]:
    from assistant.memory import store

    schemas = {
        store.MEMORIES: store.memory_schema(1),
        store.MESSAGES: store.MESSAGE_SCHEMA,
        store.CONVERSATIONS: store.CONVERSATION_SCHEMA,
        store.PROFILES: store.PROFILE_SCHEMA,
        store.AUDIT: store.AUDIT_SCHEMA,
        store.META: store.META_SCHEMA,
    }
    schema = schemas.get(name)
    return set(schema.names) if schema is not None else set()


def _read_all(table_dir: Path, version: int | None) -> tuple[int, int]:
    """Read every row and column of one version; returns (version, rows) or raises."""
    import lance

    dataset = lance.dataset(str(table_dir), version=version)
    missing = expected_columns(table_dir.name.removesuffix(".lance")) - set(dataset.schema.names)
    if missing:
        # A zeroed manifest can parse as an empty table: that is damage, not an empty store.
        raise StoreError(f"version {dataset.version} is missing {len(missing)} of its columns")
    rows = 0
    for batch in dataset.to_batches():
        rows += batch.num_rows
    if rows != dataset.count_rows():
        raise StoreError(f"read {rows} rows but the manifest says {dataset.count_rows()}")
    return dataset.version, rows


def check_table(table_dir: Path) -> TableHealth:
    name = table_dir.name.removesuffix(".lance")
    try:
        version, rows = _read_all(table_dir, None)
    except Exception as error:  # lance reports damage as OSError, ValueError or RuntimeError
        return TableHealth(name, False, problem=describe_error(error))
    return TableHealth(name, True, version=version, rows=rows)


def check_store(memory_dir: Path) -> list[TableHealth]:
    return [check_table(path) for path in table_dirs(memory_dir)]


def _good_versions(table_dir: Path) -> Iterator[tuple[int, int]]:
    for version in sorted(manifest_versions(table_dir), reverse=True):
        try:
            yield _read_all(table_dir, version)
        except Exception:  # this version is damaged too: try the one before it
            continue


def repair_table(table_dir: Path) -> TableHealth:
    health = check_table(table_dir)
    if health.ok:
        return health
    versions = manifest_versions(table_dir)
    good = next(_good_versions(table_dir), None)
    if good is None:
        health.problem = f"{health.problem}; no earlier version is readable"
        return health
    version, rows = good
    newer = [path for number, path in versions.items() if number > version]
    for manifest in newer:
        manifest.unlink()
    hint = table_dir / "_versions" / "latest_version_hint.json"
    hint.unlink(missing_ok=True)
    after = check_table(table_dir)
    if not after.ok:
        health.problem = f"{health.problem}; rolling back to version {version} did not help: {after.problem}"
        return health
    return TableHealth(
        health.name,
        True,
        version=after.version,
        rows=after.rows,
        problem=health.problem,
        repaired_to=version,
        dropped_versions=len(newer),
    )


def _rebuild_text_index(memory_dir: Path) -> str | None:
    """A damaged full-text index breaks search but not the rows: rebuild it when a probe fails."""
    from assistant.memory.store.lancedb_import import import_lancedb

    lancedb = import_lancedb()
    from lancedb.index import FTS

    from assistant.memory.store import FTS_COLUMN, MEMORIES

    if not (memory_dir / f"{MEMORIES}.lance").is_dir():
        return None
    table = lancedb.connect(str(memory_dir)).open_table(MEMORIES)
    if not any(index.index_type == "FTS" for index in table.list_indices()):
        return None
    try:
        table.search("probe", query_type="fts").limit(1).to_list()
        return None
    except Exception as error:  # damaged index files fail in lance-specific ways
        table.create_index(FTS_COLUMN, config=FTS(), replace=True)
        return describe_error(error)


def repair_store(memory_dir: Path) -> list[TableHealth]:
    """Repair every damaged table in place; healthy tables are left exactly as they are."""
    results = [repair_table(path) for path in table_dirs(memory_dir)]
    if all(result.ok for result in results):
        try:
            problem = _rebuild_text_index(memory_dir)
        except Exception as error:  # the index cannot even be rebuilt: report it, rows are safe
            results.append(TableHealth("memories (text index)", False, problem=describe_error(error)))
        else:
            if problem is not None:
                results.append(TableHealth("memories (text index)", True, problem=problem, repaired_to=0))
    return results


def summary_line(result: TableHealth) -> str:
    if result.ok and result.problem is None:
        return f"{result.name}: ok ({result.rows} rows, version {result.version})"
    if result.ok and result.repaired_to == 0:
        return f"{result.name}: rebuilt (was: {result.problem})"
    if result.ok:
        return (
            f"{result.name}: repaired, back to version {result.repaired_to} with {result.rows} rows "
            f"({result.dropped_versions} damaged newer version(s) dropped; was: {result.problem})"
        )
    return f"{result.name}: damaged and not repairable ({result.problem}); {BACKUP_HINT}"


def dumps(results: list[TableHealth]) -> str:
    return json.dumps([result.as_dict() for result in results])
