"""Errors a user can act on.

Every error that reaches the CLI or the TUI as an expected failure derives from
`AssistantError`; its message is one line that says what went wrong and, where possible,
how to fix it. Anything else is a bug and is allowed to show a traceback.
"""


class AssistantError(Exception):
    """An expected failure with a one-line, user-facing message."""


class ConfigError(AssistantError):
    """The config file or an ASSISTANT_* variable is invalid."""


class ModelError(AssistantError):
    """A model is missing, is not a usable GGUF file, or failed to run."""


class ContextOverflowError(ModelError):
    """The prompt does not fit in the model's context window."""


class StoreError(AssistantError):
    """The memory store cannot be opened, read or written."""


class ImportFileError(AssistantError):
    """An import file cannot be read at all (bad lines are reported, not raised)."""
