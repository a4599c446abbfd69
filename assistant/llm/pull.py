"""Download a catalog model from the Hugging Face hub: resumable and verified.

This is the only code in the app that may open a network connection. The CLI sets the hub
libraries offline for every process; `pull_model` switches that off for its own process
only, right before it talks to the hub.

The download goes to `<models>/.partial/<name>.gguf.part` next to a small JSON note of the
remote file's ETag, so an interrupted pull (lost connection, Ctrl-C, a reboot) continues
from where it stopped on the next `assistant models pull NAME`, as long as the file on the
hub has not changed. Only a file whose size, checksum and GGUF header check out is moved to
`<models>/<name>.gguf`, where every command finds it by name.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant import locations
from assistant.errors import ModelError
from assistant.llm.catalog import CatalogEntry, installed_path, load_catalog
from assistant.llm.gguf import GGUFInfo, inspect_gguf

DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_REVISION = "main"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GIT_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_HASH_CHUNK = 4 * 1024 * 1024


# Called with (bytes on disk, total bytes or None) as a download goes.
PullProgress = Callable[[int, int | None], None]


class PullCancelled(ModelError):
    """The user stopped a download; what was fetched stays, and the next pull resumes from it."""


@dataclass(frozen=True)
class RemoteFile:
    url: str
    size: int | None
    etag: str
    commit: str | None


@dataclass(frozen=True)
class PullResult:
    name: str
    path: Path
    size: int
    checksum: str | None  # "sha256:<hex>" or "git-sha1:<hex>" when the hub gave one to verify against
    resumed_from: int
    already_present: bool
    info: GGUFInfo


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def partial_path(name: str) -> Path:
    return locations.models_dir() / ".partial" / f"{name}.gguf.part"


def _note_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def pullable_entry(name: str) -> CatalogEntry:
    entry = load_catalog().get(name)
    if entry is None:
        known = ", ".join(n for n, e in load_catalog().items() if e.repo and not e.bundled)
        raise ModelError(f"unknown model {name!r}; models you can pull: {known}")
    if entry.bundled:
        raise ModelError(f"{name!r} is bundled with the app; there is nothing to download")
    if not entry.repo or not entry.file:
        raise ModelError(f"catalog entry {name!r} has no hub repo and file to download from")
    return entry


def _allow_network() -> Any:
    """Turn the hub library's offline switch off for this process and return its module."""
    # huggingface_hub reads HF_HUB_OFFLINE when first imported and checks the module
    # constant on every request, so set both: the variable for a first import, the
    # constant in case something imported it earlier.
    os.environ["HF_HUB_OFFLINE"] = "0"
    import huggingface_hub.constants as hub_constants

    hub_constants.HF_HUB_OFFLINE = False
    from huggingface_hub.utils import logging as hub_logging

    # Its retry warnings would break the one-line error contract; outcomes are reported by us.
    hub_logging.set_verbosity_error()
    return hub_constants


def _describe_network_error(error: BaseException, endpoint: str) -> ModelError:
    import httpx2
    from huggingface_hub import errors as hub_errors

    if isinstance(error, hub_errors.GatedRepoError):
        return ModelError(f"the repository is gated on {endpoint}; accept its licence on the hub first")
    if isinstance(error, hub_errors.RepositoryNotFoundError):
        return ModelError(f"the model repository was not found on {endpoint}")
    if isinstance(error, hub_errors.RevisionNotFoundError):
        return ModelError(f"the revision was not found on {endpoint}")
    if isinstance(error, hub_errors.RemoteEntryNotFoundError):
        return ModelError(f"the model file was not found on {endpoint}")
    if isinstance(error, hub_errors.HfHubHTTPError):
        status = error.response.status_code if error.response is not None else "?"
        return ModelError(f"the model hub at {endpoint} answered HTTP {status}; try again later")
    if isinstance(error, httpx2.HTTPError | hub_errors.OfflineModeIsEnabled | ConnectionError | TimeoutError):
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return ModelError(f"cannot reach the model hub at {endpoint} ({reason}); check your internet connection")
    if isinstance(error, hub_errors.FileMetadataError):
        return ModelError(f"{endpoint} does not look like a Hugging Face hub: {str(error).splitlines()[0]}")
    raise error


def _disk_error(error: OSError, where: Path) -> ModelError:
    if error.errno == errno.ENOSPC:
        return ModelError(f"not enough disk space in {where}; free some space and run the pull again to resume")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ModelError(f"cannot write to {where}: {error.strerror}")
    return ModelError(f"disk error in {where}: {error.strerror or error}")


def remote_file(entry: CatalogEntry, endpoint: str, revision: str = DEFAULT_REVISION) -> RemoteFile:
    _allow_network()
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    assert entry.repo is not None
    url = hf_hub_url(entry.repo, entry.file, revision=revision, endpoint=endpoint)
    try:
        metadata = get_hf_file_metadata(url, token=False, endpoint=endpoint, retry_on_errors=True)
    except Exception as error:  # the hub library raises many types; each becomes one line or is re-raised
        raise _describe_network_error(error, endpoint) from None
    if not metadata.etag:
        raise ModelError(f"{endpoint} gave no ETag for {entry.file}; cannot verify a download from it")
    return RemoteFile(url=metadata.location, size=metadata.size, etag=metadata.etag, commit=metadata.commit_hash)


