"""Settings layering (defaults < file < env < overrides), errors as one line, comment-keeping saves."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from assistant.config import Settings, field_docs, load_settings, loopback_address, save_settings
from assistant.errors import ConfigError


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return tmp_path / "config.toml"  # where the autouse fixture points ASSISTANT_CONFIG


def test_defaults_without_a_file(config_file: Path) -> None:
    settings = load_settings()
    assert settings == Settings(service="off")  # conftest keeps the service off for every test
    assert Settings().service == "auto"
    assert settings.model == "smollm2-135m-instruct"
    assert not config_file.exists()


def test_file_then_env_then_overrides(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file.write_text('context_size = 2048\ntemperature = 0.2\nuser = "file-user"\n')
    assert load_settings().context_size == 2048

    monkeypatch.setenv("ASSISTANT_CONTEXT_SIZE", "1024")
    monkeypatch.setenv("ASSISTANT_USER", "env-user")
    settings = load_settings()
    assert (settings.context_size, settings.temperature, settings.user) == (1024, 0.2, "env-user")

    settings = load_settings(user="flag-user", model=None)
    assert settings.user == "flag-user"
    assert settings.model == "smollm2-135m-instruct"  # None means "flag not given"


def test_env_booleans_and_numbers_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_MEMORY_ENABLED", "false")
    monkeypatch.setenv("ASSISTANT_RECENCY_HALF_LIFE_DAYS", "7.5")
    settings = load_settings()
    assert settings.memory_enabled is False and settings.recency_half_life_days == 7.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("context_size = \n", "not valid TOML"),
        ("[[[", "not valid TOML"),
        ("colour = 'blue'\n", "unknown setting 'colour'"),
        ("context_size = 12\n", "context_size"),
        ("temperature = 'hot'\n", "temperature"),
        ("threads = 0\n", "threads"),
    ],
)
def test_bad_files_raise_one_line_config_errors(config_file: Path, text: str, expected: str) -> None:
    config_file.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert expected in message and "\n" not in message


def test_bad_env_value_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_MAX_REPLY_TOKENS", "many")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert "max_reply_tokens" in str(raised.value) and "\n" not in str(raised.value)


def test_save_keeps_comments_and_other_values(config_file: Path) -> None:
    config_file.write_text(
        '# My assistant settings\ntemperature = 0.3  # I like calm answers\n\n# which memory space\nuser = "me"\n'
    )
    where = save_settings({"model": "qwen2.5-1.5b-instruct", "temperature": 0.4})
    assert where == config_file
    text = config_file.read_text()
    assert "# My assistant settings" in text and "# which memory space" in text
    assert "# I like calm answers" in text
    data = tomllib.loads(text)
    assert data == {"temperature": 0.4, "user": "me", "model": "qwen2.5-1.5b-instruct"}
    assert load_settings().model == "qwen2.5-1.5b-instruct"


def test_save_validates_before_writing(config_file: Path) -> None:
    config_file.write_text("# keep me\n")
    with pytest.raises(ConfigError):
        save_settings({"context_size": 3})
    with pytest.raises(ConfigError, match="colour"):  # an unknown field never reaches the file
        save_settings({"colour": "blue"})
    assert config_file.read_text() == "# keep me\n"


def test_save_creates_the_file(config_file: Path) -> None:
    save_settings({"user": "new"})
    assert tomllib.loads(config_file.read_text()) == {"user": "new"}


def test_every_field_is_documented() -> None:
    docs = field_docs()
    assert set(docs) == set(Settings.model_fields)
    assert all(len(doc) > 10 for doc in docs.values()), docs


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("8765", ("127.0.0.1", 8765)),
        ("127.0.0.1:8765", ("127.0.0.1", 8765)),
        ("localhost:0", ("127.0.0.1", 0)),
        ("LOCALHOST:80", ("127.0.0.1", 80)),
        ("[::1]:8765", ("::1", 8765)),
        ("::1:8765", ("::1", 8765)),
        ("127.0.0.2:9", ("127.0.0.2", 9)),
    ],
)
def test_loopback_addresses(text: str, address: tuple[str, int]) -> None:
    assert loopback_address(text) == address


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0.0.0.0:8765", "loopback only"),
        ("[::]:8765", "loopback only"),
        ("10.1.2.3:80", "loopback only"),
        ("example.com:80", "loopback only"),
        ("127.0.0.1:65536", "not a TCP port"),
        ("127.0.0.1:http", "not a [HOST:]PORT"),
        ("", "not a [HOST:]PORT"),
    ],
)
def test_addresses_beyond_loopback_are_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        loopback_address(text)


def test_the_service_settings_take_loopback_addresses_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_SERVICE", "tcp://127.0.0.1:8765")
    monkeypatch.setenv("ASSISTANT_SERVICE_TCP", " localhost:8765 ")
    settings = load_settings()
    assert (settings.service, settings.service_tcp) == ("tcp://127.0.0.1:8765", "localhost:8765")
    for name, value in (("ASSISTANT_SERVICE", "tcp://192.168.0.2:80"), ("ASSISTANT_SERVICE_TCP", "0.0.0.0:80")):
        with monkeypatch.context() as patched:
            patched.setenv(name, value)
            with pytest.raises(ConfigError, match="loopback only") as refused:
                load_settings()
            assert "\n" not in str(refused.value)
    monkeypatch.setenv("ASSISTANT_SERVICE", "sometimes")
    with pytest.raises(ConfigError, match="expected 'auto', 'running', 'off' or tcp://"):
        load_settings()
    monkeypatch.setenv("ASSISTANT_SERVICE_TOKEN", "not a setting")  # the client's, read by the client only
    monkeypatch.setenv("ASSISTANT_SERVICE", "off")
    assert load_settings().service == "off"
