"""Owner-only files: what Cairn keeps (the config dir, stores, logs, locks) is readable by
its owner alone, whatever the umask.

Directories Cairn creates are 0700 at every level it creates; files 0600. An existing
directory or file is tightened (group and other bits dropped) only when the current user
owns it and it is not a shared sticky directory such as /tmp: Cairn never changes the mode
of what is not its own.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def tighten(path: str | os.PathLike[str]) -> None:
    """Drop group and other permissions of `path` if it is ours (not a symlink, not sticky)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & stat.S_ISVTX:
        return
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        os.chmod(path, mode & ~0o077)


def private_dir(path: str | os.PathLike[str], *, tighten_existing: bool = False) -> Path:
    """Create `path` and its missing parents as 0700 (whatever the umask); return it.

    With `tighten_existing`, an existing `path` of ours loses its group/other bits too (the
    config dir); its existing parents are never changed. Raises OSError.
    """
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            directory.mkdir(mode=DIR_MODE)
            os.chmod(directory, DIR_MODE)
    if tighten_existing and not missing:
        tighten(path)
    return path


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create `path` empty as 0600 if it is missing, else tighten it; return it. OSError."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        tighten(path)
    else:
        try:
            os.fchmod(fd, FILE_MODE)
        finally:
            os.close(fd)
    return path
