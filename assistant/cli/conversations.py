"""`assistant conversations list | show | rename | delete`."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.cli.common import add_json_option, add_user_option, print_json, settings_for


def register(subcommands: Any) -> None:
    parser: argparse.ArgumentParser = subcommands.add_parser("conversations", help="list, show, rename or delete")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="conversations, most recent first")
    show = actions.add_parser("show", help="the messages of one conversation")
    show.add_argument("id")
    rename = actions.add_parser("rename", help="give a conversation a new title")
    rename.add_argument("id")
    rename.add_argument("title")
    delete = actions.add_parser("delete", help="delete a conversation and its messages for good")
    delete.add_argument("id")
    for sub in (listing, show, rename, delete):
        add_user_option(sub)
        add_json_option(sub)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: the engine pulls in pyarrow and numpy, which every CLI start would pay for.
    from assistant.memory.engine import MemoryEngine, iso

    with MemoryEngine.open(settings_for(args)) as engine:
        if args.action == "list":
            conversations = engine.conversations()
            if args.json:
                print_json(
                    [
                        {"id": c.id, "title": c.title, "created_at": iso(c.created_at), "updated_at": iso(c.updated_at)}
                        for c in conversations
                    ]
                )
            elif not conversations:
                print("No conversations yet.")
            for c in conversations if not args.json else []:
                print(f"{c.id}  {c.updated_at:%Y-%m-%d %H:%M}  {c.title}")
        elif args.action == "show":
            engine.require_conversation(args.id)
            messages = engine.messages(args.id)
            if args.json:
                print_json(
                    [
                        {"id": m.id, "role": str(m.role), "content": m.content, "timestamp": iso(m.created_at)}
                        for m in messages
                    ]
                )
            for m in messages if not args.json else []:
                print(f"[{m.created_at:%Y-%m-%d %H:%M}] {m.role}: {m.content}")
        elif args.action == "rename":
            engine.rename_conversation(args.id, args.title)
            print_json({"id": args.id, "title": args.title}) if args.json else print(f"Renamed to “{args.title}”.")
        else:
            count = engine.delete_conversation(args.id)
            print_json({"id": args.id, "deleted_messages": count}) if args.json else print(
                f"Deleted the conversation and its {count} message(s)."
            )
    return 0
