"""Timed collections and watchers on every backend: ordering by store sequence, exactly-once
delivery with concurrent writer processes, and resumption after a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cairn.store import KV, LockLostError
from cairn.store.timed import Collection, Watcher

from .conftest import Backend


def test_set_get_and_sequence_numbers_grow(kv: KV) -> None:
    coll = Collection(kv, "issues")
    assert coll.latest() == 0
    assert coll.get(b"1") is None
    s1 = coll.set(b"1", b"first")
    s2 = coll.set(b"2", b"second")
    s3 = coll.set(b"1", b"first, edited")
    assert s1 < s2 < s3 == coll.latest()
    entry = coll.get(b"1")
    assert entry is not None and (entry.value, entry.seq) == (b"first, edited", s3)
    assert [(e.key, e.value) for e in coll.scan()] == [(b"1", b"first, edited"), (b"2", b"second")]


def test_kinds_are_separate(kv: KV) -> None:
    Collection(kv, "a").set(b"k", b"in a")
    Collection(kv, "b").set(b"k", b"in b")
    assert [e.value for e in Collection(kv, "a").scan()] == [b"in a"]
    assert [e.value for e in Watcher(kv, "b", "w").recent()] == [b"in b"]


def test_watcher_sees_each_modification_once_in_order(kv: KV) -> None:
    coll = Collection(kv, "docs")
    watcher = Watcher(kv, "docs", "embedder")
    coll.set_many([(b"a", b"1"), (b"b", b"1"), (b"c", b"1")])
    seen = [e.key for e in watcher.recent()]
    assert seen == [b"a", b"b", b"c"]
    watcher.mark_old(coll.get(b"b").seq)  # type: ignore[union-attr]
    assert [e.key for e in watcher.recent()] == [b"c"]
    coll.set(b"a", b"2")  # modified again: shows up after c, only once
    assert [(e.key, e.value) for e in watcher.recent()] == [(b"c", b"1"), (b"a", b"2")]
    watcher.mark_old(watcher.latest())
    assert list(watcher.recent()) == []


def test_mark_old_only_moves_forward_and_restart_starts_over(kv: KV) -> None:
    coll = Collection(kv, "k")
    coll.set_many([(b"x", b""), (b"y", b"")])
    watcher = Watcher(kv, "k", "w")
    watcher.mark_old(2)
    watcher.mark_old(1)
    assert watcher.cursor() == 2
    watcher.restart()
    assert [e.key for e in watcher.recent()] == [b"x", b"y"]


def test_deleted_entries_disappear_from_watchers(kv: KV) -> None:
    coll = Collection(kv, "k")
    coll.set_many([(b"x", b""), (b"y", b"")])
    coll.delete(b"x")
    coll.delete(b"never")
    assert [e.key for e in Watcher(kv, "k", "w").recent()] == [b"y"]


def test_watcher_cursor_writes_are_fenced_by_its_lock(backend: Backend) -> None:
    a, b = backend(), backend()
    Collection(a, "k").set(b"x", b"")
    first = Watcher(a, "k", "shared")
    with first.locked():
        first.mark_old(1)
        # Simulate the lease being lost: the lock is released behind the watcher's back
        # and another process takes it.
        a.unlock("timed.watch:k:shared")
        with Watcher(b, "k", "shared").locked(timeout=5), pytest.raises(LockLostError):
            first.restart()
    assert Watcher(b, "k", "shared").cursor() == 1


_WRITER = textwrap.dedent(
    """
    import sys
    from cairn.store import open_store
    from cairn.store.timed import Collection
    kv = open_store(sys.argv[1])
    coll = Collection(kv, "events")
    prefix, count, per_batch = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    for start in range(0, count, per_batch):
        stop = min(count, start + per_batch)
        coll.set_many((f"{prefix}-{i:06d}".encode(), b"v") for i in range(start, stop))
    kv.close()
    """
)

_WATCHER = textwrap.dedent(
    """
    import sys, time
    from cairn.store import open_store
    from cairn.store.timed import Watcher
    kv = open_store(sys.argv[1])
    out = open(sys.argv[2], "a", buffering=1)
    watcher = Watcher(kv, "events", "consumer")
    with watcher.locked():
        while True:
            got = False
            for entry in watcher.recent():
                out.write(f"{entry.seq} {entry.key.decode()}\\n")
                watcher.mark_old(entry.seq)
                got = True
            if not got and sys.argv[3] == "once":
                break
            time.sleep(0.01)
    """
)


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", *args])


@pytest.mark.slow
def test_two_writer_processes_and_a_watcher_see_every_entry_exactly_once(
    shared_backend: Backend, tmp_path: Path
) -> None:
    log = tmp_path / "seen.txt"
    watcher = _spawn(_WATCHER, shared_backend.url, str(log), "forever")
    writers = [_spawn(_WRITER, shared_backend.url, name, "5000", "50") for name in ("w1", "w2")]
    try:
        for writer in writers:
            assert writer.wait(300) == 0
        kv = shared_backend()
        latest = Collection(kv, "events").latest()
        assert latest == 10_000
        deadline = time.monotonic() + 120
        while Watcher(kv, "events", "consumer").cursor() < latest:
            assert time.monotonic() < deadline, "the watcher stopped making progress"
            assert watcher.poll() is None, "the watcher died"
            time.sleep(0.05)
    finally:
        watcher.kill()
        watcher.wait()
        for writer in writers:
            writer.kill()
            writer.wait()
    lines = log.read_text().splitlines()
    keys = [line.split()[1] for line in lines]
    seqs = [int(line.split()[0]) for line in lines]
    assert len(keys) == 10_000
    assert len(set(keys)) == 10_000
    assert seqs == sorted(seqs) and seqs == list(range(1, 10_001))


def test_watcher_killed_mid_iteration_resumes_after_last_marked_entry(
    shared_backend: Backend, tmp_path: Path
) -> None:
    kv = shared_backend()
    Collection(kv, "events").set_many((f"e{i:05d}".encode(), b"") for i in range(3000))
    log = tmp_path / "seen.txt"
    watcher = _spawn(_WATCHER, shared_backend.url, str(log), "forever")
    deadline = time.monotonic() + 60
    while not log.exists() or log.read_text().count("\n") < 500:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(watcher.pid, signal.SIGKILL)
    watcher.wait()
    cursor = Watcher(kv, "events", "consumer").cursor()
    before = [int(line.split()[0]) for line in log.read_text().splitlines()]
    # Killed mid-way: each line is logged just before its entry is marked, so the
    # cursor is at the last line or the one before it.
    assert len(before) >= 500 and cursor < 3000
    assert cursor in (len(before) - 1, len(before))
    # The lock died with the process: a new watcher takes over without waiting.
    resumed = _spawn(_WATCHER, shared_backend.url, str(log), "once")
    assert resumed.wait(120) == 0
    after = [int(line.split()[0]) for line in log.read_text().splitlines()][len(before) :]
    assert after[0] == cursor + 1  # resumes right after the last marked entry
    assert after == list(range(cursor + 1, 3001))
    # At most the one entry that was being processed at the kill is seen twice.
    assert len(before) - cursor in (0, 1)
