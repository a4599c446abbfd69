"""Bad input of every kind gives a clear one-line error or a correct result: never a traceback,
never lost data. Import files, chat input (through the real core and model), config files
and model files are generated with hypothesis."""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from trust_helpers import assert_one_line_error

from assistant.errors import AssistantError, ConfigError, ImportFileError, ModelError

SHORT = settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

# Text that real users paste: control characters, right-to-left scripts, emoji, combining marks.
NASTY = st.sampled_from(
    [
        "\u202eevil\u202c",
        "שלום עולם",
        "مرحبا بالعالم",
        "👩‍👩‍👧‍👦🔥",
        "e\u0301\u0301",
        "\x00\x07\x1b[31m",
        "\ufeff",
        "\u2028\u2029",
        "Z̴̛̭a̷l̶g̸o",
        "\t \r\n",
    ]
)
USER_TEXT = st.lists(st.one_of(NASTY, st.text(min_size=0, max_size=40)), min_size=1, max_size=5).map("".join)


@pytest.fixture(scope="module")
def shared_embedder(embedder_path: Path):
    from assistant.memory.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(embedder_path)


@pytest.fixture
def fresh_store(shared_embedder) -> Iterator:
    """A function that opens a new engine on a new store (hypothesis runs many examples per test)."""
    from assistant.memory.engine import MemoryEngine
    from assistant.memory.store import MemoryStore

    folders: list[Path] = []

    def open_engine() -> MemoryEngine:
        folder = Path(tempfile.mkdtemp(prefix="trust-import-"))
        folders.append(folder)
        return MemoryEngine(MemoryStore(folder / "memory", shared_embedder.dimension), shared_embedder, "alice")

    yield open_engine
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


# -- import files ------------------------------------------------------------------------------


def _valid_line(index: int, content: str, rng: random.Random) -> dict:
    record: dict = {"id": f"ok-{index}", "role": rng.choice(["user", "assistant"]), "content": content}
    if rng.random() < 0.5:
        record["session_id"] = f"s{rng.randint(0, 2)}"
    if rng.random() < 0.5:
        record["timestamp"] = "2025-03-04T05:06:07+00:00"
    return record


JUNK_LINES = st.one_of(
    st.binary(min_size=1, max_size=60).filter(lambda b: b"\n" not in b),
    st.sampled_from(
        [
            b"[1, 2, 3]",
            b'"just a string"',
            b"null",
            b'{"role": "system", "content": "hi"}',
            b'{"role": "user", "content": 42}',
            b'{"role": "user", "content": ["a"]}',
            b'{"role": "user", "content": "   "}',
            b'{"role": "user", "content": "hi", "timestamp": "yesterday"}',
            b'{"role": "user", "content": "hi", "id": {"x": 1}}',
            b'{"role": "user", "content": "lone \\ud800 surrogate", "id": "sur"}',
            b"\xff\xfe\xfd not utf-8",
            b"{" * 50,
        ]
    ),
    st.integers(min_value=100_000, max_value=400_000).map(
        lambda n: b'{"role": "user", "content": "' + b"x" * n + b'"}'
    ),
)


