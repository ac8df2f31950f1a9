"""The file side of the learning log: appending batches of JSON lines to the manifest's
last file, rotating by size, and making each batch durable with one fdatasync.

Several processes may write one log directory at once (`cairn serve` and a `cairn run`
in another terminal): each batch is appended under an exclusive `flock` on `<dir>/.lock`
after checking the manifest, so every process appends to the same current file, batches
never interleave, and no one writes to a file once a newer one is in the manifest (which
is what lets a reader move on from a file for good). The fdatasync runs after the lock is
released, so one process's disk flush does not hold up the others' appends.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ..notebook import new_ulid
from ..privacy import private_dir
from ._manifest import (
    FILE_PREFIX,
    FILE_SUFFIX,
    MANIFEST,
    fsync_dir,
    listed_files,
    read_manifest,
    write_manifest,
)

LOCK_FILE = ".lock"
# Refuse to start below this much free space: the first write would fail anyway.
MIN_FREE_BYTES = 1 << 20


class SegmentWriter:
    """Appends batches of complete lines to `<dir>/events-<ULID>.jsonl`. Raises OSError.

    Not thread-safe: the learning log calls it from its one flusher thread.
    """

    def __init__(self, directory: Path, *, max_file_bytes: int, fsync: bool) -> None:
        if max_file_bytes <= 0:
            raise ValueError("max_file_bytes must be positive")
        self.directory = directory
        self.max_file_bytes = max_file_bytes
        self.fsync = fsync
        self.fsyncs = 0  # data fdatasyncs (one per batch): what group commit saves
        self.bytes_written = 0
        self.files_created = 0
        self._fd = self._lock_fd = -1
        self._name = ""
        self._manifest_id: tuple[int, int, int] | None = None
        private_dir(directory)  # 0700 at every level it creates, the config dir included
        self._check_free_space()
        self._lock_fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            with self._locked():
                self._follow_manifest()
        except BaseException:
            self.close()
            raise

    @property
    def current_file(self) -> Path:
        return self.directory / self._name

    def _check_free_space(self) -> None:
        st = os.statvfs(self.directory)
        if st.f_bavail * st.f_frsize < MIN_FREE_BYTES:
            raise OSError(28, os.strerror(28), str(self.directory))  # ENOSPC

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _manifest_stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.directory / MANIFEST)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _follow_manifest(self) -> None:
        """Under the lock: make the manifest's last file ours, creating the first one."""
        ident = self._manifest_stat()
        if ident is not None and ident == self._manifest_id and self._fd >= 0:
            return
        files = read_manifest(self.directory)
        if files is None:  # missing or corrupt: rebuild it from the directory
            files = listed_files(self.directory)
            if files:
                write_manifest(self.directory, files)
        if not files:
            self._create_file([])
            return
        self._open(files[-1])
        self._manifest_id = self._manifest_stat()

    def _open(self, name: str) -> None:
        if name == self._name and self._fd >= 0:
            return
        fd = os.open(
            self.directory / name, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        if self._fd >= 0:
            os.close(self._fd)
        self._fd, self._name = fd, name

    def _create_file(self, files: list[str]) -> None:
        """Under the lock: start a new file and list it last in the manifest."""
        name = f"{FILE_PREFIX}{new_ulid()}{FILE_SUFFIX}"
        fd = os.open(
            self.directory / name,
            os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
            0o600,
        )
        try:
            fsync_dir(self.directory)
            write_manifest(self.directory, [*files, name])
        except BaseException:
            os.close(fd)
            with suppress(OSError):
                os.unlink(self.directory / name)
            raise
        if self._fd >= 0:
            os.close(self._fd)
        self._fd, self._name = fd, name
        self._manifest_id = self._manifest_stat()
        self.files_created += 1

    def _ends_with_newline(self, size: int) -> bool:
        return size == 0 or os.pread(self._fd, 1, size - 1) == b"\n"

    def write(self, data: bytes) -> None:
        """Append `data` (complete lines) and, in fsync mode, make it durable."""
        with self._locked():
            self._follow_manifest()
            size = os.fstat(self._fd).st_size
            if size > 0 and size + len(data) > self.max_file_bytes:
                files = read_manifest(self.directory)
                self._create_file(listed_files(self.directory) if files is None else files)
                size = 0
            if not self._ends_with_newline(size):
                # A writer died mid-line: end that line so the torn part stays on its own.
                data = b"\n" + data
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError:
                # Leave no half-written batch behind (the lock keeps others out).
                with suppress(OSError):
                    os.ftruncate(self._fd, size)
                raise
        self.bytes_written += len(data)
        if self.fsync:
            os.fdatasync(self._fd)
            self.fsyncs += 1

    def close(self) -> None:
        for fd in (self._fd, self._lock_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._lock_fd = -1
