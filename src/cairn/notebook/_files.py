"""Reading runbooks from disk with clear errors, and writing them atomically."""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ._blocks import TextStream
from ._errors import NotebookFileError
from ._markdown import parse_stream
from ._model import Notebook

# Bytes read and decoded at once when a runbook is read piece by piece.
_PIECE = 1 << 20


def _read_error(path: Path, exc: OSError) -> NotebookFileError:
    if isinstance(exc, FileNotFoundError):
        return NotebookFileError(f"{path}: no such file")
    if isinstance(exc, IsADirectoryError):
        return NotebookFileError(f"{path}: is a directory, expected a Markdown file")
    if isinstance(exc, PermissionError):
        return NotebookFileError(f"{path}: permission denied")
    return NotebookFileError(f"{path}: cannot read: {exc.strerror}")


def _binary_error(path: Path, head: bytes) -> NotebookFileError | None:
    if b"\x00" in head[:8192]:
        return NotebookFileError(f"{path}: looks like a binary file (NUL bytes), not Markdown")
    return None


def read_text(path: Path) -> str:
    """Read a runbook's text; every failure becomes one actionable NotebookFileError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _read_error(path, exc) from None
    binary = _binary_error(path, data)
    if binary is not None:
        raise binary
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1
        raise NotebookFileError(
            f"{path}:{line}: invalid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start});"
            " save the file as UTF-8"
        ) from None


def read_pieces(path: Path) -> Iterator[str]:
    """A runbook's text, decoded a piece at a time, with `read_text`'s errors."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            data = handle.read(_PIECE)
            binary = _binary_error(path, data)
            if binary is not None:
                raise binary
            while data:
                yield decoder.decode(data)
                data = handle.read(_PIECE)
            yield decoder.decode(b"", final=True)
    except OSError as exc:
        raise _read_error(path, exc) from None
    except UnicodeDecodeError:
        read_text(path)  # says where, as it always does
        raise NotebookFileError(f"{path}: invalid UTF-8; save the file as UTF-8") from None


def load(path: Path | str) -> Notebook:
    """Read and parse a runbook; what it warns about is in `Notebook.diagnostics`.

    The file is read and parsed a piece at a time: its whole text is never in memory.
    """
    return parse_stream(TextStream(read_pieces(Path(path))))


def format_diagnostics(nb: Notebook, path: Path | str) -> list[str]:
    """`file:line: warning: …` lines for the notebook's diagnostics, in file order."""
    return [
        f"{path}:{d.line}: warning: {d.message}"
        for d in sorted(nb.diagnostics, key=lambda d: d.line)
    ]


def write_atomic(path: Path | str, data: str | bytes, *, force: bool = False) -> Path:
    """Write `data` (text as UTF-8) to `path` via a temp file + fsync + rename: all or
    nothing. Returns the file written: the target when `path` is a symlink.

    Every command that writes a user's file goes through here, so they all behave alike:
    - a symlink is followed: its target is replaced and the link kept;
    - an existing file keeps its mode (and owner and group, where allowed);
    - a read-only file (no write bit, or not writable by us) is refused with
      NotebookFileError unless `force`; so is anything but a regular file;
    - a hard link is broken: `path` gets a new inode with the new content and the file's
      other names keep the old one. Writing in place would keep the links but could
      leave a torn file behind on a crash or a full disk; all-or-nothing wins.
    On any failure (disk full, permission) the old file is untouched and the temp file
    removed.
    """
    path = Path(path)
    target = Path(os.path.realpath(path))
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise NotebookFileError(f"{path}: cannot write: {exc.strerror}") from None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise NotebookFileError(f"{path}: not a regular file; not replacing it")
        mode = stat.S_IMODE(st.st_mode)
        if not force and (not mode & 0o222 or not os.access(target, os.W_OK)):
            raise NotebookFileError(
                f"{path}: is read-only (mode {mode:04o}); not replacing it"
                " (make it writable, or pass --force to replace it and keep its mode)"
            )
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    directory = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise NotebookFileError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if st is not None and (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
            with contextlib.suppress(OSError):  # only root may give a file away
                os.chown(tmp, st.st_uid, st.st_gid)
        os.chmod(tmp, mode)  # after chown, which clears set-id bits
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        reason = "disk full" if exc.errno == errno.ENOSPC else exc.strerror
        raise NotebookFileError(
            f"{path}: cannot write: {reason}; the file was not changed"
        ) from None
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return target