@st.composite
def import_files(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, str]]]:
    """File bytes and, for each valid message line, (byte offset where it ends, its id)."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    parts: list[bytes] = []
    valid: list[tuple[int, str]] = []
    offset = 0
    for index in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            content = draw(USER_TEXT)
            assume(content.strip())
            record = _valid_line(index, content, rng)
            line = json.dumps(record, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
            valid.append((offset + len(line) + 1, record["id"]))
        else:
            line = draw(JUNK_LINES)
        parts.append(line + b"\n")
        offset += len(line) + 1
    return b"".join(parts), valid


@settings(SHORT, max_examples=int(os.environ.get("TRUST_IMPORT_EXAMPLES", "25")))
@given(case=import_files())
def test_import_of_any_file_is_a_clear_error_or_keeps_every_valid_line(fresh_store, case, tmp_path_factory) -> None:
    content, valid = case
    engine = fresh_store()
    engine.add("I am allergic to shellfish", kind="semantic")  # data already there must survive
    path = tmp_path_factory.mktemp("import") / "messages.jsonl"
    path.write_bytes(content)
    try:
        report = engine.import_file(path)
    except ImportFileError as error:
        raise AssertionError(f"a readable file was refused as a whole: {error}") from None
    stored = {message.id for message in engine.messages()}
    expected = {message_id for _end, message_id in valid}
    assert expected <= stored, f"valid lines lost: {expected - stored}"  # bad lines never take good ones along
    assert any(m.text == "I am allergic to shellfish" for m in engine.list())
    if report is not None:
        assert report.imported + report.already_present == len(stored)


BAD_FILES = {
    "random.jsonl": lambda: bytes(random.Random(1).randrange(256) for _ in range(5000)),
    "latin1.jsonl": lambda: '{"role": "user", "content": "café"}\n'.encode("latin-1"),
    "huge-line.jsonl": lambda: b'{"role": "user", "content": "' + b"y" * 3_000_000 + b'"}\n',
    "types.jsonl": lambda: b'{"role": 1, "content": null}\n[]\n"x"\n',
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_cli_import_of_a_bad_file_is_one_line_or_success(cli, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name]())
    result = cli("memory", "import", str(path))
    assert "Traceback" not in result.stderr
    if result.returncode != 0:
        assert_one_line_error(result, str(path))
    else:
        assert result.stdout.startswith("imported 1 messages"), result.stdout


def test_cli_import_of_a_folder_or_missing_file_is_one_line(cli, tmp_path: Path) -> None:
    # A folder may be an unpacked ChatGPT or Claude export: one that is not says so.
    assert_one_line_error(cli("memory", "import", str(tmp_path)), "holds no conversations.json")
    assert_one_line_error(cli("memory", "import", str(tmp_path / "absent.jsonl")), "cannot read")


# -- chat input through the core ---------------------------------------------------------------


@pytest.fixture(scope="module")
def core(starter_model_path: Path, shared_embedder, tmp_path_factory) -> Iterator:
    from assistant.application.session import Assistant, open_runner
    from assistant.config import Settings
    from assistant.memory.engine import MemoryEngine
    from assistant.memory.store import MemoryStore

    folder = tmp_path_factory.mktemp("core")
    model_settings = Settings(model=str(starter_model_path), max_reply_tokens=16, model_extraction=False)
    engine = MemoryEngine(MemoryStore(folder / "memory", shared_embedder.dimension), shared_embedder, "default")
    assistant = Assistant(model_settings, runner=open_runner(model_settings), engine=engine)
    yield assistant
    assistant.close()


@settings(SHORT, max_examples=int(os.environ.get("TRUST_CHAT_EXAMPLES", "4")))
@given(text=USER_TEXT)
def test_chat_input_of_any_text_replies_or_fails_in_one_line(core, text: str) -> None:
    before = len(core.engine.messages())
    try:
        turn = core.reply(text)
    except AssistantError as error:
        assert "\n" not in str(error)
        assert not text.strip(), f"a non-empty message was refused: {error}"
        return
    assert text.strip(), "an empty message was accepted"
    assert isinstance(turn.reply, str)
    core.learn(turn)
    if not turn.is_command:
        stored = core.engine.messages()
        assert len(stored) >= before + 1  # the user's message is kept, whatever it contains


@pytest.mark.parametrize("text", ["", "   \n\t ", "\x00"])
def test_empty_chat_input_is_a_clear_error(core, text: str) -> None:
    with pytest.raises(AssistantError, match="empty"):
        core.reply(text.replace("\x00", ""))


def test_a_one_megabyte_paste_is_a_clear_error_and_nothing_is_lost(core) -> None:
    core.reply("My favourite tree is the cork oak.")
    kept = {m.id for m in core.engine.messages()}
    paste = ("lorem ipsum dolor sit amet " * 40_000)[:1_000_000]
    with pytest.raises(AssistantError) as raised:
        core.reply(paste)
    assert "\n" not in str(raised.value) and "token" in str(raised.value)
    assert kept <= {m.id for m in core.engine.messages()}
    assert core.reply("What is my favourite tree?").reply  # the core still works afterwards


def test_cli_chat_with_invalid_utf8_on_stdin_replies(cli) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "assistant", "chat", "--incognito"],
        input=b"hello \xff\xfe there \xc3\x28",
        capture_output=True,
        env={**os.environ, "ASSISTANT_MAX_REPLY_TOKENS": "16"},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stdout.strip()


# -- config files ----------------------------------------------------------------------------

FIELD_NAMES = ["model", "embedder", "user", "threads", "context_size", "temperature", "recall_k", "memory_enabled"]
TOML_VALUES = st.one_of(
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True),
    st.booleans(),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
)


@settings(SHORT, max_examples=200)
@given(
    content=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
)
def test_random_config_bytes_are_a_config_error_or_valid(content: bytes, tmp_path_factory) -> None:
    from assistant.config import load_settings

    path = tmp_path_factory.mktemp("config") / "config.toml"
    path.write_bytes(content)
    os.environ["ASSISTANT_CONFIG"] = str(path)
    try:
        load_settings()
    except ConfigError as error:
        assert "\n" not in str(error).strip()


@settings(SHORT, max_examples=200)
@given(values=st.dictionaries(st.sampled_from(FIELD_NAMES), TOML_VALUES, max_size=4))
def test_random_config_values_are_a_config_error_or_valid(values: dict, tmp_path_factory) -> None:
    import tomlkit

    from assistant.config import load_settings

    try:
        text = tomlkit.dumps(values)
    except Exception:  # tomlkit refuses some floats (nan handled, but be safe): not the app's concern
        assume(False)
    path = tmp_path_factory.mktemp("config") / "config.toml"
    path.write_text(text, encoding="utf-8")
    os.environ["ASSISTANT_CONFIG"] = str(path)
    try:
        loaded = load_settings()
    except ConfigError as error:
        assert "\n" not in str(error).strip()
    else:
        for name, value in values.items():
            loaded_value = getattr(loaded, name)
            if isinstance(value, str) and not isinstance(loaded_value, str):
                # A quoted number or yes/no, as an environment variable gives it, is read as what it spells.
                assert spells(value, loaded_value), (name, value, loaded_value)
            else:
                assert loaded_value == value or not isinstance(value, str | bool)


def spells(text: str, value: object) -> bool:
    """Whether `text` is a way of writing `value` (a number or a yes/no)."""
    word = text.strip().lower()
    if isinstance(value, bool):
        return word in ({"1", "true", "yes", "on", "t", "y"} if value else {"0", "false", "no", "off", "f", "n"})
    try:
        return isinstance(value, int | float) and float(word) == value
    except ValueError:
        return False


def test_bad_config_is_one_line_from_the_cli(cli, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"threads = \xff\xfe [[[")
    assert_one_line_error(cli("memory", "list", env={"ASSISTANT_CONFIG": str(config)}), "config")


# -- model files -----------------------------------------------------------------------------


@settings(SHORT, max_examples=150)
@given(data=st.data())
def test_truncated_or_random_model_files_are_model_errors(starter_model_path: Path, data, tmp_path_factory) -> None:
    from assistant.llm.gguf import inspect_gguf

    with starter_model_path.open("rb") as handle:
        head = handle.read(4_000_000)
    content = data.draw(
        st.one_of(
            st.integers(0, len(head)).map(lambda n: head[:n]),
            st.binary(max_size=512),
            st.binary(max_size=64).map(lambda junk: b"GGUF\x03\x00\x00\x00" + junk),
            st.tuples(st.integers(8, 4000), st.binary(min_size=1, max_size=8)).map(
                lambda cut: head[: cut[0]] + cut[1] + head[cut[0] + len(cut[1]) : 8000]
            ),
        )
    )
    path = tmp_path_factory.mktemp("model") / "broken.gguf"
    path.write_bytes(content)
    with pytest.raises(ModelError) as raised:
        inspect_gguf(path)  # every candidate is shorter than the model's tensor data
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("keep", [0, 100, 1_000_000])
def test_cli_chat_with_a_truncated_model_is_one_line(cli, starter_model_path: Path, tmp_path: Path, keep: int) -> None:
    broken = tmp_path / "broken.gguf"
    with starter_model_path.open("rb") as handle:
        broken.write_bytes(handle.read(keep))
    assert_one_line_error(cli("chat", "hello", "--model", str(broken), "--incognito"), "broken.gguf")
