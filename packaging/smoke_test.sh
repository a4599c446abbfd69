#!/usr/bin/env bash
# Install smoke test: build the wheel, install it with pipx into a throwaway home, and use
# the installed app the way a new user would: --version, doctor, and a one-shot chat with
# no network (inside a network namespace without interfaces when run as root).
#
# Usage: packaging/smoke_test.sh            (from anywhere; PYTHON picks the interpreter)
# Exits non-zero on the first failure. KEEP_SMOKE_DIR=1 keeps the temporary directory.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-}"
if [[ -z "$python" ]]; then
    if [[ -x "$repo/.venv/bin/python" ]]; then python="$repo/.venv/bin/python"; else python="$(command -v python3)"; fi
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/assistant-smoke.XXXXXX")"
cleanup() { if [[ "${KEEP_SMOKE_DIR:-0}" != 1 ]]; then rm -rf "$work"; fi; }
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'smoke test FAILED: %s\n' "$*" >&2; exit 1; }

step "build the wheel"
if "$python" -c "import build, hatchling" 2>/dev/null; then
    # The build backend is already here: no isolated build env to download.
    "$python" -m build --wheel --no-isolation --outdir "$work/dist" "$repo" >"$work/build.log" 2>&1 \
        || { cat "$work/build.log" >&2; fail "wheel build"; }
else
    "$python" -m pip wheel --no-deps --wheel-dir "$work/dist" "$repo" >"$work/build.log" 2>&1 \
        || { cat "$work/build.log" >&2; fail "wheel build"; }
fi
wheel="$(ls "$work"/dist/*.whl)"
echo "$wheel"

step "the wheel carries the model catalog and the TUI stylesheet"
"$python" - "$wheel" "$repo" <<'PY' || fail "wheel contents"
import pathlib, sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
required = ["assistant/_catalog/catalog.toml", "assistant/cli/__init__.py", "assistant/__main__.py"]
required += [str(p.relative_to(sys.argv[2])) for p in pathlib.Path(sys.argv[2], "assistant").rglob("*.tcss")]
for required in required:
    if required not in names:
        sys.exit(f"missing from the wheel: {required}")
print(f"{len(required)} required files present, catalog included")
PY

step "pipx install into a temporary home"
export PIPX_HOME="$work/pipx-home" PIPX_BIN_DIR="$work/bin" PIPX_MAN_DIR="$work/man"
if command -v pipx >/dev/null 2>&1; then pipx=(pipx); else pipx=("$python" -m pipx); fi
"${pipx[@]}" install --pip-args="-c $repo/packaging/constraints.txt" "$wheel" >"$work/pipx.log" 2>&1 \
    || { tail -40 "$work/pipx.log" >&2; fail "pipx install"; }
assistant="$PIPX_BIN_DIR/assistant"
[[ -x "$assistant" ]] || fail "pipx did not install the 'assistant' command"

# The installed app gets its own data and config, never the developer's.
export ASSISTANT_DATA_DIR="$work/data" ASSISTANT_CONFIG="$work/config.toml" ASSISTANT_MAX_REPLY_TOKENS=48
unset HF_HUB_OFFLINE TRANSFORMERS_OFFLINE HF_DATASETS_OFFLINE

offline=()
if [[ "$(id -u)" == 0 ]] && command -v unshare >/dev/null 2>&1 && unshare -n true 2>/dev/null; then
    offline=(unshare -n)
    echo "offline: running the app inside a network namespace with no interfaces"
else
    # Not root: the app's own offline switches are what keeps it off the network.
    export HF_HUB_OFFLINE=1
    echo "offline: unshare -n unavailable; relying on HF_HUB_OFFLINE"
fi

step "assistant --version"
version="$("${offline[@]}" "$assistant" --version)" || fail "--version"
echo "$version"
expected="assistant $("$python" -c "import re,sys; print(re.search(r'__version__ = \"(.+?)\"', open(sys.argv[1]).read()).group(1))" "$repo/assistant/__init__.py")"
[[ "$version" == "$expected" ]] || fail "--version printed '$version', expected '$expected'"

step "assistant doctor"
"${offline[@]}" "$assistant" doctor || fail "doctor reported problems"

step "assistant chat \"hello\""
reply="$("${offline[@]}" "$assistant" chat "hello")" || fail "chat"
printf '%s\n' "$reply"
[[ -n "${reply//[[:space:]]/}" ]] || fail "chat printed an empty reply"

step "smoke test passed"
