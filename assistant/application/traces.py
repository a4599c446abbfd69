"""The context inspector's record of what the model was given for each reply.

Only ids, scores and token counts are written (no text), so forgetting stays complete: a
trace read back quotes each memory as it reads now, or "(forgotten)".
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from assistant import locations
from assistant.application.context import ContextTrace, TraceMemory
from assistant.application.prompt_state import safe_name
from assistant.memory.types import Memory


class TraceStore:
    def __init__(self, user: str, root: Path | None = None) -> None:
        self.folder = (root or locations.data_dir()) / "traces" / safe_name(user)

    def save(self, assistant_message_id: str, trace: ContextTrace) -> None:
        record = trace.as_dict()
        for section in record["sections"]:
            section["text"] = ""
        for memory in record["memories"]:
            memory["text"] = ""
        record["memory_block"] = ""
        locations.ensure_private_dir(self.folder)
        path = self.folder / f"{safe_name(assistant_message_id)}.json"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(record, handle)

    def load(self, assistant_message_id: str, lookup: Callable[[str], Memory | None]) -> ContextTrace | None:
        """The trace of a reply, each memory's text filled in from `lookup` (None: it was forgotten)."""
        path = self.folder / f"{safe_name(assistant_message_id)}.json"
        if not path.exists():
            return None
        trace = ContextTrace.from_dict(json.loads(path.read_text(encoding="utf-8")))
        for item in trace.memories:
            memory = lookup(item.id)
            item.text = memory.text if memory else "(forgotten)"
        by_section: dict[str, list[TraceMemory]] = {}
        for item in trace.memories:
            by_section.setdefault(item.section, []).append(item)
        for section in trace.sections:
            if section.name in by_section:
                section.text = "\n".join(f"- {m.text}" for m in by_section[section.name])
        return trace

    def drop_all(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
