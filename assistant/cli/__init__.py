"""The command line front end: `main` parses the arguments and runs one command module.

One module per command group; each exposes `register(subparsers)`. Handlers get the parsed
args, do their work through the application layer and return an exit code. They raise
AssistantError for expected failures; `main` prints it as one line.
"""

from assistant.cli.main import main

__all__ = ["main"]
