"""Owner-only files: what Cairn creates is 0700/0600 whatever the umask; what exists and
is ours is tightened; what is not ours (a sticky shared dir, a symlink) is left alone."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.learnlog import CellExecuted, LearningLog
from cairn.privacy import private_dir, private_file, tighten
from cairn.store import open_store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(params=[0o000, 0o022])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_created_dirs_and_files_are_the_owners_alone(tmp_path: Path, umask: int) -> None:
    made = private_dir(tmp_path / "a" / "b" / "c")
    for level in (tmp_path / "a", tmp_path / "a" / "b", made):
        assert _mode(level) == 0o700, level
    assert _mode(private_file(made / "f")) == 0o600
    os.chmod(tmp_path, 0o755)
    private_dir(tmp_path / "d")
    assert _mode(tmp_path) == 0o755  # an existing parent is never changed


def test_an_existing_config_dir_of_ours_is_tightened(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    config.mkdir(mode=0o755)
    os.chmod(config, 0o755)
    (config / "old.db").write_bytes(b"")
    os.chmod(config / "old.db", 0o644)
    private_dir(config, tighten_existing=True)
    private_file(config / "old.db")
    assert _mode(config) == 0o700
    assert _mode(config / "old.db") == 0o600


def test_shared_sticky_dirs_and_symlinks_are_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    tighten(shared)
    assert _mode(shared) == 0o1777
    target = tmp_path / "target"
    target.write_text("x")
    os.chmod(target, 0o644)
    link = tmp_path / "link"
    link.symlink_to(target)
    tighten(link)
    assert _mode(target) == 0o644


def test_a_store_and_a_learning_log_leave_nothing_readable_by_others(
    tmp_path: Path, umask: int
) -> None:
    config = tmp_path / "fresh" / "cfg"
    kv = open_store(config / "cairn.db")
    try:
        kv.set(b"k", b"v")
        kv.lock("learner")
        kv.unlock("learner")
    finally:
        kv.close()
    with LearningLog(config / "logs") as log:
        log.emit(CellExecuted(source="echo hi", stdout="hi\n"))
    # The WAL and SHM files exist while a connection is open: look at them then too.
    kv = open_store(config / "cairn.db")
    try:
        kv.set(b"k2", b"v")
        paths = [tmp_path / "fresh", *sorted((tmp_path / "fresh").rglob("*"))]
        assert {p.name for p in paths} >= {"cairn.db", "cairn.db-wal", "cairn.db-shm", "logs"}
        for path in paths:
            expected = 0o700 if path.is_dir() else 0o600
            assert _mode(path) == expected, (path, oct(_mode(path)))
    finally:
        kv.close()
