"""The chat model served by an OpenAI-compatible engine: llama-cpp-python's own server, on
127.0.0.1, with the bundled model. Streaming, Esc, JSON-constrained output, token counts,
learning, a server that is down, and the only connections being to that endpoint.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from assistant.errors import ModelError
from assistant.llm.remote import Endpoint, RemoteRunner
from assistant.llm.runner import ChatMessage, GenerationStats, ModelRunner

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# `python -m llama_cpp.server`, with the guard the app itself uses (on AMX CPUs llama.cpp's repacked kernels crash).
SERVER_WITHOUT_CRASHING_KERNELS = (
    "import runpy, sys;"
    "from assistant.llm.cpu_guard import keep_llama_off_crashing_kernels;"
    "keep_llama_off_crashing_kernels();"
    "sys.argv[0] = 'llama_cpp.server';"
    "runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)"
)


@pytest.fixture(scope="module")
def server(starter_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` with the starter model; yields its API base."""
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python's server extra is not installed")
    port = _free_port()
    log = (tmp_path_factory.mktemp("server") / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVER_WITHOUT_CRASHING_KERNELS,
            "--model",
            str(starter_model_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "2",
            "--chat_format",
            "chatml",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/models", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            assert process.poll() is None, "the model server exited"
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("the model server did not start in 2 minutes")
    yield base
    process.terminate()
    process.wait(timeout=30)
    log.close()


def test_a_chat_streams_from_the_server_and_is_learned_from(server: str, cli) -> None:
    spec = f"{server}#{'starter'}"
    result = cli(
        "chat",
        "I'm allergic to shellfish. Suggest a dinner.",
        "--model",
        spec,
        env={"ASSISTANT_MAX_REPLY_TOKENS": "32", "ASSISTANT_MODEL_EXTRACTION": "false"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip(), "no reply was printed"
    found = json.loads(cli("memory", "search", "allergy", "--json").stdout)
    assert any("shellfish" in hit["text"] for hit in found), found


def test_models_use_takes_a_server_and_doctor_reports_it(server: str, cli) -> None:
    used = cli("models", "use", server)
    assert used.returncode == 0, used.stderr
    assert "served by" in used.stdout
    report = json.loads(cli("doctor", "--json").stdout)
    model = next(check for check in report["checks"] if check["name"] == "chat model")
    assert model["ok"] and model["data"]["endpoint"] == server, model
    generation = next(check for check in report["checks"] if check["name"] == "generation")
    assert generation["ok"], generation


def test_the_runner_streams_stops_on_cancel_and_counts_as_the_model_does(server: str, starter_model_path) -> None:
    runner = RemoteRunner(Endpoint.parse(server), context_size=2048, seed=7)
    assert runner.context_size <= 2048
    messages = [ChatMessage("user", "Count from one to one hundred, in words, one per line.")]

    pieces, stats = [], GenerationStats()
    for piece in runner.stream_chat(messages, max_tokens=64, temperature=0.0, stats=stats):
        pieces.append(piece)
    assert "".join(pieces).strip() and stats.completion_tokens > 3 and stats.time_to_first_token is not None

    cancel, stopped = threading.Event(), GenerationStats()
    got = []
    for piece in runner.stream_chat(messages, max_tokens=200, temperature=0.0, cancel=cancel, stats=stopped):
        got.append(piece)
        if len(got) == 3:
            cancel.set()  # Esc
    assert stopped.stopped and len(got) == 3
    # The server is free again at once: the next request is answered.
    assert runner.chat(messages, max_tokens=4, temperature=0.0)

    local = ModelRunner(starter_model_path, context_size=2048)
    text = "Ana lives in Lisbon; she's allergic to shellfish and hates cilantro."
    assert runner.count_tokens(text) == local.count_tokens(text)


def test_json_output_is_constrained_by_the_schema(server: str) -> None:
    class City(BaseModel):
        city: str
        country: str

    runner = RemoteRunner(Endpoint.parse(server), context_size=2048)
    answer = runner.complete_json(
        [ChatMessage("user", "Give the capital of France as JSON with fields city and country.")],
        City,
        max_tokens=48,
        background=False,
    )
    assert isinstance(answer, City) and answer.city.strip()


def test_a_server_that_is_down_gets_one_line_and_loses_nothing(cli) -> None:
    spec = f"http://127.0.0.1:{_free_port()}/v1#none"
    result = cli("chat", "my favourite tea is sencha", "--model", spec)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "cannot reach the model server" in result.stderr
    kept = json.loads(cli("memory", "search", "sencha", "--json").stdout)
    assert any("sencha" in hit["text"] for hit in kept), "the message was lost with the reply"
    with pytest.raises(ModelError, match="not a model server address"):
        Endpoint.parse("ftp://example/v1")


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_the_only_connections_are_to_the_configured_endpoint(server: str, tmp_path: Path) -> None:
    port = server.split(":")[2].split("/")[0]
    log = tmp_path / "chat.strace"
    env = {name: value for name, value in os.environ.items() if not name.endswith("_OFFLINE")}
    result = subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=connect,sendto,sendmsg",
            "-o",
            str(log),
            sys.executable,
            "-m",
            "assistant",
            "chat",
            "Tell me a short joke.",
            "--model",
            server,
        ],
        capture_output=True,
        text=True,
        env={**env, "ASSISTANT_MAX_REPLY_TOKENS": "16"},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    calls = [line for line in log.read_text(errors="replace").splitlines() if "AF_INET" in line]
    assert calls, "strace saw no connection to the model server"
    elsewhere = [
        call for call in calls if not (f"htons({port})" in call and re.search(r'inet_addr\("127\.0\.0\.1"\)', call))
    ]
    assert elsewhere == [], f"connections beyond the model server: {elsewhere[:3]}"
