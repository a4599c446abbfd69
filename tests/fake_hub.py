"""A local HTTP server standing in for the Hugging Face hub, for the download tests.

It speaks the part of the hub protocol huggingface_hub uses to download one file:
HEAD and GET on `/{repo}/resolve/{revision}/{file}` with X-Repo-Commit, ETag /
X-Linked-Etag (the sha256 of an LFS file), X-Linked-Size and byte ranges. It can drop a
connection midway, serve corrupted bytes, or send slowly (to stop a download midway).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class HubFile:
    content: bytes
    etag: str  # what the hub claims: the sha256 of the true file
    drop_first_get_after: int | None = None  # bytes sent before the first GET's connection is cut
    fail_after_drop_with: int | None = None  # HTTP status for every request after the drop, if any
    seconds_per_megabyte: float = 0.0  # > 0: send slowly, a megabyte at a time


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
            if served.seconds_per_megabyte <= 0:
                self.wfile.write(body)
                return None
            for offset in range(0, len(body), 1 << 20):
                try:
                    self.wfile.write(body[offset : offset + (1 << 20)])
                    self.wfile.flush()
                except OSError:  # the client stopped the download
                    return None
                time.sleep(served.seconds_per_megabyte)
            return None

    return Handler


@contextmanager
def serving() -> Iterator[FakeHub]:
    """A fake hub on a free loopback port, for the length of the block (the `hub` fixture)."""
    fake = FakeHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
