"""The manifest: which event files make up a learning log, in order.

`<dir>/manifest.json` is `{"version": 1, "files": ["events-<ULID>.jsonl", …]}`, rewritten
atomically (temp file, fsync, rename, fsync of the directory) whenever a file is added.
When it is missing or corrupt, the event files in the directory, sorted by name (ULIDs
sort by creation time), stand in for it.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
FILE_PREFIX = "events-"
FILE_SUFFIX = ".jsonl"


def is_event_file(name: str) -> bool:
    return name.startswith(FILE_PREFIX) and name.endswith(FILE_SUFFIX) and "/" not in name


def read_manifest(directory: Path) -> list[str] | None:
    """The manifest's file names in order; None when it is missing or unreadable."""
    try:
        data = json.loads((directory / MANIFEST).read_bytes())
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return [f for f in files if is_event_file(f)]


def listed_files(directory: Path) -> list[str]:
    """Event files in the directory sorted by name: the fallback for a lost manifest."""
    try:
        return sorted(name for name in os.listdir(directory) if is_event_file(name))
    except OSError:
        return []


def log_files(directory: Path) -> list[str]:
    """The log's file names in order: the manifest's, else the directory listing's."""
    files = read_manifest(directory)
    return files if files is not None else listed_files(directory)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_manifest(directory: Path, files: list[str]) -> None:
    """Replace the manifest atomically and durably. Raises OSError."""
    body = json.dumps({"version": MANIFEST_VERSION, "files": files}, indent=1).encode() + b"\n"
    tmp = directory / f".{MANIFEST}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, directory / MANIFEST)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    fsync_dir(directory)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
