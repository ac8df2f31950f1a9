"""Store URLs are read in one place (`store_location`): what each spelling opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.store import MemoryKV, SQLiteKV, open_store, store_location


@pytest.mark.parametrize(
    ("url", "kind", "target"),
    [
        ("postgresql://u@db/cairn", "postgres", "postgresql://u@db/cairn"),
        ("postgres://u@db/cairn", "postgres", "postgres://u@db/cairn"),
        ("memory:", "memory", ""),
        ("sqlite:///srv/cairn.db", "sqlite", "/srv/cairn.db"),
        ("relative/cairn.db", "sqlite", "relative/cairn.db"),
    ],
)
def test_each_spelling_of_a_store_is_read_once_and_the_same_way(
    url: str, kind: str, target: str
) -> None:
    location = store_location(url)
    assert (location.kind, location.target) == (kind, target)


def test_no_url_is_the_config_dirs_cairn_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_CONFIG_DIR", str(tmp_path))
    assert store_location(None).target == str(tmp_path / "cairn.db")
    assert not store_location(None).exists()


def test_open_store_opens_what_the_location_says(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    assert not store_location(f"sqlite://{path}").exists()
    kv = open_store(f"sqlite://{path}", durable=False)
    try:
        assert isinstance(kv, SQLiteKV) and kv.path == path
    finally:
        kv.close()
    assert store_location(f"sqlite://{path}").exists()
    memory = open_store("memory:")
    assert isinstance(memory, MemoryKV)
    memory.close()


def test_a_snapshot_is_a_copy_whose_writes_stay_in_it(tmp_path: Path) -> None:
    from cairn.store import SQLiteKV, snapshot

    kv = SQLiteKV(tmp_path / "s.db")
    kv.set(b"a", b"1")
    kv.set(b"\xff\xfe", b"2")
    copy = snapshot(kv)
    assert copy.get(b"a") == b"1" and copy.get(b"\xff\xfe") == b"2"
    copy.set(b"a", b"changed")
    copy.delete(b"\xff\xfe")
    assert kv.get(b"a") == b"1" and kv.get(b"\xff\xfe") == b"2"
    kv.close()
