"""`assistant serve`: run the warm local service, or see (--status) and stop (--stop) the running one.

Commands start the service on demand (the `service` setting); running it by hand keeps it
in the foreground, its log on stderr. `--tcp [HOST:]PORT` (or the `service_tcp` setting)
also opens a loopback TCP port; its connections need the token in the token file `--status` names.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from assistant.cli.common import add_json_option, print_json
from assistant.config import TCP_SCHEME, load_settings, loopback_address
from assistant.errors import AssistantError


def register(subcommands: Any) -> None:
    parser: argparse.ArgumentParser = subcommands.add_parser(
        "serve", help="run the warm local service that commands share (or --status, --stop)"
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--status", action="store_true", help="is it running: pid, version, uptime, socket, memory")
    action.add_argument("--stop", action="store_true", help="stop the running service (of any version)")
    parser.add_argument(
        "--idle-timeout",
        type=_minutes,
        metavar="MINUTES",
        help="exit after this many minutes without a request (default: the service_idle_minutes setting)",
    )
    parser.add_argument(
        "--tcp",
        type=_loopback,
        metavar="[HOST:]PORT",
        help="also listen on this loopback TCP port (127.0.0.1, ::1 or localhost), each connection with the token "
        "from the token file (default: the service_tcp setting; 0 picks a free port)",
    )
    parser.add_argument("--show-token", action="store_true", help="with --status: print the TCP token too")
    add_json_option(parser)
    parser.set_defaults(handler=run)


def _minutes(value: str) -> float:
    try:
        minutes = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of minutes: {value!r}") from None
    if not minutes > 0:
        raise argparse.ArgumentTypeError("the idle timeout must be more than 0 minutes")
    return minutes


def _loopback(value: str) -> str:
    try:
        loopback_address(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def describe(status: dict[str, Any]) -> list[str]:
    tcp = [f"tcp: {status['tcp']} (token in {status['token_file']})"] if status.get("tcp") else []
    return [
        f"running: pid {status['pid']}, version {status['version']}, up {status['uptime_seconds']:.0f} s"
        + ("" if status.get("warm") else " (model not loaded yet)")
        + (" (model unloaded: memory was short)" if status.get("warm") and status.get("model_loaded") is False else ""),
        f"socket: {status['socket']}",
        *tcp,
        f"memory: {status['rss_mb']:.0f} MB",
        f"idle exit after: {status['idle_minutes']:g} min",
        f"memory spaces: {', '.join(status.get('users') or []) or '-'}   "
        f"learning queued: {status.get('pending_learning', 0)}",
    ]


def _status(args: argparse.Namespace) -> int:
    from assistant.service import client, paths

    service = load_settings().service  # a tcp:// address: the service there, with its token
    where = service if service.startswith(TCP_SCHEME) else f"socket {paths.socket_path()}"
    try:
        status = client.status(service)
    except client.VersionMismatch as error:
        if args.json:
            print_json({"running": True, "compatible": False, "version": error.version, "pid": error.pid})
        else:
            print(f"running: pid {error.pid}, version {error.version} (not this version: stop it with --stop)")
        return 0
    if status is None:
        if args.json:
            print_json(
                {"running": False, "socket": str(paths.socket_path())} | ({"tcp": service} if where == service else {})
            )
        else:
            print(f"not running ({where})")
        return 0
    token = client.read_token(Path(status["token_file"])) if args.show_token and status.get("token_file") else None
    if args.json:
        print_json({"running": True, "compatible": True, **status, **({"token": token} if token else {})})
    else:
        print("\n".join(describe(status) + ([f"token: {token}"] if token else [])))
    return 0


def _stop(args: argparse.Namespace) -> int:
    from assistant.service import client

    pid = client.stop(load_settings().service)
    if args.json:
        print_json({"stopped": pid is not None, "pid": pid})
    else:
        print(f"stopped the service (pid {pid})" if pid is not None else "no service was running")
    return 0


class _CurrentStderr(logging.StreamHandler):
    """Writes each record to sys.stderr as it is then: loading the model points fd 2 at llama.cpp's
    log and gives Python a new sys.stderr, and the service's own log belongs in the service log."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def run(args: argparse.Namespace) -> int:
    if args.status:
        return _status(args)
    if args.stop:
        return _stop(args)
    from assistant.service.server import Service

    handler = _CurrentStderr()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    settings = load_settings()
    try:
        return Service(settings, idle_minutes=args.idle_timeout, tcp=args.tcp).run()
    except OSError as error:
        raise AssistantError(f"the service cannot listen: {error}") from None
    finally:
        sys.stderr.flush()