def _file_checksum(path: Path, etag: str) -> tuple[str, str] | None:
    """(kind, hex digest) of `path` comparable with the hub's ETag, or None if the ETag is opaque."""
    if _SHA256.match(etag):
        digest = hashlib.sha256()
        kind = "sha256"
    elif _GIT_SHA1.match(etag):
        # Small files in a hub repo are plain git blobs; their ETag is the git object id.
        digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
        kind = "git-sha1"
    else:
        return None
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return kind, digest.hexdigest()


def _resume_offset(part: Path, remote: RemoteFile) -> int:
    """Bytes of `part` that belong to this same remote file; discards a stale partial."""
    note = _note_path(part)
    if not part.exists():
        return 0
    try:
        saved = json.loads(note.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    size = part.stat().st_size
    if saved.get("etag") != remote.etag or (remote.size is not None and size > remote.size):
        part.unlink(missing_ok=True)
        return 0
    return size


def _progress_class(enabled: bool, on_progress: PullProgress | None, cancel: threading.Event | None, start: int) -> Any:
    from tqdm import tqdm

    class ProgressBar(tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("file", sys.stderr)
            kwargs["disable"] = not enabled
            kwargs.setdefault("dynamic_ncols", True)
            kwargs.setdefault("unit_divisor", 1024)
            super().__init__(*args, **kwargs)
            self.fetched = start

        def update(self, n: float | None = 1) -> bool | None:
            # Called with each chunk before it is written: stopping here keeps every byte on disk valid.
            if cancel is not None and cancel.is_set():
                raise PullCancelled("download stopped; pull again to resume")
            self.fetched += int(n or 0)
            if on_progress is not None:
                on_progress(self.fetched, self.total)
            return super().update(n)  # type: ignore[no-any-return]

    return ProgressBar


def _download(
    remote: RemoteFile,
    part: Path,
    resume_from: int,
    progress: bool,
    on_progress: PullProgress | None = None,
    cancel: threading.Event | None = None,
) -> None:
    from huggingface_hub.file_download import http_get

    _note_path(part).write_text(json.dumps({"etag": remote.etag, "size": remote.size, "url": remote.url}))
    mode = "r+b" if resume_from else "wb"
    with part.open(mode) as handle:
        handle.seek(resume_from)
        handle.truncate()
        http_get(
            remote.url,
            handle,
            resume_size=resume_from,
            expected_size=remote.size,
            displayed_filename=part.name.removesuffix(".part"),
            tqdm_class=_progress_class(progress, on_progress, cancel, resume_from),
        )


def _verify(part: Path, remote: RemoteFile, name: str) -> tuple[str | None, GGUFInfo]:
    size = part.stat().st_size
    if remote.size is not None and size != remote.size:
        raise ModelError(f"download of {name!r} is {size} bytes, expected {remote.size}; run the pull again")
    checksum = _file_checksum(part, remote.etag)
    if checksum is not None and checksum[1] != remote.etag:
        part.unlink(missing_ok=True)
        _note_path(part).unlink(missing_ok=True)
        raise ModelError(
            f"download of {name!r} is corrupt ({checksum[0]} does not match the hub's); "
            "it was deleted, run the pull again"
        )
    try:
        info = inspect_gguf(part)
    except ModelError as error:
        part.unlink(missing_ok=True)
        _note_path(part).unlink(missing_ok=True)
        raise ModelError(f"download of {name!r} is not a usable GGUF file ({error}); it was deleted") from None
    return (f"{checksum[0]}:{checksum[1]}" if checksum else None), info


def pull_model(
    name: str,
    *,
    endpoint: str | None = None,
    revision: str = DEFAULT_REVISION,
    progress: bool = True,
    force: bool = False,
    on_start: Callable[[RemoteFile, int], None] | None = None,
    on_progress: PullProgress | None = None,
    cancel: threading.Event | None = None,
) -> PullResult:
    """Download catalog model `name` into the models dir (resuming a partial download).

    `on_progress` hears how far it is; setting `cancel` stops it with `PullCancelled`.
    """
    entry = pullable_entry(name)
    target = installed_path(name)
    if target.exists() and not force:
        try:
            info = inspect_gguf(target)
        except ModelError as error:
            raise ModelError(f"{error}; download it again with `assistant models pull {name} --force`") from None
        return PullResult(name, target, target.stat().st_size, None, 0, True, info)
    endpoint = (endpoint or hub_endpoint()).rstrip("/")
    remote = remote_file(entry, endpoint, revision)
    part = partial_path(name)
    try:
        locations.ensure_private_dir(part.parent)
        resume_from = _resume_offset(part, remote)
        if remote.size is not None:
            needed, free = remote.size - resume_from, shutil.disk_usage(part.parent).free
            if needed > free:
                raise ModelError(
                    f"not enough disk space in {part.parent}: the download needs {needed / 1e6:,.0f} MB more, "
                    f"{free / 1e6:,.0f} MB are free"
                )
        if on_start is not None:
            on_start(remote, resume_from)
        try:
            _download(remote, part, resume_from, progress, on_progress, cancel)
        except PullCancelled:
            raise
        except Exception as error:
            if isinstance(error, OSError) and error.errno is not None:
                raise  # a local disk problem, described below
            if "Consistency check failed" in str(error):
                # The hub library's word for a body shorter than announced.
                raise ModelError(f"download of {name!r} stopped early; run the pull again to resume") from None
            raise _describe_network_error(error, endpoint) from None
        checksum, info = _verify(part, remote, name)
        os.replace(part, target)
        _note_path(part).unlink(missing_ok=True)
    except OSError as error:
        raise _disk_error(error, part.parent) from None
    return PullResult(name, target, target.stat().st_size, checksum, resume_from, False, info)
