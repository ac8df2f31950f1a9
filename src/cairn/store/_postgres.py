"""The shared backend: one PostgreSQL database that many processes and machines use.

Keys live in a table whose bytea primary key sorts bytewise. Named locks are session
advisory locks, each held on a connection of its own, so the server releases a lock when
its holder's connection or process dies; each acquisition also bumps a token row, and
fenced batches check that token inside their transaction.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeAlias, TypeVar

import psycopg
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict

from ._errors import (
    LockError,
    LockLostError,
    LockTimeoutError,
    StoreClosedError,
    StoreError,
    StoreUnavailableError,
)
from ._kv import KV, Fence, Fences, Op

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS cairn_kv (k bytea PRIMARY KEY, v bytea NOT NULL)",
    "CREATE TABLE IF NOT EXISTS cairn_locks (name text PRIMARY KEY, token bigint NOT NULL)",
]
# Two-int advisory keys never collide with the one-bigint keys that named locks use.
_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(1667330418, 1)"

_SET = (
    "INSERT INTO cairn_kv (k, v) SELECT * FROM unnest(%b::bytea[], %b::bytea[]) "
    "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
)
_DELETE = "DELETE FROM cairn_kv WHERE k = ANY(%b::bytea[])"
_DELETE_RANGE = "DELETE FROM cairn_kv WHERE k >= %b AND k <= %b"
_FENCE = "SELECT token FROM cairn_locks WHERE name = %s FOR SHARE"
_LOCK = "SELECT pg_advisory_lock(hashtextextended(%s, 0))"
_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended(%s, 0))"
_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', %s, false)"
_BUMP = (
    "INSERT INTO cairn_locks (name, token) VALUES (%s, 1) "
    "ON CONFLICT (name) DO UPDATE SET token = cairn_locks.token + 1 RETURNING token"
)

# One statement writes at most this many rows or bytes, so a huge batch is sent in
# parts (still inside one transaction) rather than as one giant array.
_CHUNK_ROWS = 5000
_CHUNK_BYTES = 8 << 20
# Lock connections kept open after unlock: taking a lock then costs no new connection.
_IDLE_LOCK_CONNS = 4

# Connection failures that mean the server is fine but refuses us: retrying won't help.
_REFUSALS = ("authentication failed", "does not exist", "no pg_hba.conf entry", "permission")

Conn: TypeAlias = psycopg.Connection[tuple[Any, ...]]
T = TypeVar("T")


class _Progress:
    """How far an operation got, to tell what a lost connection means for it."""

    started = False  # the first round trip succeeded: the connection was alive
    committing = False  # COMMIT was sent: the outcome is unknown if it fails


def _lost(conn: Conn, exc: psycopg.Error) -> bool:
    """True if `exc` means the connection is gone (server down, restarted, killed us)."""
    if conn.closed or conn.broken:
        return True
    state = exc.sqlstate or ""
    return state.startswith("08") or state in ("57P01", "57P02", "57P03")


def _first_line(exc: psycopg.Error) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _chunks(pairs: list[tuple[bytes, bytes]]) -> Iterator[list[tuple[bytes, bytes]]]:
    chunk: list[tuple[bytes, bytes]] = []
    size = 0
    for pair in pairs:
        chunk.append(pair)
        size += len(pair[0]) + len(pair[1])
        if len(chunk) >= _CHUNK_ROWS or size >= _CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


class PostgresKV(KV):
    """KV in one PostgreSQL database, given as a `postgresql://` URL."""

    def __init__(self, url: str, *, connect_timeout: float = 10) -> None:
        self._url = url
        self._timeout = max(1, math.ceil(connect_timeout))
        self._secret = ""
        match = re.match(r"^[a-z]+://[^:/@]*:([^@/]*)@", url)
        if match:
            self._secret = match.group(1)
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise StoreError(self._scrub(f"invalid PostgreSQL URL: {exc}")) from None
        self._secret = str(params.get("password") or self._secret)
        host = str(params.get("host") or os.environ.get("PGHOST") or "localhost")
        port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
        self._where = f"{host}:{port}"
        self._mu = threading.RLock()  # guards the data connection
        self._held_mu = threading.Lock()  # guards _held, _waiting and _idle
        self._held: dict[str, tuple[Conn, int]] = {}  # name -> (its connection, token)
        self._waiting: set[Conn] = set()  # lock connections still waiting for their lock
        self._idle: list[Conn] = []  # lock connections holding nothing, kept for reuse
        self._conn: Conn | None = self._connect()
        try:
            self._run(self._create_schema, "create the schema")
        except BaseException:
            self.close()
            raise

    # -- connections -------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def _connect(self) -> Conn:
        try:
            return psycopg.connect(self._url, autocommit=True, connect_timeout=self._timeout)
        except psycopg.Error as exc:
            # "connection failed: connection to server at ..., port ... failed: REASON"
            reason = _first_line(exc).rsplit("failed: ", 1)[-1].removeprefix("FATAL:").strip()
            reason = self._scrub(reason[:1].lower() + reason[1:])
            if any(word in reason for word in _REFUSALS):
                raise StoreError(
                    f"PostgreSQL at {self._where} refused the connection: {reason}"
                ) from None
            raise StoreUnavailableError(
                f"cannot reach PostgreSQL at {self._where}: {reason}; is the server running?"
            ) from None

    def _translate(self, exc: psycopg.Error, what: str) -> StoreError:
        text = self._scrub(_first_line(exc))
        if isinstance(exc, errors.DiskFull):
            return StoreError(f"PostgreSQL at {self._where}: disk full; could not {what}")
        return StoreError(f"PostgreSQL at {self._where}: could not {what}: {text}")

    def _run(self, work: Callable[[Conn, _Progress], T], what: str) -> T:
        """Run `work` on the data connection, reconnecting if the connection went stale.

        A connection that died while idle (the server restarted between two calls) fails
        on its first round trip; then nothing was done, so `work` runs again on a fresh
        connection. A connection lost later raises StoreUnavailableError, and the next
        call reconnects.
        """
        with self._mu:
            self._check_open()
            for attempt in range(2):
                fresh = self._conn is None
                conn = self._conn = self._connect() if self._conn is None else self._conn
                progress = _Progress()
                try:
                    return work(conn, progress)
                except psycopg.Error as exc:
                    if not _lost(conn, exc):
                        raise self._translate(exc, what) from None
                    self._conn = None
                    with contextlib.suppress(psycopg.Error):
                        conn.close()
                    if attempt == 0 and not fresh and not progress.started:
                        continue
                    raise self._unavailable(exc, what, progress) from None
            raise AssertionError("unreachable")

    def _unavailable(self, exc: psycopg.Error, what: str, progress: _Progress) -> StoreError:
        first = _first_line(exc)
        if progress.committing:
            outcome = "; the server may or may not have applied it"
        elif what == "apply the batch":
            outcome = "; the batch was not applied"
        else:
            outcome = ""
        return StoreUnavailableError(
            self._scrub(
                f"lost the connection to PostgreSQL at {self._where} ({first}) "
                f"while trying to {what}{outcome}; the next call reconnects"
            )
        )

    @staticmethod
    def _create_schema(conn: Conn, progress: _Progress) -> None:
        with conn.transaction():
            progress.started = True
            conn.execute(_SCHEMA_LOCK)  # CREATE IF NOT EXISTS races with itself otherwise
            for statement in _SCHEMA:
                conn.execute(statement)

    # -- reads -------------------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        def work(conn: Conn, _: _Progress) -> bytes | None:
            row = conn.execute(
                "SELECT v FROM cairn_kv WHERE k = %b", (bytes(key),), binary=True
            ).fetchone()
            return None if row is None else bytes(row[0])

        return self._run(work, "read")

    def _scan_page(
        self, start: bytes, end: bytes, after: bytes | None, limit: int
    ) -> list[tuple[bytes, bytes]]:
        def work(conn: Conn, _: _Progress) -> list[tuple[Any, ...]]:
            if after is None:
                return conn.execute(
                    "SELECT k, v FROM cairn_kv WHERE k >= %b AND k <= %b ORDER BY k LIMIT %s",
                    (start, end, limit),
                    binary=True,
                ).fetchall()
            return conn.execute(
                "SELECT k, v FROM cairn_kv WHERE k > %b AND k >= %b AND k <= %b "
                "ORDER BY k LIMIT %s",
                (after, start, end, limit),
                binary=True,
            ).fetchall()

        rows = self._run(work, "scan")
        return [(bytes(k), bytes(v)) for k, v in rows]

    # -- writes ------------------------------------------------------------------------

    def _apply(self, ops: list[Op], fences: Fences) -> None:
        def work(conn: Conn, progress: _Progress) -> None:
            if len(ops) == 1 and not fences:
                # One statement on an autocommit connection is atomic by itself: skip
                # the BEGIN/COMMIT round trips (halves the cost of a single `set`).
                progress.started = progress.committing = True
                self._write(conn, ops)
                return
            with conn.transaction():
                progress.started = True
                for fence in fences:
                    self._check_fence(conn, fence)
                self._write(conn, ops)
                progress.committing = True  # leaving the block sends COMMIT

        self._run(work, "apply the batch")

    def _check_fence(self, conn: Conn, fence: Fence) -> None:
        # FOR SHARE: a new holder's token bump waits until this transaction ends, so
        # the write lands before the lock moves on, or fails here.
        row = conn.execute(_FENCE, (fence[0],)).fetchone()
        with self._held_mu:
            held = self._held.get(fence[0])
        if row is None or row[0] != fence[1] or held is None or held[1] != fence[1]:
            raise LockLostError(f"lock {fence[0]!r} is no longer held with token {fence[1]}")

    @staticmethod
    def _write(conn: Conn, ops: list[Op]) -> None:
        """Run ops in order, each run of sets or deletes as a few array statements."""
        i = 0
        while i < len(ops):
            op = ops[i]
            if op[0] == "delete_range":
                conn.execute(_DELETE_RANGE, (op[1], op[2]))
                i += 1
                continue
            j = i
            while j < len(ops) and ops[j][0] == op[0]:
                j += 1
            if op[0] == "set":
                # One statement cannot set a key twice; within a run, the last set wins.
                latest = {o[1]: o[2] for o in ops[i:j] if o[0] == "set"}
                for chunk in _chunks(list(latest.items())):
                    conn.execute(_SET, ([k for k, _ in chunk], [v for _, v in chunk]))
            else:
                keys = list(dict.fromkeys(o[1] for o in ops[i:j]))
                for chunk in _chunks([(k, b"") for k in keys]):
                    conn.execute(_DELETE, ([k for k, _ in chunk],))
            i = j

    # -- locks -------------------------------------------------------------------------

    def lock(self, name: str, timeout: float | None = None) -> int:
        self._check_open()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._held_mu:
            conn = self._idle.pop() if self._idle else None
        for attempt in range(2):
            pooled = conn is not None
            conn = self._connect() if conn is None else conn
            with self._held_mu:
                self._waiting.add(conn)
            try:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                self._acquire(conn, name, left, timeout)
                row = conn.execute(_BUMP, (name,)).fetchone()
                assert row is not None
                token = int(row[0])
                with self._held_mu:
                    self._waiting.discard(conn)
                    if not self._closed:
                        self._held[name] = (conn, token)
                        return token
                conn.close()  # closed meanwhile: releases the lock just taken
                raise StoreClosedError("the store is closed")
            except LockTimeoutError:
                self._release(conn)
                raise
            except psycopg.Error as exc:
                with self._held_mu:
                    self._waiting.discard(conn)
                with contextlib.suppress(psycopg.Error):
                    conn.close()  # releases the advisory lock if it was taken
                if self._closed:
                    raise StoreClosedError("the store is closed") from None
                if not _lost(conn, exc):
                    raise self._translate(exc, f"take lock {name!r}") from None
                if attempt == 0 and pooled:  # an idle connection went stale: no lock was held
                    conn = None
                    continue
                raise self._unavailable(exc, f"take lock {name!r}", _Progress()) from None
            except BaseException:
                with self._held_mu:
                    self._waiting.discard(conn)
                with contextlib.suppress(psycopg.Error):
                    conn.close()
                raise
        raise AssertionError("unreachable")

    @staticmethod
    def _acquire(conn: Conn, name: str, left: float | None, timeout: float | None) -> None:
        """Take the advisory lock on `conn`, waiting at most `left` seconds (None: forever)."""
        if left is None:
            conn.execute(_LOCK, (name,))
            return
        if left <= 0:
            row = conn.execute(_TRY_LOCK, (name,)).fetchone()
            if row is None or not row[0]:
                raise LockTimeoutError(f"lock {name!r} not acquired within {timeout}s")
            return
        # The server waits for the lock itself; lock_timeout bounds the wait.
        conn.execute(_LOCK_TIMEOUT, (f"{math.ceil(left * 1000)}ms",))
        try:
            conn.execute(_LOCK, (name,))
            timed_out = False
        except errors.LockNotAvailable:
            timed_out = True
        conn.execute(_LOCK_TIMEOUT, ("0",))
        if timed_out:
            raise LockTimeoutError(f"lock {name!r} not acquired within {timeout}s")

    def _release(self, conn: Conn) -> None:
        """Keep a lock connection that holds nothing for the next lock(), or close it."""
        with self._held_mu:
            self._waiting.discard(conn)
            if not self._closed and not conn.broken and len(self._idle) < _IDLE_LOCK_CONNS:
                self._idle.append(conn)
                return
        with contextlib.suppress(psycopg.Error):
            conn.close()

    def unlock(self, name: str) -> None:
        with self._held_mu:
            held = self._held.pop(name, None)
        if held is None:
            raise LockError(f"lock {name!r} is not held")
        conn = held[0]
        try:
            row = conn.execute(_UNLOCK, (name,)).fetchone()
        except psycopg.Error:
            row = None  # the connection is gone, and the lock with it
        if row is not None and row[0]:
            self._release(conn)
        else:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def close(self) -> None:
        with self._held_mu:
            if self._closed:
                return
            self._closed = True
            held = [conn for conn, _ in self._held.values()] + self._idle
            waiting = list(self._waiting)
            self._held.clear()
            self._idle.clear()
        for conn in waiting:  # wake lock() calls blocked on the server; they clean up
            with contextlib.suppress(psycopg.Error):
                conn.cancel_safe(timeout=5)
        for conn in held:  # closing a lock's connection releases its lock
            with contextlib.suppress(psycopg.Error):
                conn.close()
        with self._mu:
            if self._conn is not None:
                with contextlib.suppress(psycopg.Error):
                    self._conn.close()
                self._conn = None
