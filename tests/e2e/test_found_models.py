"""Models other tools downloaded, found and used in place: the real on-disk layouts of Ollama,
LM Studio, the Hugging Face cache, GPT4All, Jan and llama.cpp's cache, built in a temporary home
around the real starter GGUF (symlinked, as a user's disk would hold it once)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))
from vocab_gguf import FAMILIES, write_vocab  # noqa: E402

SHORT_REPLY = {"ASSISTANT_MAX_REPLY_TOKENS": "16"}
TOOL_ENV = (
    "OLLAMA_MODELS",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "LLAMA_CACHE",
)
HF_REVISION = "0123456789abcdef0123456789abcdef01234567"


def _ollama_manifest(folder: Path, digest: str, size: int) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "digest": "sha256:" + "c" * 64,
                    "size": 400,
                },
                "layers": [
                    {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}", "size": size},
                    {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "d" * 64, "size": 90},
                ],
            }
        )
    )


def build_home(home: Path, starter: Path) -> dict[str, Path]:
    """Every tool's layout, with the starter model (and some broken files) in it."""
    size = starter.stat().st_size
    digest = hashlib.sha256(str(starter).encode()).hexdigest()  # any 64-hex digest names the blob
    ollama = home / ".ollama" / "models"
    (ollama / "blobs").mkdir(parents=True)
    (ollama / "blobs" / f"sha256-{digest}").symlink_to(starter)
    library = ollama / "manifests" / "registry.ollama.ai" / "library"
    _ollama_manifest(library / "smollm2" / "135m", digest, size)
    # A blob cut short by an interrupted pull: its manifest promises more than is there.
    partial = "e" * 64
    (ollama / "blobs" / f"sha256-{partial}").write_bytes(starter.read_bytes()[: 1 << 20])
    _ollama_manifest(library / "qwen3" / "4b", partial, size)
    _ollama_manifest(library / "gone" / "latest", "f" * 64, size)  # the blob was deleted
    _ollama_manifest(ollama / "manifests" / "hf.co" / "bartowski" / "SmolLM2-GGUF" / "Q4_1", digest, size)

    lmstudio = home / ".lmstudio" / "models" / "HuggingFaceTB" / "SmolLM2-135M-Instruct-GGUF"
    lmstudio.mkdir(parents=True)
    (lmstudio / "SmolLM2-135M-Instruct.Q4_1.gguf").symlink_to(starter)
    split = home / ".lmstudio" / "models" / "someone" / "Big-GGUF"
    split.mkdir(parents=True)
    vocab = write_vocab(FAMILIES["chatml"], home)
    for part in (1, 2):
        (split / f"Big-Q4_K_M-0000{part}-of-00002.gguf").write_bytes(vocab.read_bytes())
    (split / "Half-00001-of-00003.gguf").write_bytes(vocab.read_bytes())

    repo = home / ".cache" / "huggingface" / "hub" / "models--HuggingFaceTB--SmolLM2-135M-Instruct-GGUF"
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(HF_REVISION)
    (repo / "blobs" / digest).symlink_to(starter)
    snapshot = repo / "snapshots" / HF_REVISION
    snapshot.mkdir(parents=True)
    (snapshot / "smollm2-135m-instruct-q4_1.gguf").symlink_to(Path("..", "..", "blobs", digest))
    (repo / "blobs" / ("a" * 64 + ".incomplete")).write_bytes(b"GGUF")  # a download in progress: not listed

    gpt4all = home / ".local" / "share" / "nomic.ai" / "GPT4All"
    gpt4all.mkdir(parents=True)
    (gpt4all / "smollm2.gguf").symlink_to(starter)
    jan = home / ".local" / "share" / "Jan" / "data" / "llamacpp" / "models" / "notes-model"
    jan.mkdir(parents=True)
    (jan / "model.gguf").write_text("this is not a model")
    llamacpp = home / ".cache" / "llama.cpp"
    llamacpp.mkdir(parents=True)
    (llamacpp / "HuggingFaceTB_SmolLM2-135M-Instruct-GGUF_smollm2.gguf").symlink_to(starter)
    return {"blob": ollama / "blobs" / f"sha256-{digest}", "hf": snapshot / "smollm2-135m-instruct-q4_1.gguf"}


@pytest.fixture
def tool_home(tmp_path: Path, starter_model_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict]:
    home = tmp_path / "home"
    home.mkdir()
    for name in TOOL_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    return home, build_home(home, starter_model_path)


