"""Session scratch directories: private to the user, named after the process that owns
them, and removed when it ends — or, after a SIGKILL, by the next session to start.

A directory is `<tmp>/cairn-session-<pid>-<start>-<random>`, mode 0700, its files 0600
whatever the umask (a shell cell's state file holds the whole environment). `<start>`
is the owner's start time in clock ticks since boot (`/proc/<pid>/stat`), so a pid that
an unrelated process took over does not keep a dead session's directory alive. Without
`/proc` the start is 0 and a live pid is trusted: when in doubt, a directory is kept.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

from ..privacy import private_file

PREFIX = "cairn-session-"
_NAME_RE = re.compile(r"^cairn-session-(\d+)-(\d+)-")
_swept_by: int | None = None  # pid of the process that already swept (forks sweep again)


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in ticks) of `pid`, or None when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = data[data.rfind(b")") + 2 :].split()
    try:
        return fields[0].decode("ascii", "replace"), int(fields[19])
    except (IndexError, ValueError):
        return None


def _owner_alive(pid: int, start: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists; whose it is, the start time tells
    if start == 0:
        return True  # recorded without /proc: trust the live pid
    found = _proc_stat(pid)
    if found is None:
        return True
    state, actual = found
    return actual == start and state != "Z"


def remove_stale(directory: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove this user's session directories whose owner process is gone; return them."""
    root = Path(directory if directory is not None else tempfile.gettempdir())
    uid = os.getuid()
    removed: list[Path] = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        match = _NAME_RE.match(entry.name)
        if match is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid:
            continue
        if _owner_alive(int(match[1]), int(match[2])):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed


def create() -> Path:
    """A new scratch directory for this process; the first call also sweeps stale ones."""
    global _swept_by
    pid = os.getpid()
    if _swept_by != pid:
        _swept_by = pid
        remove_stale()
    found = _proc_stat(pid)
    start = found[1] if found is not None else 0
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{pid}-{start}-"))


def write_private(path: Path, text: str) -> None:
    """Create `path` 0600 (whatever the umask) and write `text` into it."""
    private_file(path)
    path.write_text(text, encoding="utf-8")
