"""`assistant chat "MESSAGE"`: one exchange, streamed to stdout as it is generated.

By default the message continues the most recent conversation and uses memory; what it
learns is saved before the command exits, so the next process can recall it. When the
local service answers (the `service` setting), the exchange runs there, on the warm model,
and this process only prints what it streams back: the same bytes as in-process.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from assistant.cli import remote
from assistant.cli.common import add_user_option, settings_for
from assistant.config import Settings
from assistant.errors import AssistantError

if TYPE_CHECKING:
    from assistant.application.context import ContextTrace

# A paste bigger than this is refused rather than silently cut (the prompt check would
# refuse it anyway, after a long tokenization).
MAX_MESSAGE_CHARS = 2_000_000


def register(subcommands: Any) -> None:
    parser: argparse.ArgumentParser = subcommands.add_parser(
        "chat", help="send one message and print the reply (reads stdin when MESSAGE is omitted)"
    )
    parser.add_argument("message", nargs="?", help="the message; omit to read it from stdin")
    parser.add_argument(
        "--model",
        help="for this call: a model name, a .gguf path or an OpenAI-compatible server's http://HOST:PORT/v1#MODEL",
    )
    add_user_option(parser)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--conversation", metavar="ID", help="continue this conversation")
    where.add_argument("--new", action="store_true", help="start a new conversation")
    where.add_argument("--incognito", action="store_true", help="store nothing from this exchange")
    parser.add_argument("--no-memory", action="store_true", help="neither recall nor learn memories")
    parser.add_argument("--show-context", action="store_true", help="print what the model was given")
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


def format_trace(trace: ContextTrace) -> str:
    from assistant.service.memory_ops import trace_text

    return trace_text(trace)


def _through_service(settings: Settings, args: argparse.Namespace, text: str) -> Iterator[dict[str, Any]] | None:
    if args.model is not None:
        return None  # a model for this one call: never the service's
    return remote.stream(
        settings,
        "chat",
        text=text,
        conversation=args.conversation,
        new=args.new,
        incognito=args.incognito,
        no_memory=args.no_memory,
        show_context=args.show_context,
    )


def _print_served(events: Iterator[dict[str, Any]]) -> int:
    """Print what the service streams exactly as the in-process path prints it."""
    notices: list[str] = []
    replied = False
    try:
        for event in events:
            kind = event.get("event")
            if kind == "piece":
                sys.stdout.write(event["text"])
                sys.stdout.flush()
            elif kind == "reply":
                replied = True
                sys.stdout.write("\n")
                if event.get("trace") is not None:
                    sys.stdout.write(event["trace"] + "\n")
                sys.stdout.flush()
            elif kind == "done":
                notices = list(event.get("notices") or [])
    except AssistantError:
        if not replied:
            raise
        # The reply was whole and its learning queued on disk: the next command finishes it.
        raise AssistantError(
            "the service stopped before its learning from this message finished; the next command finishes it"
        ) from None
    for notice in notices:
        print(notice, file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    settings = settings_for(args, model=args.model)
    text = read_message(args)
    served = _through_service(settings, args, text)
    if served is not None:
        return _print_served(served)
    return _in_process(settings, args, text)


def _in_process(settings: Settings, args: argparse.Namespace, text: str) -> int:
    from assistant.application.scheduler import Scheduler
    from assistant.application.session import Assistant
    from assistant.application.views import LearningResult

    assistant = Assistant(settings)
    use_memory = False if args.no_memory else None
    conversation_id = args.conversation
    if conversation_id is None and not (args.new or args.incognito):
        conversation_id = assistant.latest_conversation_id()
    elif conversation_id is not None:
        assistant.engine.require_conversation(conversation_id)
    # Learning goes through the scheduler's persisted queue, as in the app: a run killed before
    # its learning finished loses nothing, the next run (or the app) finishes it first.
    learned: list[str] = []

    def collect(result: LearningResult) -> None:
        learned.extend(result.report.notices)

    jobs = Scheduler(assistant, on_stated=collect, on_learned=collect)
    jobs.start()
    cancel = threading.Event()
    replying = time.perf_counter()
    try:
        for piece in assistant.stream_reply(
            text, conversation_id=conversation_id, cancel=cancel, use_memory=use_memory, incognito=args.incognito
        ):
            sys.stdout.write(piece)
            sys.stdout.flush()
    except KeyboardInterrupt:
        cancel.set()
        jobs.close()
        raise
    sys.stdout.write("\n")
    turn = assistant.last_turn
    if turn is not None and args.show_context:
        sys.stdout.write(format_trace(turn.trace) + "\n")
    sys.stdout.flush()
    if turn is not None and not turn.incognito:  # an incognito message is never written anywhere
        jobs.queue_learning(turn)
    # What the user said outright is saved before exit. The model's own reading may take as long as
    # the reply did and no longer: what is left stays queued, and the next run or the service finishes it.
    jobs.wait_idle(stated_only=True)
    if not jobs.wait_idle(timeout=max(1.0, time.perf_counter() - replying)):
        learned.append("The model is still reading this exchange; the next run of the assistant finishes it.")
    jobs.close()
    for notice in [*(turn.notices if turn else []), *learned]:
        print(notice, file=sys.stderr)
    assistant.close()
    return 0
