"""Ordered key-value storage: the KV interface, SQLite (embedded default), PostgreSQL
(shared), in-memory (tests), ordered key encoding, and timed collections with watchers.

Everything that learns or watches in Cairn stores through this package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ._errors import (
    CorruptStoreError,
    KeyTypeError,
    LockError,
    LockLostError,
    LockTimeoutError,
    StoreClosedError,
    StoreError,
    StoreUnavailableError,
)
from ._kv import KV, Batch, Fence, Fences, fences_of
from ._memory import MemoryKV
from ._sqlite import SQLiteKV


def default_config_dir() -> Path:
    """`$CAIRN_CONFIG_DIR`, else `~/.cairn`."""
    return Path(os.environ.get("CAIRN_CONFIG_DIR") or Path.home() / ".cairn")


@dataclass(frozen=True)
class StoreLocation:
    """Where a store URL points: the one reading of store URLs in Cairn.

    `kind` is "sqlite" (`target` is the file's path), "postgres" (`target` is the URL)
    or "memory" (`target` is empty).
    """

    kind: Literal["sqlite", "postgres", "memory"]
    target: str

    @property
    def is_file(self) -> bool:
        return self.kind == "sqlite"

    def exists(self) -> bool:
        """False only for a SQLite file that is not there yet (a server's database, or
        memory, is taken to exist: only opening it tells)."""
        return not self.is_file or os.path.exists(self.target)


def snapshot(kv: KV) -> MemoryKV:
    """A copy of everything in `kv`, in memory: what a dry run works on, so that it
    changes nothing in the real store (its cost is one full scan)."""
    copy = MemoryKV()
    batch = copy.batch()
    for key, value in kv.scan(b"", b"\xff" * 64):
        batch.set(key, value)
        batch.maybe_apply()
    batch.apply()
    return copy


def store_location(
    url: str | os.PathLike[str] | None = None, *, config_dir: Path | None = None
) -> StoreLocation:
    """Read a store URL: a PostgreSQL URL, `sqlite:///path`, a file path, `memory:`, or
    None for the default SQLite file `<config dir>/cairn.db` (`config_dir`, else
    `default_config_dir()`)."""
    if url is None:
        return StoreLocation("sqlite", os.fspath((config_dir or default_config_dir()) / "cairn.db"))
    text = os.fspath(url)
    if text.startswith(("postgres://", "postgresql://")):
        return StoreLocation("postgres", text)
    if text == "memory:":
        return StoreLocation("memory", "")
    return StoreLocation("sqlite", text.removeprefix("sqlite://"))


def open_store(
    url: str | os.PathLike[str] | None = None,
    *,
    must_exist: bool = False,
    durable: bool = True,
    config_dir: Path | None = None,
) -> KV:
    """Open a store: a PostgreSQL URL, `sqlite:///path`, a file path, `memory:`, or the
    default SQLite file `<config dir>/cairn.db`.

    A SQLite file is created when missing, unless `must_exist=True` (for commands that
    only read): then a missing file raises StoreError and nothing is created. PostgreSQL
    databases are never created here, and `memory:` is always new. `durable=False` lets
    a SQLite store skip the fsync per commit (for records that may be lost in a crash).
    """
    location = store_location(url, config_dir=config_dir)
    if location.kind == "postgres":
        from ._postgres import PostgresKV  # imported lazily: psycopg is only needed here

        return PostgresKV(location.target)
    if location.kind == "memory":
        return MemoryKV()
    return SQLiteKV(location.target, must_exist=must_exist, durable=durable)


__all__ = [
    "KV",
    "Batch",
    "CorruptStoreError",
    "Fence",
    "Fences",
    "KeyTypeError",
    "LockError",
    "LockLostError",
    "LockTimeoutError",
    "MemoryKV",
    "SQLiteKV",
    "StoreClosedError",
    "StoreError",
    "StoreLocation",
    "StoreUnavailableError",
    "default_config_dir",
    "fences_of",
    "open_store",
    "snapshot",
    "store_location",
]
