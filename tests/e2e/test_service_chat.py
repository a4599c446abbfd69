"""Chat and memory through a real, warm service (real model, embedder and store), against the in-process path.

One service per test (each holds ~900 MB), always stopped at teardown.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from assistant.service import client, paths
from tests.conftest import run_cli
from tests.e2e.test_service import _alive, _stop_everything

OFF = {"ASSISTANT_SERVICE": "off"}
HEAVY = ("torch", "sentence_transformers", "transformers", "lancedb", "llama_cpp")


@pytest.fixture
def warm_service(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ASSISTANT_SERVICE", "auto")
    monkeypatch.setenv("ASSISTANT_MODEL_EXTRACTION", "false")  # rules only: the same queue, quicker
    monkeypatch.setenv("ASSISTANT_TEMPERATURE", "0")
    monkeypatch.setenv("ASSISTANT_SEED", "0")
    monkeypatch.setenv("ASSISTANT_MAX_REPLY_TOKENS", "24")
    yield
    _stop_everything()


def _comparable(result: subprocess.CompletedProcess[str]) -> tuple[int, object, str]:
    if "--json" not in result.args:
        return result.returncode, result.stdout, result.stderr
    # Recall's recency bonus moves a score in its 6th decimal between two runs seconds apart.
    rows = json.loads(result.stdout)
    for row in rows:
        row["score"] = round(row["score"], 4)
    return result.returncode, rows, result.stderr


def _same(*args: str) -> subprocess.CompletedProcess[str]:
    served, local = run_cli(*args), run_cli(*args, env=OFF)
    assert _comparable(served) == _comparable(local), args
    return served


def _texts(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return [hit["text"] for hit in json.loads(result.stdout)]


THIN = f"""
import sys
from assistant.cli.main import main
main(["chat", "--no-memory", "Say hi."])
main(["memory", "search", "peanuts"])
main(["memory", "list", "--limit", "2"])
print("HEAVY", sorted(name for name in sys.modules if name.split(".")[0] in {HEAVY!r}))
"""


def test_chat_and_memory_through_the_service_match_the_in_process_path(warm_service: None) -> None:
    first = run_cli("chat", "--new", "I am allergic to peanuts.")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip()
    assert "peanuts" in first.stderr  # the learning notice, after the learning finished
    pid = client.status()["pid"]

    # What the service learned, a command in its own process finds; and the other way round.
    assert any(
        "allergic to peanuts" in text for text in _texts(run_cli("memory", "search", "peanuts", "--json", env=OFF))
    )
    local_chat = run_cli("chat", "--new", "I live in Lisbon.", env=OFF)
    assert local_chat.returncode == 0, local_chat.stderr
    assert any("Lisbon" in text for text in _texts(run_cli("memory", "search", "where do I live", "--json")))

    # The same bytes, exit codes and notices either way.
    _same("memory", "search", "allergic")
    _same("memory", "search", "allergic", "--json", "--kind", "semantic")
    _same("memory", "list")
    _same("chat", "--new", "--no-memory", "Say hello in three words.")
    missing = _same("chat", "--conversation", "no-such-conversation", "hi")
    assert missing.returncode == 1 and missing.stderr.startswith("assistant: error:")
    batch = subprocess.run(
        [sys.executable, "-m", "assistant", "memory", "search", "--json"],
        input="peanuts\nLisbon\n",
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )
    assert batch.returncode == 0 and len(batch.stdout.splitlines()) == 2

    # Writes through the service land in the same store.
    added = run_cli("memory", "add", "--raw", "The spare key is under the blue pot", "--json")
    assert added.returncode == 0, added.stderr
    memory_id = json.loads(added.stdout)["id"]
    assert "spare key" in " ".join(_texts(run_cli("memory", "search", "spare key", "--json", env=OFF)))
    forgot = run_cli("memory", "forget", memory_id)
    assert (forgot.returncode, forgot.stdout) == (0, "forgot 1 memory\n")
    assert memory_id not in run_cli("memory", "list", "--json", env=OFF).stdout

    # A thin client with the service warm imports nothing heavy.
    thin = subprocess.run(
        [sys.executable, "-c", THIN], capture_output=True, text=True, env=dict(os.environ), timeout=300
    )
    assert thin.returncode == 0, thin.stderr
    assert thin.stdout.splitlines()[-1] == "HEAVY []"
    assert client.status()["pid"] == pid  # every served command above went to the one service


def _pending_jobs() -> list[dict[str, object]]:
    state = paths.locations.data_dir() / "jobs" / "default.json"
    return json.loads(state.read_text())["pending"] if state.exists() else []


def test_a_killed_service_loses_no_acknowledged_learning(warm_service: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_MODEL_EXTRACTION", "true")  # the model's extraction: learning takes a while
    chat = subprocess.Popen(
        [sys.executable, "-m", "assistant", "chat", "--new", "I am allergic to shellfish."],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    # The reply is done once its learning is queued (persisted): the kill comes then. Its first line
    # is no sign of that, as a reply may hold a line break (it did when the date in the prompt moved).
    deadline = time.monotonic() + 300
    while not _pending_jobs() and chat.poll() is None:
        assert time.monotonic() < deadline, "the chat neither queued its learning nor finished"
        time.sleep(0.02)
    pid = int(paths.lifetime_lock_path().read_text())
    os.kill(pid, signal.SIGKILL)
    reply, errors = chat.communicate(timeout=120)
    assert reply.strip(), errors
    while _alive(pid):
        time.sleep(0.05)
    learned_before_the_kill = not _pending_jobs()
    if not learned_before_the_kill:
        assert chat.returncode == 1 and "the service stopped" in errors

    # The next command (it starts a new service) finishes the killed one's queue: its own turn's
    # rules do not wait for the killed turn's model pass, which the new service finishes behind it.
    after = run_cli("chat", "--new", "--no-memory", "Thanks.")
    assert after.returncode == 0, after.stderr
    assert client.status()["pid"] != pid
    deadline = time.monotonic() + 300
    while _pending_jobs():
        assert time.monotonic() < deadline, f"the new service left the killed one's learning queued: {_pending_jobs()}"
        time.sleep(1)
    found = _texts(run_cli("memory", "search", "shellfish", "--json", "--kind", "semantic", env=OFF))
    assert any("shellfish" in text for text in found), found


def test_a_chat_returns_once_the_rules_are_saved_and_the_service_finishes_the_models_pass(
    warm_service: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_MODEL_EXTRACTION", "true")  # the slow part, here on purpose
    said = run_cli("chat", "--new", "I moved to Valparaíso last week and I love it here.")
    assert said.returncode == 0, said.stderr
    assert "Saved to memory" in said.stderr and "Valpara" in said.stderr, said.stderr
    # Whether or not the model's pass is still running, the rules' fact is already there...
    assert any("Valpara" in text for text in _texts(run_cli("memory", "search", "where do I live", "--json")))
    # ...and the service finishes the queue on its own: nothing is left to learn soon after.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = run_cli("serve", "--status", "--json")
        if status.returncode == 0 and json.loads(status.stdout).get("pending_learning", 1) == 0:
            break
        time.sleep(2)
    else:
        pytest.fail("the service did not finish the model's pass")


def _without_vectors() -> int:
    from assistant.config import load_settings
    from assistant.memory.engine import MemoryEngine
    from assistant.memory.store import MEMORIES
    from assistant.memory.store.query import is_null

    with MemoryEngine.open(load_settings()) as engine:
        return len(engine.store.rows(MEMORIES, engine.space.owner & is_null("vector"), columns=["id"]))


def test_a_cold_services_first_chat_does_not_wait_for_the_embedder_and_its_vectors_follow(
    warm_service: None,
) -> None:
    cold = run_cli("chat", "--new", "--show-context", "Give me three tips for remembering names")
    assert cold.returncode == 0, cold.stderr
    assert "[note] recall by full text, profile and rules only: the embedder was still loading" in cold.stdout
    deadline = time.monotonic() + 300
    while not client.status().get("warm"):
        assert time.monotonic() < deadline, "the service never finished warming up"
        time.sleep(0.5)
    assert _without_vectors() == 0, "the messages stored while the embedder loaded got their vectors"
    warm = run_cli("chat", "--show-context", "And one more tip about faces")
    assert warm.returncode == 0, warm.stderr
    assert "[note]" not in warm.stdout
