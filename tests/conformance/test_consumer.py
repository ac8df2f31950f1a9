"""The incremental consumer on every backend: deletions are visible, results and cursor
are committed together and fenced, and a consumer killed mid-batch loses nothing and
processes nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cairn.store import KV, LockError, LockLostError, ordered
from cairn.store.timed import Collection, Consumer, Watcher

from .conftest import Backend


def test_consumer_sees_sets_and_deletions_in_order(kv: KV) -> None:
    coll = Collection(kv, "docs")
    coll.set_many([(b"a", b"1"), (b"b", b"1"), (b"c", b"1")])
    coll.delete(b"b")
    coll.delete(b"never there")
    coll.set(b"a", b"2")
    changes = list(Consumer(kv, "docs", "c").changes())
    assert [(c.key, c.deleted, c.entry and c.entry.value) for c in changes] == [
        (b"c", False, b"1"),
        (b"b", True, None),
        (b"a", False, b"2"),
    ]
    assert [c.seq for c in changes] == [3, 4, 5] and coll.latest() == 5
    # Watchers (and scans) still see only the entries that are there.
    assert [e.key for e in Watcher(kv, "docs", "w").recent()] == [b"c", b"a"]
    assert [e.key for e in coll.scan()] == [b"a", b"c"]


def test_a_deleted_then_set_again_key_is_seen_once_as_set(kv: KV) -> None:
    coll = Collection(kv, "docs")
    coll.set(b"a", b"1")
    coll.delete(b"a")
    coll.set(b"a", b"2")
    assert [(c.key, c.deleted) for c in Consumer(kv, "docs", "c").changes()] == [(b"a", False)]


def test_results_and_cursor_are_committed_together(kv: KV) -> None:
    coll = Collection(kv, "docs")
    coll.set_many((f"k{i}".encode(), b"v") for i in range(5))
    consumer = Consumer(kv, "docs", "c")
    with consumer.locked():
        for changes in consumer.batches(2):
            batch = kv.batch()
            for change in changes:
                batch.set(ordered.encode("out", change.key), b"done")
            consumer.commit(batch, changes[-1].seq)
        assert consumer.cursor() == 5
        consumer.commit(kv.batch(), 3)  # never back
        assert consumer.cursor() == 5
    assert len(list(kv.scan(ordered.encode("out"), ordered.encode("out", ordered.Inf)))) == 5
    assert list(Consumer(kv, "docs", "c").changes()) == []
    assert Watcher(kv, "docs", "c").cursor() == 5  # one stored cursor


def test_commit_needs_the_lock(kv: KV) -> None:
    with pytest.raises(LockError):
        Consumer(kv, "docs", "c").commit(kv.batch(), 1)


def test_a_consumer_that_lost_its_lock_writes_neither_results_nor_cursor(
    backend: Backend,
) -> None:
    a, b = backend(), backend()
    Collection(a, "k").set_many([(b"x", b""), (b"y", b"")])
    first = Consumer(a, "k", "shared")
    with first.locked():
        a.unlock("timed.watch:k:shared")  # the lease is lost behind its back
        with Consumer(b, "k", "shared").locked(timeout=5):
            batch = a.batch()
            batch.set(b"result", b"x")
            with pytest.raises(LockLostError):
                first.commit(batch, 1)
    assert a.get(b"result") is None
    assert Consumer(b, "k", "shared").cursor() == 0


_CONSUMER = textwrap.dedent(
    """
    import sys
    from cairn.store import open_store, ordered
    from cairn.store.timed import Consumer
    kv = open_store(sys.argv[1])
    consumer = Consumer(kv, "events", "consumer")
    with consumer.locked():
        for changes in consumer.batches(7):
            batch = kv.batch()
            for change in changes:
                out = ordered.encode("out", change.key)
                if kv.get(out) is not None:  # processed before: record it to fail the test
                    batch.set(ordered.encode("twice", change.key), b"")
                batch.set(out, str(change.seq).encode())
            consumer.commit(batch, changes[-1].seq)
    """
)


def _outputs(kv: KV) -> dict[bytes, int]:
    start, end = ordered.encode("out"), ordered.encode("out", ordered.Inf)
    return {ordered.decode(k, str, bytes)[1]: int(v) for k, v in kv.scan(start, end)}


def test_consumer_killed_mid_batch_loses_nothing_and_processes_nothing_twice(
    shared_backend: Backend, tmp_path: Path
) -> None:
    kv = shared_backend()
    coll = Collection(kv, "events")
    coll.set_many((f"e{i:05d}".encode(), b"") for i in range(3000))
    for i in range(0, 3000, 10):  # deletions are consumed like sets
        coll.delete(f"e{i:05d}".encode())
    total = coll.latest()
    assert total == 3300
    victim = subprocess.Popen([sys.executable, "-c", _CONSUMER, shared_backend.url or ""])
    consumer = Consumer(kv, "events", "consumer")
    deadline = time.monotonic() + 60
    while consumer.cursor() < 300:
        assert time.monotonic() < deadline and victim.poll() is None
        time.sleep(0.005)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    cursor = consumer.cursor()
    assert 300 <= cursor < total, "killed too late to test anything"
    # Whatever was committed is exactly the changes up to the cursor.
    skipped = {c.seq for c in coll.changes(0)}  # the changes still live: others superseded
    done = _outputs(kv)
    assert set(done.values()) == {s for s in skipped if s <= cursor}
    # The lock died with the process: a new consumer takes over without waiting.
    resumed = subprocess.Popen([sys.executable, "-c", _CONSUMER, shared_backend.url or ""])
    assert resumed.wait(120) == 0
    assert consumer.cursor() == total
    done = _outputs(kv)
    assert set(done.values()) == skipped
    assert len(done) == 3000  # every key once: 2700 set, 300 deleted (their latest change)
    twice = list(kv.scan(ordered.encode("twice"), ordered.encode("twice", ordered.Inf)))
    assert twice == []
