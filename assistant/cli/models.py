"""`assistant models list|add|use|show|remove|pull`: the chat models this app can use.

Models come from four places: the bundled starter (inside a Python package), files the
user added with `models add`, catalog entries downloaded with `models pull` (those two live
in `<data>/models/<name>.gguf`), and models other tools (Ollama, LM Studio, the Hugging Face
cache, GPT4All, Jan, llama.cpp) already downloaded, used where they lie.
`pull` is the only command that uses the network.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from assistant import locations
from assistant.application.model_manager import TOOLS, megabytes, model_listing
from assistant.cli.common import add_json_option, print_json
from assistant.config import Settings, load_settings, save_settings
from assistant.errors import ModelError
from assistant.llm.architectures import APPEND_ONLY_NOTE, append_only_cache
from assistant.llm.catalog import (
    GGUF_SUFFIX,
    installed_path,
    load_catalog,
    resolve_model,
)
from assistant.llm.discovery import is_found_name
from assistant.llm.gguf import GGUFInfo, inspect_gguf

STARTER_MODEL: str = Settings.model_fields["model"].default
_VALID_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def register(subcommands: Any) -> None:
    parser: argparse.ArgumentParser = subcommands.add_parser(
        "models", help="list, add, choose, remove and download chat models"
    )
    actions = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="catalog and installed models; marks the active one")
    add_json_option(listing)
    listing.set_defaults(handler=run_list)

    add = actions.add_parser("add", help="validate a .gguf file and copy (or link) it in")
    add.add_argument("path", help="path to a GGUF model file")
    add.add_argument("--name", help="name to use it by (default: the file name without .gguf)")
    add.add_argument("--link", action="store_true", help="symlink the file instead of copying it")
    add.add_argument("--force", action="store_true", help="replace an added model with the same name")
    add.set_defaults(handler=run_add)

    use = actions.add_parser("use", help="make NAME (a .gguf path, or http://HOST:PORT/v1#MODEL) the active chat model")
    use.add_argument("name", help="a name from `models list`, a .gguf path, or an OpenAI-compatible server's address")
    use.set_defaults(handler=run_use)

    show = actions.add_parser("show", help="where a model's file is and what its header says")
    show.add_argument("name", help="a model name from `models list`, or a path to a .gguf file")
    add_json_option(show)
    show.set_defaults(handler=run_show)

    remove = actions.add_parser("remove", help="delete an added or downloaded model")
    remove.add_argument("name")
    remove.set_defaults(handler=run_remove)

    pull = actions.add_parser("pull", help="download a catalog model from the Hugging Face hub (uses the network)")
    pull.add_argument("name", help="a catalog model name from `models list`")
    pull.add_argument("--force", action="store_true", help="download again even if it is already installed")
    pull.set_defaults(handler=run_pull)


# -- list --------------------------------------------------------------------------------


def _status(row: dict[str, Any]) -> str:
    if row["source"] == "catalog":
        return f"not downloaded: assistant models pull {row['name']}"
    if row.get("problem"):
        return f"found, CANNOT BE USED: {row['problem']}"
    if row["source"] in TOOLS:
        context = f"{row['context_length']:,} ctx" if row.get("context_length") else "ctx ?"
        parts = f", {row['parts']} parts" if row.get("parts", 1) > 1 else ""
        active = ", active" if row["active"] else ""
        return f"found by {TOOLS[row['source']]} ({row['architecture']}, {context}{parts}){active}"
    words = [row["source"]] if row["available"] else [row["source"], "MISSING FILE"]
    if row["active"]:
        words.append("active")
    return ", ".join(words)


def run_list(args: argparse.Namespace) -> int:
    rows = model_listing(load_settings().model)
    if args.json:
        print_json(rows)
        return 0
    # Found models' names can be long: they overflow their own line instead of widening every row.
    width = min(max(len(row["name"]) for row in rows), 32)
    licence_width = max(len(row["license"] or "-") for row in rows)
    lines = []
    for row in rows:
        marker = "*" if row["active"] else " "
        size = f"{row['size_mb']:,} MB" if row["size_mb"] is not None else "?"
        licence = row["license"] or "-"
        lines.append(f"{marker} {row['name']:<{width}}  {size:>9}  {licence:<{licence_width}}  {_status(row)}")
        if row["why"]:
            lines.append(f"  {'':<{width}}  {row['why']}")
        if row["source"] in TOOLS:
            lines.append(f"  {'':<{width}}  {row['path']}")
        if row.get("append_only_cache"):
            lines.append(f"  {'':<{width}}  {APPEND_ONLY_NOTE}")
    lines.append("")
    lines.append("* = active.  Use one with `assistant models use NAME`; download with `assistant models pull NAME`.")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


# -- add / use / remove ------------------------------------------------------------------


def _describe(info: GGUFInfo) -> str:
    context = f"{info.context_length:,} tokens" if info.context_length else "unknown"
    template = "yes" if info.chat_template else "no (ChatML will be used)"
    return f"architecture {info.architecture}, context {context}, chat template: {template}"


def _check_name(name: str) -> str:
    if name.endswith(GGUF_SUFFIX):
        name = name[: -len(GGUF_SUFFIX)]
    if not _VALID_NAME.match(name):
        raise ModelError(f"invalid model name {name!r}: use letters, digits, '.', '_' and '-'")
    entry = load_catalog().get(name)
    if entry is not None and entry.bundled:
        raise ModelError(f"{name!r} is the bundled model's name; pick another with --name")
    return name


def run_add(args: argparse.Namespace) -> int:
    source = Path(args.path).expanduser()
    info = inspect_gguf(source)
    name = _check_name(args.name or source.name)
    target = installed_path(name)
    if (target.exists() or target.is_symlink()) and not args.force:
        raise ModelError(f"a model named {name!r} already exists; pass --force to replace it or --name to rename")
    folder = locations.ensure_private_dir(locations.models_dir())
    temporary = folder / f".{name}.adding"
    try:
        temporary.unlink(missing_ok=True)
        if args.link:
            temporary.symlink_to(source.resolve())
        else:
            shutil.copyfile(source, temporary)
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ModelError(f"cannot {'link' if args.link else 'copy'} {source} into {folder}: {error.strerror}") from None
    how = "linked" if args.link else "copied"
    print(f"added {name!r} ({how}, {megabytes(info.file_size):,} MB): {_describe(info)}")
    print(f"use it with: assistant models use {name}")
    return 0


def run_use(args: argparse.Namespace) -> int:
    from assistant.llm.remote import Endpoint, RemoteRunner, is_endpoint

    if is_endpoint(args.name):  # a model on the user's own OpenAI-compatible server
        runner = RemoteRunner(Endpoint.parse(args.name))
        served = runner.info  # reaches the server now, so a typo is caught before it is saved
        value = f"{runner.endpoint.base}#{served.name}"
        where = save_settings({"model": value})
        print(f"active model: {served.name}, served by {runner.endpoint.base} (memory stays on this computer)")
        print(f"saved in {where}")
        return 0
    resolved = resolve_model(args.name)
    info = inspect_gguf(resolved.path)
    is_path = not is_found_name(args.name) and (
        args.name.endswith(GGUF_SUFFIX) or "/" in args.name or Path(args.name).expanduser().is_absolute()
    )
    value = str(resolved.path.resolve()) if is_path else resolved.name
    where = save_settings({"model": value})
    print(f"active model: {value} ({_describe(info)})")
    print(f"saved in {where}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    resolved = resolve_model(args.name)
    info = inspect_gguf(resolved.path)
    details = {
        "name": resolved.name,
        "path": str(resolved.path),
        "size_mb": megabytes(info.file_size),
        "architecture": info.architecture,
        "model_name": info.name,
        "context_length": info.context_length,
        "chat_template": info.chat_template is not None,
        "append_only_cache": append_only_cache(info.architecture),
    }
    if args.json:
        print_json(details)
        return 0
    print(f"{resolved.name}: {resolved.path}")
    print(f"{info.name}, {megabytes(info.file_size):,} MB, {_describe(info)}")
    if details["append_only_cache"]:
        print(APPEND_ONLY_NOTE)
    return 0


def run_remove(args: argparse.Namespace) -> int:
    name = args.name
    entry = load_catalog().get(name)
    if entry is not None and entry.bundled:
        raise ModelError(f"{name!r} is bundled with the app and cannot be removed")
    target = installed_path(name)
    from assistant.llm.pull import partial_path

    partial = partial_path(name)
    if not (target.exists() or target.is_symlink() or partial.exists()):
        raise ModelError(f"no added or downloaded model named {name!r}; see `assistant models list`")
    try:
        target.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
        partial.with_name(partial.name + ".json").unlink(missing_ok=True)
    except OSError as error:
        raise ModelError(f"cannot delete {target}: {error.strerror}") from None
    print(f"removed {name!r}")
    if load_settings().model == name:
        save_settings({"model": STARTER_MODEL})
        print(f"{name!r} was the active model; switched back to the starter {STARTER_MODEL!r}")
    return 0


# -- pull --------------------------------------------------------------------------------


def run_pull(args: argparse.Namespace) -> int:
    from assistant.llm.pull import RemoteFile, pull_model, pullable_entry

    entry = pullable_entry(args.name)

    def announce(remote: RemoteFile, resume_from: int) -> None:
        size = f"{megabytes(remote.size):,} MB" if remote.size is not None else f"about {entry.size_mb:,} MB"
        resuming = f", resuming at {megabytes(resume_from):,} MB" if resume_from else ""
        print(f"downloading {entry.name} ({entry.repo}/{entry.file}, {size}{resuming})", flush=True)

    result = pull_model(args.name, force=args.force, progress=sys.stderr.isatty(), on_start=announce)
    if result.already_present:
        print(f"{result.name!r} is already downloaded: {result.path}")
    else:
        verified = result.checksum.split(":")[0] if result.checksum else "size"
        print(f"saved {result.name!r} ({megabytes(result.size):,} MB, {verified} verified): {result.path}")
    print(_describe(result.info))
    print(f"use it with: assistant models use {result.name}")
    return 0
