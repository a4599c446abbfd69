"""Chat history exported from other assistants (ChatGPT, Claude), read as conversations.

Headless and store-free: `open_export` finds the conversations files in a data export (the
zip as downloaded, its folder, or one conversations file), `read_export` streams its
conversations one at a time, each parsed by the reader of its format (detected by content).
"""

from assistant.memory.exports.archive import ExportSource, open_export, read_export
from assistant.memory.exports.model import BadEntry, ImportedConversation, ImportedMessage

__all__ = ["BadEntry", "ExportSource", "ImportedConversation", "ImportedMessage", "open_export", "read_export"]
