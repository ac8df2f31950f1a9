"""The embedded default: one SQLite file in WAL mode, shared safely by processes.

Keys live in a WITHOUT ROWID table whose BLOB primary key sorts bytewise. Named locks
are `flock`s on files beside the database, so the kernel releases them when a holder
dies; each acquisition also bumps a token row in the database, and fenced batches check
that token inside their transaction.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import itertools
import operator
import os
import sqlite3
import threading
import time
from pathlib import Path

from ..privacy import private_dir, private_file, tighten
from ._errors import (
    CorruptStoreError,
    LockError,
    LockLostError,
    LockTimeoutError,
    StoreError,
)
from ._kv import KV, Fences, Op

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, token INTEGER NOT NULL);
"""


def _translate(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and (
        "not a database" in text or "malformed" in text or "corrupt" in text
    ):
        return CorruptStoreError(
            f"{path}: not a usable Cairn store ({text}); move it aside or restore a backup"
        )
    if "disk is full" in text:
        return StoreError(f"{path}: disk full; the write was not applied")
    if "disk I/O error" in text:
        return StoreError(
            f"{path}: disk I/O error (disk full, file size limit or failing disk);"
            " the write was not applied"
        )
    return StoreError(f"{path}: {text}")


def _missing(path: Path) -> StoreError:
    return StoreError(f"{path}: no such store; check the path (reading never creates one)")


class SQLiteKV(KV):
    """KV in one SQLite file. `durable=True` (default) fsyncs every commit.

    The file (and its directory) is created when missing, unless `must_exist=True`:
    then a missing file raises StoreError and nothing is created, for callers that
    only read (a mistyped path should not turn into a new, empty store).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durable: bool = True,
        timeout: float = 30.0,
        must_exist: bool = False,
    ) -> None:
        self.path = Path(path)
        self._lock_dir = self.path.with_name(self.path.name + ".locks")
        self._mu = threading.RLock()
        self._held: dict[str, tuple[int, int]] = {}  # name -> (fd, token)
        try:
            if must_exist:
                if not self.path.is_file():
                    raise _missing(self.path)
                # mode=rw: SQLite itself refuses to create the file, should it vanish
                # between the check above and this open.
                target: str | Path = f"{self.path.absolute().as_uri()}?mode=rw"
            else:
                # Owner-only, whatever the umask: SQLite gives the -wal and -shm files it
                # creates the database file's mode, so creating that one 0600 covers all.
                private_dir(self.path.parent)
                private_file(self.path)
                target = self.path
            self._db = sqlite3.connect(
                target,
                timeout=timeout,
                isolation_level=None,
                check_same_thread=False,
                uri=must_exist,
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._db.executescript(_SCHEMA)
            for suffix in ("", "-wal", "-shm"):  # made by an older Cairn, perhaps 0644
                tighten(f"{self.path}{suffix}")
        except sqlite3.Error as exc:
            if must_exist and not self.path.exists():
                raise _missing(self.path) from None
            raise _translate(self.path, exc) from None
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot open: {exc.strerror}") from None

    # -- reads -------------------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        self._check_open()
        with self._mu:
            try:
                row = self._db.execute("SELECT v FROM kv WHERE k = ?", (bytes(key),)).fetchone()
            except sqlite3.Error as exc:
                raise _translate(self.path, exc) from None
        return None if row is None else bytes(row[0])

    def _scan_page(
        self, start: bytes, end: bytes, after: bytes | None, limit: int
    ) -> list[tuple[bytes, bytes]]:
        self._check_open()
        with self._mu:
            try:
                if after is None:
                    rows = self._db.execute(
                        "SELECT k, v FROM kv WHERE k >= ? AND k <= ? ORDER BY k LIMIT ?",
                        (start, end, limit),
                    ).fetchall()
                else:
                    rows = self._db.execute(
                        "SELECT k, v FROM kv WHERE k > ? AND k >= ? AND k <= ? ORDER BY k LIMIT ?",
                        (after, start, end, limit),
                    ).fetchall()
            except sqlite3.Error as exc:
                raise _translate(self.path, exc) from None
        return [(bytes(k), bytes(v)) for k, v in rows]

    # -- writes ------------------------------------------------------------------------

    def _apply(self, ops: list[Op], fences: Fences) -> None:
        self._check_open()
        with self._mu:
            cur = self._db.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                for fence in fences:
                    row = cur.execute(
                        "SELECT token FROM locks WHERE name = ?", (fence[0],)
                    ).fetchone()
                    if row is None or row[0] != fence[1] or fence[0] not in self._held:
                        raise LockLostError(
                            f"lock {fence[0]!r} is no longer held with token {fence[1]}"
                        )
                # Runs of sets go to executemany, in order: one statement step per row
                # instead of one Python call into sqlite3 per row (3x faster in bulk).
                for kind, run in itertools.groupby(ops, key=operator.itemgetter(0)):
                    if kind == "set":
                        cur.executemany(
                            "INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)",
                            (op[1:] for op in run),
                        )
                    elif kind == "delete":
                        cur.executemany("DELETE FROM kv WHERE k = ?", (op[1:] for op in run))
                    else:
                        cur.executemany(
                            "DELETE FROM kv WHERE k >= ? AND k <= ?", (op[1:] for op in run)
                        )
                cur.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    cur.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise _translate(self.path, exc) from None
                raise

    # -- locks -------------------------------------------------------------------------

    def _lock_file(self, name: str) -> Path:
        digest = hashlib.sha256(name.encode()).hexdigest()[:32]
        return self._lock_dir / f"{digest}.lock"

    def lock(self, name: str, timeout: float | None = None) -> int:
        self._check_open()
        private_dir(self._lock_dir)
        fd = os.open(self._lock_file(name), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if timeout is None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                # flock has no timeout; poll with LOCK_NB until the deadline.
                deadline = time.monotonic() + timeout
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except OSError as exc:
                        if exc.errno not in (errno.EAGAIN, errno.EACCES):
                            raise
                        if time.monotonic() >= deadline:
                            raise LockTimeoutError(
                                f"lock {name!r} not acquired within {timeout}s"
                            ) from None
                        time.sleep(0.005)
            with self._mu:
                cur = self._db.cursor()
                cur.execute("BEGIN IMMEDIATE")
                try:
                    cur.execute(
                        "INSERT INTO locks (name, token) VALUES (?, 1) "
                        "ON CONFLICT(name) DO UPDATE SET token = token + 1",
                        (name,),
                    )
                    token = int(
                        cur.execute("SELECT token FROM locks WHERE name = ?", (name,)).fetchone()[0]
                    )
                    cur.execute("COMMIT")
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                self._held[name] = (fd, token)
            return token
        except BaseException:
            os.close(fd)
            raise

    def unlock(self, name: str) -> None:
        with self._mu:
            held = self._held.pop(name, None)
        if held is None:
            raise LockError(f"lock {name!r} is not held")
        os.close(held[0])  # closing the descriptor releases the flock

    def close(self) -> None:
        if self._closed:
            return
        with self._mu:
            for fd, _ in self._held.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._held.clear()
            self._db.close()
            self._closed = True
