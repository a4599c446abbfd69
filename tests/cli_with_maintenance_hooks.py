"""Run the real CLI with crash-test hooks in maintenance: `python tests/cli_with_maintenance_hooks.py [opts] -- ARGS`.

The hooks live on the test side: production maintenance only offers `observe_writes` (a
no-op without observers) and the `compression.WRITE_BATCH` attribute. This launcher sets them, then runs
`assistant.cli.main(ARGS)` exactly as `python -m assistant ARGS` would.

  --kill-at-write N   SIGKILL this process right after maintenance's Nth write step
  --write-batch B     compression commits every B groups (more write steps to kill at)
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


def install_kill_at_write(count: int) -> None:
    from assistant.memory import maintenance

    seen = 0
    lock = threading.Lock()  # the scheduler's worker may be the thread that writes

    def kill_at_nth_write(_label: str) -> None:
        nonlocal seen
        with lock:
            seen += 1
            reached = seen == count
        if reached:
            os.kill(os.getpid(), signal.SIGKILL)

    maintenance.observe_writes(kill_at_nth_write)


def main(argv: list[str]) -> int:
    split = argv.index("--") if "--" in argv else len(argv)
    own, cli_args = argv[:split], argv[split + 1 :]
    parser = argparse.ArgumentParser(prog="cli_with_maintenance_hooks")
    parser.add_argument("--kill-at-write", type=int, default=None)
    parser.add_argument("--write-batch", type=int, default=None)
    options = parser.parse_args(own)
    if options.kill_at_write is not None:
        install_kill_at_write(options.kill_at_write)
    if options.write_batch is not None:
        from assistant.memory.maintenance import compression

        compression.WRITE_BATCH = options.write_batch
    from assistant.cli import main as cli_main

    return cli_main(cli_args)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
