"""`must_exist`: read-only callers open a store that is there, and never create one."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.store import SQLiteKV, StoreError, open_store


@pytest.mark.parametrize("prefix", ["", "sqlite://"])
def test_a_missing_store_is_an_error_and_nothing_is_created(tmp_path: Path, prefix: str) -> None:
    path = tmp_path / "typo" / "x.db"
    with pytest.raises(StoreError, match="no such store") as info:
        open_store(f"{prefix}{path}", must_exist=True)
    assert str(path) in str(info.value)
    assert list(tmp_path.iterdir()) == []  # no directory, no database, no lock dir


def test_a_missing_file_in_an_existing_directory_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such store"):
        SQLiteKV(tmp_path / "x.db", must_exist=True)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_store_opens_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "cairn.db"
    with open_store(path) as kv:
        kv.set(b"k", b"v")
    with open_store(path, must_exist=True) as kv:
        assert kv.get(b"k") == b"v"


def test_without_must_exist_a_store_is_still_created(tmp_path: Path) -> None:
    with open_store(tmp_path / "new" / "cairn.db") as kv:
        kv.set(b"k", b"v")
    assert (tmp_path / "new" / "cairn.db").is_file()


def test_memory_stores_ignore_must_exist() -> None:
    with open_store("memory:", must_exist=True) as kv:
        assert kv.get(b"k") is None
