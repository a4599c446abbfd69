"""One exchange as the front ends see it: what was said, what the model was given, what changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from assistant.application.context import ContextTrace
from assistant.llm.runner import GenerationStats
from assistant.memory.types import Memory, new_id, utcnow


@dataclass
class Turn:
    conversation_id: str | None
    user_text: str  # as stored: secrets redacted
    user_message_id: str | None = None
    assistant_message_id: str | None = None
    reply: str = ""
    trace: ContextTrace = field(default_factory=ContextTrace)
    stats: GenerationStats | None = None
    notices: list[str] = field(default_factory=list)
    is_command: bool = False
    incognito: bool = False
    used_memory: bool = True
    stopped: bool = False
    at: datetime = field(default_factory=utcnow)
    saved_ids: list[str] = field(default_factory=list)  # memories a command saved (for undo)

    def ensure_user_message_id(self) -> str:
        """Give the user message its id before it is stored, so memories can cite it as their source."""
        if self.user_message_id is None:
            self.user_message_id = new_id()
        return self.user_message_id


@dataclass
class LearnReport:
    """What learning from one turn changed in memory."""

    saved: list[Memory] = field(default_factory=list)
    reinforced: list[Memory] = field(default_factory=list)
    superseded: list[Memory] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.saved or self.reinforced or self.superseded)
