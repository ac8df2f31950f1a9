"""The learning-log consumer on every backend: results and offset are committed together
and fenced, a damaged offset is reported, and a consumer killed mid-pass loses nothing
and applies nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cairn.learnlog import CellExecuted, LearningLog, LearningLogError, LogConsumer, read_events
from cairn.store import KV, LockError, LockLostError, ordered

from .conftest import Backend


def _emit(logdir: Path, count: int) -> list[str]:
    with LearningLog(logdir, max_file_bytes=4096) as log:
        ids = []
        for n in range(count):
            event = CellExecuted(known_id=f"c{n}")
            log.emit(event)
            ids.append(event.event_id)
    return ids


def _outputs(kv: KV) -> list[str]:
    start, end = ordered.encode("out"), ordered.encode("out", ordered.Inf)
    return [ordered.decode(k, str, str)[1] for k, _ in kv.scan(start, end)]


def _pass(kv: KV, logdir: Path, per_batch: int) -> int:
    consumer = LogConsumer(kv, "test.consumer")
    done = 0
    with consumer.locked():
        batch = kv.batch()
        offset = None
        for offset, event in read_events(logdir, consumer.offset()):
            batch.set(ordered.encode("out", event["event_id"]), b"")
            done += 1
            if done % per_batch == 0:
                consumer.commit(batch, offset)
                batch = kv.batch()
        if offset is not None:
            consumer.commit(batch, offset)
    return done


def test_results_and_offset_are_committed_together(kv: KV, tmp_path: Path) -> None:
    ids = _emit(tmp_path / "logs", 30)
    assert _pass(kv, tmp_path / "logs", 7) == 30
    assert sorted(_outputs(kv)) == sorted(ids)
    assert _pass(kv, tmp_path / "logs", 7) == 0  # resumes at the end
    more = _emit(tmp_path / "logs", 3)
    assert _pass(kv, tmp_path / "logs", 7) == 3
    assert sorted(_outputs(kv)) == sorted(ids + more)
    consumer = LogConsumer(kv, "test.consumer")
    with consumer.locked():
        consumer.restart()
    assert consumer.offset() is None


def test_commit_needs_the_lock_and_a_damaged_offset_is_reported(kv: KV) -> None:
    consumer = LogConsumer(kv, "test.consumer")
    with pytest.raises(LockError):
        consumer.commit(kv.batch(), None)
    kv.set(ordered.encode("test.consumer", "offset"), b"\xffgarbage")
    with pytest.raises(LearningLogError, match="damaged"):
        consumer.offset()


def test_a_consumer_that_lost_its_lock_writes_neither_results_nor_offset(
    backend: Backend, tmp_path: Path
) -> None:
    _emit(tmp_path / "logs", 2)
    a, b = backend(), backend()
    first = LogConsumer(a, "test.consumer")
    with first.locked():
        offset, _ = next(iter(read_events(tmp_path / "logs")))
        a.unlock("test.consumer")  # the lease is lost behind its back
        with LogConsumer(b, "test.consumer").locked(timeout=5):
            batch = a.batch()
            batch.set(b"result", b"x")
            with pytest.raises(LockLostError):
                first.commit(batch, offset)
    assert a.get(b"result") is None
    assert LogConsumer(b, "test.consumer").offset() is None


_CONSUMER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cairn.learnlog import LogConsumer, read_events
    from cairn.store import open_store, ordered
    kv = open_store(sys.argv[1])
    consumer = LogConsumer(kv, "test.consumer")
    with consumer.locked():
        batch, n = kv.batch(), 0
        for offset, event in read_events(Path(sys.argv[2]), consumer.offset()):
            out = ordered.encode("out", event["event_id"])
            if kv.get(out) is not None:  # applied before: record it to fail the test
                batch.set(ordered.encode("twice", event["event_id"]), b"")
            batch.set(out, b"")
            n += 1
            if n % 5 == 0:
                consumer.commit(batch, offset)
                batch = kv.batch()
        consumer.commit(batch, offset)
    """
)


def test_log_consumer_killed_mid_pass_loses_nothing_and_applies_nothing_twice(
    shared_backend: Backend, tmp_path: Path
) -> None:
    logdir = tmp_path / "logs"
    ids = _emit(logdir, 3000)
    kv = shared_backend()
    url = shared_backend.url or ""
    victim = subprocess.Popen([sys.executable, "-c", _CONSUMER, url, str(logdir)])
    deadline = time.monotonic() + 60
    while len(_outputs(kv)) < 200:
        assert time.monotonic() < deadline and victim.poll() is None
        time.sleep(0.005)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    offset = LogConsumer(kv, "test.consumer").offset()
    assert offset is not None
    upto = [event["event_id"] for o, event in read_events(logdir) if o <= offset]
    assert sorted(_outputs(kv)) == sorted(upto) and len(upto) < 3000, "killed too late"
    resumed = subprocess.Popen([sys.executable, "-c", _CONSUMER, url, str(logdir)])
    assert resumed.wait(120) == 0
    assert sorted(_outputs(kv)) == sorted(ids)
    assert list(kv.scan(ordered.encode("twice"), ordered.encode("twice", ordered.Inf))) == []
