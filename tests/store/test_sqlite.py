"""SQLite-specific failures the conformance suite cannot express: files that are not
stores, and writes that fail for lack of space (all or nothing)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cairn.store import CorruptStoreError, SQLiteKV, open_store


def test_a_file_that_is_not_a_database_is_reported_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(CorruptStoreError, match="not a usable Cairn store"):
        SQLiteKV(path)
    assert path.read_bytes().startswith(b"these are my notes")  # never overwritten


def test_a_damaged_database_is_reported_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    kv = SQLiteKV(path)
    with kv.batch() as batch:
        for i in range(2000):
            batch.set(b"k%05d" % i, b"x" * 100)
    kv.close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xde\xad" * ((4096 - 100) // 2)  # smash the header and first page
    path.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with pytest.raises(CorruptStoreError):
        store = SQLiteKV(path)
        list(store.scan(b"", b"\xff"))


def test_open_store_in_a_missing_directory_creates_it(tmp_path: Path) -> None:
    kv = open_store(tmp_path / "deep" / "er" / "cairn.db")
    kv.set(b"k", b"v")
    assert kv.get(b"k") == b"v"
    kv.close()


_FILL = textwrap.dedent(
    """
    import os, resource, signal, sys
    from cairn.store import SQLiteKV, StoreError
    kv = SQLiteKV(sys.argv[1])
    kv.set(b"before", b"kept")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    size = os.path.getsize(sys.argv[1]) + os.path.getsize(sys.argv[1] + "-wal")
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 64 * 1024, resource.RLIM_INFINITY))
    batch = kv.batch()
    for i in range(200):
        batch.set(b"big%03d" % i, os.urandom(16 * 1024))
    try:
        batch.apply()
    except StoreError as exc:
        print("StoreError:", exc)
        sys.exit(3)
    sys.exit(0)
    """
)


def test_a_batch_that_runs_out_of_space_is_not_applied_at_all(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    done = subprocess.run(
        [sys.executable, "-c", _FILL, str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "the write was not applied" in done.stdout
    kv = SQLiteKV(path)
    assert kv.get(b"before") == b"kept"
    assert list(kv.scan(b"big", b"big\xff")) == []
    kv.close()
