"""`assistant memory`: see, search, change, forget, export and import what the assistant remembers."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.cli import remote
from assistant.cli.common import add_json_option, add_user_option, memories_for, print_json, settings_for
from assistant.errors import AssistantError, StoreError

KINDS = ("episodic", "semantic", "preference", "procedural", "summary")
STATUSES = ("active", "superseded", "archived")


def _time(value: str) -> datetime:
    from assistant.memory.engine import parse_time

    try:
        return parse_time(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 time: {value!r}") from None


def _importance(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError("importance must be between 0 and 1")
    return number


def _common(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    add_user_option(parser)
    add_json_option(parser)
    return parser


def register(subcommands: Any) -> None:
    from assistant.cli import maintain, memory_transfer

    parser: argparse.ArgumentParser = subcommands.add_parser(
        "memory", help="see, search, edit and forget what the assistant remembers"
    )
    add_user_option(parser)
    parser.set_defaults(handler=lambda args: parser.print_help())
    actions = parser.add_subparsers(dest="memory_command", metavar="ACTION")

    add = _common(
        actions.add_parser(
            "add",
            help="remember something, learned like “remember that …” in chat (--raw, --kind or --key: as given)",
        )
    )
    add.add_argument("text")
    add.add_argument("--raw", action="store_true", help="store the text exactly as given, as one memory")
    add.add_argument("--kind", choices=KINDS, help="store as given, as this kind (default: semantic)")
    add.add_argument("--key", help="store as given under this fact key; a new fact with the key supersedes the old")
    add.add_argument("--importance", type=_importance, default=0.5)
    add.add_argument("--pin", action="store_true", help="pin it: never decays, always preferred")
    add.add_argument("--reason", default="added by the user from the command line")
    add.set_defaults(handler=_add)

    search = _common(actions.add_parser("search", help="recall memories for a query (or one query per stdin line)"))
    search.add_argument("query", nargs="?", help="the query; without it, read one query per line from stdin")
    search.add_argument("--k", type=int, default=None, help="how many results (default: the recall_k setting)")
    search.add_argument("--kind", choices=KINDS, action="append", help="only these kinds (repeatable)")
    search.add_argument("--status", choices=STATUSES, action="append", help="only these statuses (default: active)")
    search.add_argument("--since", type=_time, help="only memories created at or after this time")
    search.add_argument("--until", type=_time, help="only memories created at or before this time")
    search.set_defaults(handler=_search)

    listing = _common(actions.add_parser("list", help="list memories, newest first"))
    listing.add_argument("--kind", choices=KINDS, action="append")
    listing.add_argument("--status", choices=STATUSES, action="append", help="default: every status")
    listing.add_argument("--limit", type=int, default=None)
    listing.set_defaults(handler=_list)

    show = _common(actions.add_parser("show", help="a memory with its sources and history"))
    show.add_argument("id")
    show.set_defaults(handler=_show)

    edit = _common(actions.add_parser("edit", help="change a memory's text, key, kind or importance"))
    edit.add_argument("id")
    edit.add_argument("text", nargs="?")
    edit.add_argument("--key")
    edit.add_argument("--kind", choices=KINDS)
    edit.add_argument("--importance", type=_importance)
    edit.add_argument("--reason", default="edited by the user from the command line")
    edit.set_defaults(handler=_edit)

    for name, help_text in (
        ("pin", "pin memories"),
        ("unpin", "unpin memories"),
        ("archive", "archive memories (kept, not recalled)"),
        ("restore", "make archived or superseded memories active again"),
    ):
        action = _common(actions.add_parser(name, help=help_text))
        action.add_argument("ids", nargs="+", metavar="ID")
        action.add_argument("--reason", default=f"{name} from the command line")
        action.set_defaults(handler=_change, change=name)

    forget = _common(actions.add_parser("forget", help="delete memories for good (from every file on disk)"))
    forget.add_argument("ids", nargs="*", metavar="ID")
    forget.add_argument("--all", action="store_true", help="delete the whole memory space of this user")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation with --all")
    forget.add_argument("--with-sources", action="store_true", help="also delete the messages they came from")
    forget.add_argument("--reason", default="forgotten at the user's request")
    forget.set_defaults(handler=_forget)

    export = _common(actions.add_parser("export", help="write the whole memory space to a file"))
    export.add_argument("file", type=Path)
    export.set_defaults(handler=memory_transfer.export)

    importing = _common(
        actions.add_parser(
            "import", help="import a ChatGPT or Claude data export (zip, folder or file), JSON Lines or an export file"
        )
    )
    importing.add_argument(
        "file", type=Path, nargs="?", help="omit to finish learning from earlier imports (after a kill, or --no-learn)"
    )
    importing.add_argument(
        "--no-learn", action="store_true", help="only import; learn from the imported messages on a later import"
    )
    importing.set_defaults(handler=memory_transfer.import_file)

    stats = _common(actions.add_parser("stats", help="counts and sizes of this memory space"))
    stats.set_defaults(handler=_stats)

    maintain.register(actions)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _add(args: argparse.Namespace) -> int:
    """Learned like "remember that TEXT" (keys, the profile) unless the user says how to store it."""
    from assistant.service import memory_ops

    fields = dict(
        raw=args.raw, kind=args.kind, key=args.key, importance=args.importance, pin=args.pin, reason=args.reason
    )
    served = remote.call(settings_for(args), "memory.add", text=args.text, json=args.json, **fields)
    if served is not None:
        return _write(served["output"])
    with memories_for(args) as memories:
        return _write(memory_ops.add_text(memories, args.text, as_json=args.json, **fields))


def _write(output: str) -> int:
    sys.stdout.write(output)
    sys.stdout.flush()
    return 0


def _search(args: argparse.Namespace) -> int:
    from assistant.service import memory_ops

    if args.k is not None and args.k < 1:
        raise AssistantError("--k must be at least 1")
    if args.query is not None and not args.query.strip():
        # An empty query would be embedded like any text and "find" whatever lies nearest it.
        raise AssistantError("the query is empty: give words to search for, or one query per line on stdin")
    # Batch mode: one query per stdin line, embedded together, answered in order.
    queries = None if args.query is not None else [line.rstrip("\r\n") for line in sys.stdin]
    served = remote.call(
        settings_for(args),
        "memory.search",
        query=args.query,
        queries=queries,
        k=args.k,
        kinds=args.kind,
        statuses=args.status,
        since=_iso(args.since),
        until=_iso(args.until),
        json=args.json,
    )
    if served is not None:
        return _write(served["output"])
    filters = memory_ops.search_filter(args.kind, args.status, args.since, args.until)
    with memories_for(args) as memories:
        if queries is None:
            return _write(memory_ops.search_text(memories, args.query, args.k, filters, args.json))
        for output in memory_ops.search_batch(memories, queries, args.k, filters, args.json):
            _write(output)
    return 0


def _one_line(memory: Any) -> str:
    from assistant.service.memory_ops import one_line

    return one_line(memory)


def _list(args: argparse.Namespace) -> int:
    from assistant.service import memory_ops

    served = remote.call(
        settings_for(args), "memory.list", kinds=args.kind, statuses=args.status, limit=args.limit, json=args.json
    )
    if served is not None:
        return _write(served["output"])
    with memories_for(args) as memories:
        return _write(memory_ops.list_text(memories, args.kind, args.status, args.limit, args.json))


def _print_memory(args: argparse.Namespace, memory: Any, suffix: str = "") -> None:
    from assistant.service.memory_ops import memory_text

    _write(memory_text(memory, args.json, suffix))


def _show(args: argparse.Namespace) -> int:
    from assistant.memory.engine import iso, memory_list_json

    with memories_for(args) as memories:
        detail = memories.detail(args.id)
        if detail is None:
            raise StoreError(f"no memory {args.id!r} for user {memories.user!r}")
        memory, sources, history = detail.memory, detail.sources, detail.history
    if args.json:
        print_json(
            {
                **memory_list_json(memory),
                "importance": memory.importance,
                "access_count": memory.access_count,
                "last_accessed": iso(memory.last_accessed),
                "updated_at": iso(memory.updated_at),
                "valid_from": iso(memory.valid_from),
                "valid_to": iso(memory.valid_to),
                "origin": str(memory.origin),
                "superseded_by": memory.superseded_by,
                "speaker": memory.speaker,
                "context": memory.context,
                "source_messages": [
                    {
                        "id": m.id,
                        "role": str(m.role),
                        "speaker": m.speaker,
                        "content": m.content,
                        "timestamp": iso(m.created_at),
                        "session_id": m.conversation_id,
                    }
                    for m in sources
                ],
                "audit": [
                    {"action": a.action, "reason": a.reason, "at": iso(a.at), "detail": a.detail} for a in history
                ],
            }
        )
        return 0
    print(f"{memory.id}  [{memory.kind}, {memory.status}{', pinned' if memory.pinned else ''}]")
    print(memory.text)
    print(
        f"key: {memory.key or '-'}   importance: {memory.importance:.2f}   strength: {memory.strength:.2f}   "
        f"used: {memory.access_count}x   origin: {memory.origin}"
    )
    print(f"created: {iso(memory.created_at)}   last used: {iso(memory.last_accessed) or 'never'}")
    if memory.context:
        print(f"in reply to: {memory.context}")
    if memory.superseded_by:
        print(f"superseded by: {memory.superseded_by}")
    print("sources:" if memory.sources else "sources: none (added directly)")
    for message in sources:
        print(f"  {message.id}  {iso(message.created_at)}  {message.speaker or message.role}: {message.content}")
    missing = set(memory.sources) - {message.id for message in sources}
    for source in sorted(missing):
        print(f"  {source}  (message no longer stored)")
    print("history:")
    for entry in history:
        print(f"  {iso(entry.at)}  {entry.action}: {entry.reason}" + (f" ({entry.detail})" if entry.detail else ""))
    return 0


def _edit(args: argparse.Namespace) -> int:
    from assistant.memory.types import Kind

    if args.text is None and args.key is None and args.kind is None and args.importance is None:
        raise AssistantError("nothing to change: give new text, --key, --kind or --importance")
    with memories_for(args) as memories:
        memory = memories.edit(
            args.id,
            text=args.text,
            key=args.key,
            kind=Kind(args.kind) if args.kind else None,
            importance=args.importance,
            reason=args.reason,
        )
        _print_memory(args, memory)
    return 0


def _change(args: argparse.Namespace) -> int:
    from assistant.memory.engine import memory_list_json

    with memories_for(args) as memories:
        for memory_id in args.ids:
            memories.require(memory_id)
        change = {
            "pin": lambda memory_id: memories.set_pinned(memory_id, True, reason=args.reason),
            "unpin": lambda memory_id: memories.set_pinned(memory_id, False, reason=args.reason),
            "archive": lambda memory_id: memories.set_archived(memory_id, True, reason=args.reason),
            "restore": lambda memory_id: memories.set_archived(memory_id, False, reason=args.reason),
        }[args.change]
        changed = [change(memory_id) for memory_id in args.ids]
    if args.json:
        print_json([memory_list_json(memory) for memory in changed])
    else:
        for memory in changed:
            _print_memory(args, memory)
    return 0


def _forget(args: argparse.Namespace) -> int:
    if args.all == bool(args.ids):
        raise AssistantError("give memory ids to forget, or --all to delete the whole memory space")
    if not args.all:
        from assistant.service import memory_ops

        fields = dict(reason=args.reason, with_sources=args.with_sources)
        served = remote.call(settings_for(args), "memory.forget", ids=args.ids, json=args.json, **fields)
        if served is not None:
            return _write(served["output"])
        with memories_for(args) as memories:
            return _write(memory_ops.forget_text(memories, args.ids, as_json=args.json, **fields))
    with memories_for(args) as memories:
        if not args.yes:
            if not sys.stdin.isatty():
                raise AssistantError("forget --all deletes everything; add --yes to confirm")
            answer = input(f"Delete every memory, message and the profile of user {memories.user!r}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing deleted")
                return 1
        memories.forget_all(reason=args.reason)
        user = memories.user
    if args.json:
        print_json({"forgotten": "all", "user": user})
    else:
        print(f"deleted the whole memory space of {user!r}")
    return 0


def _stats(args: argparse.Namespace) -> int:
    with memories_for(args) as memories:
        stats = memories.stats()
    if args.json:
        print_json(stats)
        return 0
    print(f"user: {stats['user']}")
    print(f"memories: {stats['memories']}  ({', '.join(f'{k} {v}' for k, v in sorted(stats['by_kind'].items()))})")
    print(f"status: {', '.join(f'{k} {v}' for k, v in sorted(stats['by_status'].items())) or '-'}")
    print(f"pinned: {stats['pinned']}   messages: {stats['messages']}   conversations: {stats['conversations']}")
    print(f"audit entries: {stats['audit_entries']}   profile fields: {stats['profile_fields']}")
    print(f"store: {stats['store']}  ({stats['size_bytes'] / 1e6:.1f} MB)")
    return 0
