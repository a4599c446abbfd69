"""`assistant models pull` against a local HTTP server standing in for the Hugging Face hub.

The server speaks the part of the hub protocol huggingface_hub uses to download one file:
HEAD and GET on `/{repo}/resolve/{revision}/{file}` with X-Repo-Commit, ETag /
X-Linked-Etag (the sha256 of an LFS file), X-Linked-Size and byte ranges. It serves the
real starter GGUF, and can drop a connection midway or serve corrupted bytes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

PULL_NAME = "smollm2-1.7b-instruct"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class HubFile:
    content: bytes
    etag: str  # what the hub claims: the sha256 of the true file
    drop_first_get_after: int | None = None  # bytes sent before the first GET's connection is cut
    fail_after_drop_with: int | None = None  # HTTP status for every request after the drop, if any


@dataclass
class FakeHub:
    files: dict[str, HubFile] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    dropped: bool = False
    port: int = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def gets(self) -> list[tuple[str, str, str | None]]:
        return [request for request in self.requests if request[0] == "GET"]


def _handler_for(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _file(self) -> HubFile | None:
            parts = self.path.split("?")[0].strip("/").split("/")
            # {owner}/{repo}/resolve/{revision}/{file}
            if len(parts) != 5 or parts[2] != "resolve":
                return None
            return hub.files.get(f"{parts[0]}/{parts[1]}/{parts[4]}")

        def _not_found(self) -> None:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _common_headers(self, served: HubFile) -> None:
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{served.etag}"')
            self.send_header("X-Linked-Etag", f'"{served.etag}"')
            self.send_header("X-Linked-Size", str(len(served.content)))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "application/octet-stream")

        def _failing(self, served: HubFile) -> bool:
            if hub.dropped and served.fail_after_drop_with is not None:
                self.send_response(served.fail_after_drop_with)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True
            return False

        def do_HEAD(self) -> None:
            hub.requests.append(("HEAD", self.path, self.headers.get("Range")))
            served = self._file()
            if served is None:
                return self._not_found()
            if self._failing(served):
                return None
            self.send_response(200)
            self._common_headers(served)
            self.send_header("Content-Length", str(len(served.content)))
            self.end_headers()
            return None

        def do_GET(self) -> None:
            range_header = self.headers.get("Range")
            hub.requests.append(("GET", self.path, range_header))
            served = self._file()
            if served is None:
                return self._not_found()
            if self._failing(served):
                return None
            total = len(served.content)
            start = 0
            if range_header:
                start = int(range_header.removeprefix("bytes=").split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{total - 1}/{total}")
            else:
                self.send_response(200)
            self._common_headers(served)
            self.send_header("Content-Length", str(total - start))
            self.end_headers()
            body = memoryview(served.content)[start:]
            if served.drop_first_get_after is not None and not hub.dropped:
                hub.dropped = True
                self.wfile.write(body[: served.drop_first_get_after])
                self.wfile.flush()
                self.close_connection = True
                self.connection.close()  # cut mid-body: the client sees a short read
                return None
            self.wfile.write(body)
            return None

    return Handler


@pytest.fixture(scope="session")
def starter_bytes(starter_model_path: Path) -> bytes:
    return starter_model_path.read_bytes()


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    fake = FakeHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def _serve_starter_as_pull_target(hub: FakeHub, content: bytes, **options: object) -> str:
    from assistant.llm.catalog import load_catalog

    entry = load_catalog()[PULL_NAME]
    sha = hashlib.sha256(content).hexdigest()
    hub.files[f"{entry.repo}/{entry.file}"] = HubFile(content=content, etag=sha, **options)  # type: ignore[arg-type]
    return sha


def _installed(data_dir: Path) -> Path:
    return data_dir / "models" / f"{PULL_NAME}.gguf"


def _one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_pull_downloads_verifies_and_makes_the_model_usable_by_name(
    cli, hub: FakeHub, starter_bytes: bytes, isolated_dirs: Path
) -> None:
    sha = _serve_starter_as_pull_target(hub, starter_bytes)
    # HF_HUB_OFFLINE=1 is set for the whole test session: pull must lift it for itself.
    result = cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": hub.endpoint, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert "sha256 verified" in result.stdout
    target = _installed(isolated_dirs)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == sha
    assert [request[2] for request in hub.gets()] == [None]
    assert not list((isolated_dirs / "models" / ".partial").iterdir())

    listed = {row["name"]: row for row in json.loads(cli("models", "list", "--json").stdout)}
    assert listed[PULL_NAME]["available"] and listed[PULL_NAME]["source"] == "pulled"

    chat = cli("chat", "--model", PULL_NAME, "Say hello.", env={"ASSISTANT_MAX_REPLY_TOKENS": "16"})
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.strip()

    again = cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": hub.endpoint})
    assert again.returncode == 0 and "already downloaded" in again.stdout
    assert len(hub.gets()) == 1


def test_interrupted_download_resumes_with_a_range_request(
    cli, hub: FakeHub, starter_bytes: bytes, isolated_dirs: Path
) -> None:
    cut = len(starter_bytes) // 3
    sha = _serve_starter_as_pull_target(hub, starter_bytes, drop_first_get_after=cut)
    result = cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": hub.endpoint})
    assert result.returncode == 0, result.stderr
    gets = hub.gets()
    assert gets[0][2] is None
    # The client keeps whole chunks it received before the cut and asks for the rest.
    resumed_at = int(gets[1][2].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= cut, gets
    assert hashlib.sha256(_installed(isolated_dirs).read_bytes()).hexdigest() == sha


def test_pull_that_fails_midway_resumes_in_the_next_run(
    cli, hub: FakeHub, starter_bytes: bytes, isolated_dirs: Path
) -> None:
    cut = len(starter_bytes) // 2
    sha = _serve_starter_as_pull_target(hub, starter_bytes, drop_first_get_after=cut, fail_after_drop_with=503)
    first = cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": hub.endpoint})
    assert "503" in _one_line_error(first)
    assert not _installed(isolated_dirs).exists()
    partial = isolated_dirs / "models" / ".partial" / f"{PULL_NAME}.gguf.part"
    kept = partial.stat().st_size
    assert 0 < kept <= cut

    hub.files[next(iter(hub.files))].fail_after_drop_with = None
    hub.requests.clear()
    second = cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": hub.endpoint})
    assert second.returncode == 0, second.stderr
    assert "resuming at" in second.stdout
    assert [request[2] for request in hub.gets()] == [f"bytes={kept}-"]
    assert hashlib.sha256(_installed(isolated_dirs).read_bytes()).hexdigest() == sha
    assert not partial.exists()


def test_corrupt_download_is_rejected_and_deleted(cli, hub: FakeHub, starter_bytes: bytes, isolated_dirs: Path) -> None:
    corrupted = bytearray(starter_bytes)
    corrupted[len(corrupted) // 2] ^= 0xFF
    _serve_starter_as_pull_target(hub, starter_bytes)
    hub.files[next(iter(hub.files))].content = bytes(corrupted)  # same size, same claimed sha256
    result = cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": hub.endpoint})
    assert "corrupt" in _one_line_error(result)
    assert not _installed(isolated_dirs).exists()
    assert not (isolated_dirs / "models" / ".partial" / f"{PULL_NAME}.gguf.part").exists()


def test_pull_errors_are_one_line(cli, hub: FakeHub) -> None:
    assert "unknown model" in _one_line_error(cli("models", "pull", "no-such-model"))
    assert "bundled" in _one_line_error(cli("models", "pull", "smollm2-135m-instruct"))
    assert "not found" in _one_line_error(cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": hub.endpoint}))

    closed_port = hub.endpoint.rsplit(":", 1)[0] + ":9"  # discard port: nothing listens there
    unreachable = cli("models", "pull", PULL_NAME, env={"HF_ENDPOINT": closed_port})
    assert _one_line_error(unreachable).startswith("assistant: error: cannot reach the model hub")

    usage = cli("models", "pull")
    assert usage.returncode == 2
