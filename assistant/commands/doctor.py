"""`assistant doctor`: placeholder registration; implemented in its own change."""

from __future__ import annotations

import argparse
from typing import Any


def register(subcommands: Any) -> None:
    parser: argparse.ArgumentParser = subcommands.add_parser("doctor", help="doctor commands")
    parser.set_defaults(handler=lambda args: parser.print_help())
