"""Importing lancedb with its namespace client's validators built on first use (memory/store/lancedb_import.py)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from pydantic._internal import _config
from assistant.memory.store.lancedb_import import import_lancedb
lancedb = import_lancedb()
assert _config.config_defaults["defer_build"] is False, "the default is back once lancedb is imported"
from lance_namespace_urllib3_client.models import ListTablesResponse
print("built at import", ListTablesResponse.__pydantic_complete__)
print("validates", ListTablesResponse(tables=["a"]).tables)  # built now, on first use
db = lancedb.connect(sys.argv[1])
db.create_table("notes", data=[{"id": "1", "text": "the spare key is under the blue pot"}])
print("rows", db.open_table("notes").search().where("id = '1'").to_list()[0]["text"])
from pydantic import BaseModel
class After(BaseModel):
    x: int
print("later models build at once", After.__pydantic_complete__)
"""


def test_lancedb_works_and_only_its_import_defers_pydantic_builds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "db")], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "built at import False",
        "validates ['a']",
        "rows the spare key is under the blue pot",
        "later models build at once True",
    ]
