"""`assistant`: parse arguments, load settings, run a command or open the TUI.

Exit codes are a public contract: 0 success, 1 runtime failure (one line on stderr, no
traceback), 2 usage error (argparse's own exit code).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from assistant import __version__
from assistant.errors import AssistantError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

COMMAND_MODULES = ("chat", "conversations", "memory", "models", "doctor", "backup", "mcp", "serve")


def _stay_offline() -> None:
    # The hub libraries must never phone home: only `models pull` opts back in.
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="A private assistant that remembers. With no command, opens the chat app.",
    )
    parser.add_argument("--version", action="version", version=f"assistant {__version__}")
    parser.add_argument("--user", help="memory space to use (default: the 'user' setting)")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"assistant.cli.{name}").register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _stay_offline()
    os.umask(0o077)  # lance and sqlite create files with the umask's mode; the user's life is owner-only
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Plain `assistant` opens the app: skipping the parsers (and every command module they
    # import) brings its first frame sooner.
    args = build_parser().parse_args(arguments) if arguments else argparse.Namespace(command=None, user=None)
    try:
        if args.command is None:
            from assistant.tui.launch import run_tui

            return run_tui(user=args.user)
        return int(args.handler(args) or EXIT_OK)
    except AssistantError as error:
        print(f"assistant: error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except (OSError, RuntimeError, ValueError) as error:
        # A damaged memory store surfaces as a lance/arrow error from whichever read hits it first.
        from assistant.memory.repair import damage_error, looks_like_damage

        if not looks_like_damage(error):
            raise
        print(f"assistant: error: {damage_error(error)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("assistant: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`assistant ... | head`): not an error worth a traceback.
        sys.stderr.close()
        return EXIT_OK
