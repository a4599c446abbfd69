"""`assistant chat "MESSAGE"`: one exchange, streamed to stdout as it is generated."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from assistant.commands.common import add_user_option, settings_for
from assistant.errors import AssistantError

# A paste bigger than this is refused rather than silently cut (the prompt check would
# refuse it anyway, after a long tokenization).
MAX_MESSAGE_CHARS = 2_000_000


def register(subcommands: Any) -> None:
    parser: argparse.ArgumentParser = subcommands.add_parser(
        "chat", help="send one message and print the reply (reads stdin when MESSAGE is omitted)"
    )
    parser.add_argument("message", nargs="?", help="the message; omit to read it from stdin")
    parser.add_argument("--model", help="model name or .gguf path for this call")
    add_user_option(parser)
    parser.set_defaults(handler=run)


def read_message(args: argparse.Namespace) -> str:
    if args.message is not None:
        text = args.message
    else:
        if sys.stdin is None or sys.stdin.isatty():
            raise AssistantError("no message: pass MESSAGE or pipe text on stdin")
        text = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    text = text.strip()
    if not text:
        raise AssistantError("the message is empty")
    if len(text) > MAX_MESSAGE_CHARS:
        raise AssistantError(f"the message is {len(text):,} characters; the limit is {MAX_MESSAGE_CHARS:,}")
    return text


def run(args: argparse.Namespace) -> int:
    from assistant.core import Assistant

    settings = settings_for(args, model=args.model)
    text = read_message(args)
    assistant = Assistant(settings)
    cancel = threading.Event()
    try:
        for piece in assistant.stream_reply(text, cancel=cancel):
            sys.stdout.write(piece)
            sys.stdout.flush()
    except KeyboardInterrupt:
        cancel.set()
        raise
    sys.stdout.write("\n")
    sys.stdout.flush()
    return 0
