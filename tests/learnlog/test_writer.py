"""The durable writer: round trip, rotation and manifest, group commit, failures that must
be clear errors, and several processes sharing one log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cairn.learnlog import (
    CellExecuted,
    LearningLog,
    LearningLogError,
    SuggestedCell,
    SuggestionGenerated,
    validate,
)
from cairn.learnlog._reader import log_paths, read_events

CHILD = str(Path(__file__).with_name("_child.py"))


def _ids(logdir: Path) -> list[str]:
    return [event["event_id"] for _, event in read_events(logdir)]


def test_emitted_events_read_back_exactly_and_validate(tmp_path: Path) -> None:
    events = [
        CellExecuted(
            known_id="c1",
            source="printf 'héllo\\n'",
            stdout="héllo\n",
            stderr="line one\nline two",
            env_changed=["FOO"],
        ),
        SuggestionGenerated(
            trace_id="t1", cells=[SuggestedCell(id="s1", language="sh", source="ls -l")]
        ),
    ]
    with LearningLog(tmp_path / "logs") as log:
        for event in events:
            log.emit(event)
    read = [data for _, data in read_events(tmp_path / "logs")]
    assert read == [event.to_dict() for event in events]
    assert [validate(data) for data in read] == events
    raw = log_paths(tmp_path / "logs")[0].read_bytes()
    # One compact JSON object per line, UTF-8 as is.
    assert raw.count(b"\n") == 2 and "héllo".encode() in raw and b'":"' in raw


def test_files_rotate_by_size_and_the_manifest_lists_them_in_order(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    with LearningLog(logdir, max_file_bytes=4096) as log:
        emitted = []
        for n in range(60):
            event = CellExecuted(known_id=f"c{n}", stdout="x" * 300)
            log.emit(event)
            emitted.append(event.event_id)
        stats = log.stats()
    manifest = json.loads((logdir / "manifest.json").read_text())
    files = manifest["files"]
    assert manifest["version"] == 1
    assert len(files) == stats.files_created > 3
    assert sorted(p.name for p in logdir.glob("events-*.jsonl")) == sorted(files)
    for name in files:
        assert 0 < (logdir / name).stat().st_size <= 4096
    assert _ids(logdir) == emitted  # manifest order is emission order
    assert not list(logdir.glob(".manifest*"))  # no temp file left behind


def test_reopening_a_log_appends_to_its_last_file(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    first, second = CellExecuted(known_id="a"), CellExecuted(known_id="b")
    with LearningLog(logdir) as log:
        log.emit(first)
    with LearningLog(logdir) as log:
        log.emit(second)
        assert log.stats().files_created == 0
    assert _ids(logdir) == [first.event_id, second.event_id]


def test_concurrent_emitters_share_fsyncs(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    threads, per_thread = 8, 60
    acked: list[str] = []
    acked_mu = threading.Lock()
    with LearningLog(logdir) as log:

        def work(worker: int) -> None:
            for n in range(per_thread):
                event = CellExecuted(known_id=f"w{worker}-{n}", stdout="ok\n")
                log.emit(event)
                with acked_mu:
                    acked.append(event.event_id)

        pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        stats = log.stats()
    total = threads * per_thread
    assert stats.events == total and len(acked) == total
    assert stats.fsyncs == stats.batches
    assert stats.fsyncs < total, "group commit should batch concurrent emitters"
    assert sorted(_ids(logdir)) == sorted(acked)


def test_a_lone_emitter_waits_for_exactly_one_fsync_per_event(tmp_path: Path) -> None:
    with LearningLog(tmp_path / "logs") as log:
        for n in range(5):
            log.emit(CellExecuted(known_id=str(n)))
            assert log.stats().fsyncs == n + 1


def test_durability_off_writes_without_fsync(tmp_path: Path) -> None:
    with LearningLog(tmp_path / "logs", fsync=False) as log:
        for n in range(20):
            log.emit(CellExecuted(known_id=str(n)))
        assert log.stats().fsyncs == 0
    assert len(_ids(tmp_path / "logs")) == 20


@pytest.mark.parametrize("kind", ["under a regular file", "is a regular file"])
def test_unwritable_directory_is_one_actionable_error(tmp_path: Path, kind: str) -> None:
    blocker = tmp_path / "config"
    blocker.write_text("not a directory")
    logdir = blocker / "logs" if kind == "under a regular file" else blocker
    with pytest.raises(LearningLogError) as err:
        LearningLog(logdir)
    message = str(err.value)
    assert message.startswith(f"cannot write the learning log in {logdir}: ")
    assert message.endswith("; fix permissions/free space or pass --no-learning-logs")
    assert "\n" not in message


def _run_fsize_child(logdir: Path, limit: int) -> tuple[int, list[str]]:
    proc = subprocess.run(
        [sys.executable, CHILD, "fsize", str(logdir), str(limit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode, proc.stdout.splitlines()


def test_a_full_disk_at_start_is_a_clear_error(tmp_path: Path) -> None:
    # RLIMIT_FSIZE=0 makes every write fail with EFBIG, as a full disk fails with ENOSPC.
    code, lines = _run_fsize_child(tmp_path / "logs", 0)
    assert code == 3, lines
    assert lines == [
        f"error: cannot write the learning log in {tmp_path / 'logs'}: File too large; "
        "fix permissions/free space or pass --no-learning-logs"
    ]


def test_a_write_failure_at_emit_is_an_error_and_the_event_is_not_acknowledged(
    tmp_path: Path,
) -> None:
    logdir = tmp_path / "logs"
    code, lines = _run_fsize_child(logdir, 200_000)
    assert code == 3, lines
    *acked, failed, error = lines
    assert len(acked) > 10
    assert failed.startswith("failed: ")
    assert error.startswith(f"error: cannot write the learning log in {logdir}: File too large")
    reader = read_events(logdir)
    ids = [event["event_id"] for _, event in reader]
    assert ids == acked  # every acknowledged event, in order, and not the failed one
    assert reader.counts.skipped == 0 and not reader.counts.torn_tail  # no half batch left


def test_emit_after_close_is_an_error(tmp_path: Path) -> None:
    log = LearningLog(tmp_path / "logs")
    log.close()
    log.close()  # idempotent
    with pytest.raises(LearningLogError, match="closed"):
        log.emit(CellExecuted())


def test_several_processes_share_one_log_without_losing_or_mixing_lines(
    tmp_path: Path,
) -> None:
    logdir = tmp_path / "logs"
    procs = [
        subprocess.Popen(
            [sys.executable, CHILD, "emit", str(logdir), "150", "2", "65536"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    acked: list[str] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        acked += out.decode().split()
    reader = read_events(logdir)
    ids = [event["event_id"] for _, event in reader]
    assert sorted(ids) == sorted(acked) and len(ids) == 450
    assert reader.counts.skipped == 0
    files = json.loads((logdir / "manifest.json").read_text())["files"]
    assert len(files) == len(set(files)) > 1
    assert sorted(files) == sorted(p.name for p in logdir.glob("events-*.jsonl"))


def test_log_files_are_private(tmp_path: Path) -> None:
    with LearningLog(tmp_path / "logs") as log:
        log.emit(CellExecuted())
        path = log.stats().current_file
    assert os.stat(path).st_mode & 0o077 == 0


def test_a_forked_child_gets_an_error_instead_of_hanging(tmp_path: Path) -> None:
    with LearningLog(tmp_path / "logs") as log:
        pid = os.fork()
        if pid == 0:  # the child: no flusher thread here
            code = 2
            try:
                log.emit(CellExecuted())
                code = 1
            except LearningLogError:
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_queued_events_are_on_disk_once_flush_returns(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    log = LearningLog(logdir)
    events = [CellExecuted(known_id=f"c{i}", stdout="x" * 100) for i in range(50)]
    for event in events:
        log.emit(event, wait=False)  # returns at once
    log.flush()
    assert _ids(logdir) == [e.event_id for e in events]
    log.flush()  # nothing queued: returns at once
    log.close()


def test_a_failed_write_of_queued_events_is_reported_once_by_flush(tmp_path: Path) -> None:
    import errno

    log = LearningLog(tmp_path / "logs")
    real_write = log._segments.write

    def disk_full(data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    log._segments.write = disk_full  # type: ignore[method-assign]
    log.emit(CellExecuted(known_id="lost"), wait=False)
    with pytest.raises(LearningLogError, match="No space left on device"):
        log.flush()
    log.flush()  # reported once; the log keeps working when space comes back
    log._segments.write = real_write  # type: ignore[method-assign]
    kept = CellExecuted(known_id="kept")
    log.emit(kept)
    log.close()
    assert _ids(tmp_path / "logs") == [kept.event_id]