def test_every_tool_is_found_with_its_header_or_a_reason(tool_home, starter_model_path: Path) -> None:
    from assistant.llm.discovery import discover

    found = {model.name: model for model in discover()}
    size = starter_model_path.stat().st_size
    usable = {
        "ollama:smollm2:135m",
        "ollama:hf.co/bartowski/SmolLM2-GGUF:Q4_1",
        "lmstudio:HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct.Q4_1.gguf",
        "hf:HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/smollm2-135m-instruct-q4_1.gguf",
        "gpt4all:smollm2.gguf",
        "llamacpp:HuggingFaceTB_SmolLM2-135M-Instruct-GGUF_smollm2.gguf",
    }
    for name in usable:
        model = found[name]
        assert model.usable, (name, model.problem)
        assert model.size == size and model.architecture == "llama" and model.context_length == 8192
        assert model.chat_template
        assert model.path.resolve() == starter_model_path.resolve()  # used in place, never copied
    assert found["ollama:qwen3:4b"].problem.startswith("GGUF file is truncated")
    assert found["ollama:gone:latest"].problem == "model blob is missing (pull it again in Ollama)"
    assert found["jan:notes-model"].problem == "not a GGUF model file (bad magic bytes)"
    # A split model is listed once, by its first part, with all its parts' size.
    big = [m for m in found.values() if "Big-Q4_K_M" in m.name]
    assert len(big) == 1 and big[0].usable and big[0].parts == 2
    assert big[0].size == 2 * (tool_home[0] / "chatml-vocab.gguf").stat().st_size
    half = found["lmstudio:someone/Big-GGUF/Half-00001-of-00003.gguf"]
    assert half.problem == "split model: part 2 of 3 is missing"
    assert not [name for name in found if ".incomplete" in name or "00002-of" in name]


def test_tool_locations_follow_their_environment_variables(tool_home, monkeypatch) -> None:
    from assistant.llm.discovery import discover

    home, _ = tool_home
    moved = home / "elsewhere"
    (home / ".ollama" / "models").rename(moved)
    assert not [m for m in discover() if m.source == "ollama"]
    monkeypatch.setenv("OLLAMA_MODELS", str(moved))
    monkeypatch.setenv("HF_HOME", str(home / "no-such-hf-home"))
    found = {m.name for m in discover()}
    assert "ollama:smollm2:135m" in found
    assert not [name for name in found if name.startswith("hf:")]


def test_list_show_use_and_chat_with_a_found_model(tool_home, cli, starter_model_path: Path) -> None:
    home, paths = tool_home
    env = {"HOME": str(home), **SHORT_REPLY}
    listed = cli("models", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["ollama:smollm2:135m"]["available"] and rows["ollama:smollm2:135m"]["source"] == "ollama"
    assert rows["ollama:qwen3:4b"]["available"] is False and "truncated" in rows["ollama:qwen3:4b"]["problem"]
    text = cli("models", "list", env=env)
    assert text.returncode == 0 and "Traceback" not in text.stderr
    assert "found by Ollama (llama, 8,192 ctx)" in text.stdout
    assert "found, CANNOT BE USED: model blob is missing" in text.stdout

    hf_name = "hf:HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/smollm2-135m-instruct-q4_1.gguf"
    shown = cli("models", "show", hf_name, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["path"] == str(paths["hf"]) and json.loads(shown.stdout)["architecture"] == "llama"

    used = cli("models", "use", "ollama:smollm2:135m", env=env)
    assert used.returncode == 0, used.stderr
    assert "active model: ollama:smollm2:135m" in used.stdout
    chat = cli("chat", "--incognito", "Say hello.", env=env)
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.strip()
    after = {row["name"]: row for row in json.loads(cli("models", "list", "--json", env=env).stdout)}
    assert after["ollama:smollm2:135m"]["active"]
    assert not list((Path(os.environ["ASSISTANT_DATA_DIR"]) / "models").glob("*"))  # nothing was copied


def test_a_broken_found_model_is_a_one_line_error(tool_home, cli) -> None:
    home, _ = tool_home
    for name in ("ollama:qwen3:4b", "ollama:gone:latest", "ollama:nothing:here", "jan:notes-model"):
        result = cli("models", "use", name, env={"HOME": str(home)})
        assert result.returncode == 1 and "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("assistant: error: ") and name in lines[0], result.stderr


def test_the_settings_screen_offers_usable_found_models(tool_home) -> None:
    from assistant.tui.screens.settings import model_choices

    offered = {value: label for label, value in model_choices("smollm2-135m-instruct")}
    assert "used in place" in offered["ollama:smollm2:135m"]
    assert "hf:HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/smollm2-135m-instruct-q4_1.gguf" in offered
    assert "ollama:qwen3:4b" not in offered and "jan:notes-model" not in offered  # broken ones are not choices


async def test_the_model_manager_shows_found_models_and_switches_to_one(tool_home) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tui"))
    from fakes import FakeAssistant
    from pilot_helpers import app_making_new_cores, settle
    from textual.widgets import DataTable

    from assistant.config import load_settings
    from assistant.tui.screens.models import ModelsScreen

    made: list[FakeAssistant] = []
    app = app_making_new_cores(made)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("f6")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ModelsScreen)
        rows = {row.name: row for row in screen.rows}
        assert rows["ollama:smollm2:135m"].state == "on disk" and rows["ollama:smollm2:135m"].can_use
        broken = rows["ollama:qwen3:4b"]
        assert broken.state == "unusable" and not broken.can_use and broken.description  # says why
        screen.query_one(DataTable).move_cursor(row=list(rows).index("ollama:smollm2:135m"))
        await pilot.press("u")
        await pilot.pause()
        await pilot.press("escape")
        await settle(app, pilot)
        await settle(app, pilot)
    assert load_settings().model == "ollama:smollm2:135m"
    assert made[-1].settings.model == "ollama:smollm2:135m" and made[0].closed
