"""Ordered key-value storage: the KV interface, SQLite (embedded default), PostgreSQL
(shared), in-memory (tests), ordered key encoding, and timed collections with watchers.

Everything that learns or watches in Cairn stores through this package.
"""

from __future__ import annotations

import os
from pathlib import Path

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
from ._kv import KV, Batch, Fence
from ._memory import MemoryKV
from ._sqlite import SQLiteKV


def default_config_dir() -> Path:
    """`$CAIRN_CONFIG_DIR`, else `~/.cairn`."""
    return Path(os.environ.get("CAIRN_CONFIG_DIR") or Path.home() / ".cairn")


def open_store(url: str | os.PathLike[str] | None = None, *, must_exist: bool = False) -> KV:
    """Open a store: a PostgreSQL URL, `sqlite:///path`, a file path, `memory:`, or the
    default SQLite file `<config dir>/cairn.db`.

    A SQLite file is created when missing, unless `must_exist=True` (for commands that
    only read): then a missing file raises StoreError and nothing is created. PostgreSQL
    databases are never created here, and `memory:` is always new.
    """
    if url is None:
        return SQLiteKV(default_config_dir() / "cairn.db", must_exist=must_exist)
    text = os.fspath(url)
    if text.startswith(("postgres://", "postgresql://")):
        from ._postgres import PostgresKV  # imported lazily: psycopg is only needed here

        return PostgresKV(text)
    if text == "memory:":
        return MemoryKV()
    if text.startswith("sqlite://"):
        text = text.removeprefix("sqlite://")
    return SQLiteKV(text, must_exist=must_exist)


__all__ = [
    "KV",
    "Batch",
    "CorruptStoreError",
    "Fence",
    "KeyTypeError",
    "LockError",
    "LockLostError",
    "LockTimeoutError",
    "MemoryKV",
    "SQLiteKV",
    "StoreClosedError",
    "StoreError",
    "StoreUnavailableError",
    "default_config_dir",
    "open_store",
]
