"""`assistant mcp`: serve this user's memory to other local AI tools over MCP (stdio).

An MCP client starts it as its own child process; see the README for a client's
configuration. It reads and writes the same memory space as the app and the CLI.
"""

from __future__ import annotations

import argparse
from typing import Any

from assistant.cli.common import add_user_option, settings_for


def register(subcommands: Any) -> None:
    parser: argparse.ArgumentParser = subcommands.add_parser(
        "mcp", help="serve the memory to other local AI tools over MCP (stdio)"
    )
    add_user_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from assistant.application.memory_service import MemoryService
    from assistant.mcp_server.server import serve
    from assistant.mcp_server.tools import MemoryTools
    from assistant.memory.engine import MemoryEngine

    settings = settings_for(args)
    tools = MemoryTools(lambda: MemoryService(MemoryEngine.open(settings)))
    serve(tools, user=settings.user)
    return 0
