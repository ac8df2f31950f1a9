"""The reader: durable offsets, torn tails, corrupt lines, rotation mid-read, follow."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from cairn.learnlog import CellExecuted, LearningLog
from cairn.learnlog._reader import Offset, log_paths, read_events

from .._wait import wait_until


def _emit(log: LearningLog, count: int, prefix: str = "c") -> list[str]:
    ids = []
    for n in range(count):
        event = CellExecuted(known_id=f"{prefix}{n}", stdout="out\n" * 10)
        log.emit(event)
        ids.append(event.event_id)
    return ids


def _ids(pairs: Any) -> list[str]:
    return [event["event_id"] for _, event in pairs]


def test_resuming_from_an_offset_yields_exactly_the_rest(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    with LearningLog(logdir, max_file_bytes=2048) as log:
        ids = _emit(log, 30)
    pairs = list(read_events(logdir))
    assert _ids(pairs) == ids
    for cut in (0, 1, 7, 29):
        offset = pairs[cut][0]
        assert Offset.parse(str(offset)) == offset
        assert _ids(read_events(logdir, offset)) == ids[cut + 1 :]


def test_a_torn_last_line_is_not_consumed_and_a_restarted_writer_ends_it(
    tmp_path: Path,
) -> None:
    logdir = tmp_path / "logs"
    with LearningLog(logdir) as log:
        before = _emit(log, 3)
    torn = b'{"type":"cell.executed","event_id":"01TORN'
    with open(log_paths(logdir)[-1], "ab") as f:
        f.write(torn)

    reader = read_events(logdir)
    assert _ids(reader) == before
    assert reader.counts.torn_tail and reader.counts.skipped == 0
    resume = reader.offset
    assert resume is not None

    with LearningLog(logdir) as log:  # a writer that restarted after the crash
        after = _emit(log, 2, "after")
    reader = read_events(logdir, resume)
    assert _ids(reader) == after
    assert not reader.counts.torn_tail
    assert [s.reason for s in reader.counts.skips] == ["not a JSON object"]


def test_lines_that_are_not_events_are_skipped_and_counted(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    with LearningLog(logdir) as log:
        first = _emit(log, 2)
        path = log.stats().current_file
        with open(path, "ab") as f:
            f.write(b'not json at all\n[1, 2, 3]\n{"no": "type"}\n\xff\xfe garbage\n')
        second = _emit(log, 2, "x")
    reader = read_events(logdir)
    assert _ids(reader) == first + second
    assert reader.counts.skipped == 4 and reader.counts.events == 4
    assert all(s.offset.file == path.name for s in reader.counts.skips)


def test_a_file_that_rotates_mid_read_is_finished_then_left(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    with LearningLog(logdir, max_file_bytes=3000) as log:
        ids = _emit(log, 3)
        reader = read_events(logdir)
        got = [next(reader)[1]["event_id"]]
        ids += _emit(log, 40, "more")  # several rotations while the reader holds a file
        got += _ids(reader)
    assert got == ids
    assert len(log_paths(logdir)) > 3
    assert reader.counts.skipped == 0


def test_a_torn_line_in_a_sealed_file_is_skipped_and_reading_goes_on(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    with LearningLog(logdir, max_file_bytes=1500) as log:
        first = _emit(log, 1)
    with open(log_paths(logdir)[-1], "ab") as f:
        f.write(b'{"type":"cell.exec')
    # A restarted writer finds the file full: it rotates, leaving the torn line behind.
    with LearningLog(logdir, max_file_bytes=1500) as log:
        second = _emit(log, 3, "y")
    reader = read_events(logdir)
    assert _ids(reader) == first + second
    assert reader.counts.skipped == 1


def test_follow_waits_for_new_events(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    got: list[str] = []
    with LearningLog(logdir, max_file_bytes=2000) as log:
        early = _emit(log, 2)
        reader = read_events(logdir, follow=True, poll_interval=0.01)

        def consume() -> None:
            for _, event in reader:
                got.append(event["event_id"])

        thread = threading.Thread(target=consume)
        thread.start()
        try:
            assert wait_until(lambda: got == early)
            later = _emit(log, 25, "late")  # with rotations
            assert wait_until(lambda: got == early + later), got
        finally:
            reader.close()
            thread.join(timeout=5)
    assert not thread.is_alive()


def test_follow_on_a_log_not_yet_created_waits_for_it(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    reader = read_events(logdir, follow=True, poll_interval=0.01)
    got: list[str] = []

    def consume() -> None:
        for _, event in reader:
            got.append(event["event_id"])

    thread = threading.Thread(target=consume)
    thread.start()
    try:
        with LearningLog(logdir) as log:
            ids = _emit(log, 3)
        assert wait_until(lambda: got == ids)
    finally:
        reader.close()
        thread.join(timeout=5)


def test_a_missing_log_reads_as_empty(tmp_path: Path) -> None:
    reader = read_events(tmp_path / "nothing here")
    assert list(reader) == [] and reader.counts.skipped == 0


def test_a_corrupt_manifest_falls_back_to_the_directory_and_is_rebuilt(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    with LearningLog(logdir, max_file_bytes=2000) as log:
        ids = _emit(log, 12)
    (logdir / "manifest.json").write_text('{"files": [')
    assert _ids(read_events(logdir)) == ids
    with LearningLog(logdir, max_file_bytes=2000) as log:
        ids += _emit(log, 3, "z")
    assert (logdir / "manifest.json").read_text().startswith("{")
    assert _ids(read_events(logdir)) == ids


@pytest.mark.parametrize("text", ["", "nofile", "events-x.jsonl:", "events-x.jsonl:-3"])
def test_offsets_that_do_not_parse_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        Offset.parse(text)


def test_an_offset_into_a_deleted_file_resumes_at_the_next_one(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    with LearningLog(logdir, max_file_bytes=1500) as log:
        _emit(log, 6)
    pairs = list(read_events(logdir))
    first_file = pairs[0][0].file
    later = [event["event_id"] for offset, event in pairs if offset.file != first_file]
    (logdir / first_file).unlink()
    (logdir / "manifest.json").unlink()  # as a retention sweep would leave it: rebuilt
    assert _ids(read_events(logdir, pairs[0][0])) == later
