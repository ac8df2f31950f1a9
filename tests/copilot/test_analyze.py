"""The analyzer: the learning log (written by `cairn.learnlog`'s writer) → traces and
per-model totals in a real store, incrementally, across rotated files, over bad input
and damaged state."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cairn.copilot._analyze import AnalyzeCounts, Analyzer
from cairn.copilot._edits import edit_distance, normalize, token_distance, tokens
from cairn.copilot._traces import ModelStats, get_trace, stats, traces
from cairn.learnlog import (
    SessionEnded,
    SuggestionShown,
)
from cairn.store import KV, open_store, ordered

from ..pgserver import PostgresServer
from ._events import EventLog, accepted, at, ran, suggestion


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[KV]:
    store = open_store(tmp_path / "cairn.db")
    yield store
    store.close()


@pytest.fixture
def events(tmp_path: Path) -> EventLog:
    return EventLog(tmp_path / "logs")


def _analyze(kv: KV, events: EventLog, **options: int) -> AnalyzeCounts:
    return Analyzer(kv, events.directory, **options).run()


# -- outcomes of a suggested cell -------------------------------------------------------


def test_a_cell_run_as_suggested_is_traced_with_exit_code_and_time(
    kv: KV, events: EventLog
) -> None:
    events.write(
        suggestion("T1", ("C1", "kubectl get pods -n web\n"), path="/books/web.md", t=0),
        accepted("T1", "C1", t=2),
        # Whitespace differences are still "as suggested".
        ran("C1", "kubectl  get pods -n web  \n\n", t=12.5, exit_code=0),
    )
    counts = _analyze(kv, events)
    assert (counts.events, counts.suggested, counts.accepted, counts.executed) == (3, 1, 1, 1)
    trace = get_trace(kv, "C1")
    assert trace is not None
    assert trace.trace_id == "T1" and trace.model == "model-a"
    assert trace.notebook_path == "/books/web.md"
    assert trace.accepted and trace.outcome == "as_suggested" and trace.edit_distance == 0
    assert trace.exit_code == 0 and trace.executions == 1
    assert trace.seconds_to_execution == pytest.approx(12.5)
    assert trace.executed_source == "kubectl  get pods -n web  \n\n"


def test_an_edited_cell_records_its_token_edit_distance_and_failure(
    kv: KV, events: EventLog
) -> None:
    events.write(
        suggestion("T1", ("C1", "kubectl logs deploy/web -n web --tail 50"), t=0),
        ran("C1", "kubectl logs deploy/api -n api --tail 50 --previous", t=30, exit_code=1),
    )
    _analyze(kv, events)
    trace = get_trace(kv, "C1")
    assert trace is not None
    assert trace.outcome == "edited" and not trace.accepted
    assert trace.edit_distance == 3  # two substitutions, one insertion
    assert trace.exit_code == 1
    assert stats(kv)["model-a"].failed == 1


def test_a_cell_never_run_stays_not_executed(kv: KV, events: EventLog) -> None:
    events.write(suggestion("T1", ("C1", "df -h"), ("C2", "du -sh /var/*"), t=0))
    _analyze(kv, events)
    for cell_id in ("C1", "C2"):
        trace = get_trace(kv, cell_id)
        assert trace is not None and trace.outcome == "not_executed"
        assert trace.executions == 0 and trace.exit_code is None
        assert trace.seconds_to_execution is None
    assert stats(kv)["model-a"].not_executed == 2


def test_the_latest_execution_decides_and_the_first_times_it(kv: KV, events: EventLog) -> None:
    events.write(
        suggestion("T1", ("C1", "systemctl restart nginx"), t=0),
        ran("C1", "systemctl restart nginx", t=5, exit_code=1),
        ran("C1", "sudo systemctl restart nginx", t=40, exit_code=0),
    )
    _analyze(kv, events)
    trace = get_trace(kv, "C1")
    assert trace is not None
    assert trace.executions == 2 and trace.outcome == "edited" and trace.edit_distance == 1
    assert trace.exit_code == 0 and trace.seconds_to_execution == pytest.approx(5)
    totals = stats(kv)["model-a"]
    assert (totals.edited, totals.executed_as_suggested, totals.failed) == (1, 0, 0)


def test_markup_unsuggested_cells_and_other_events_leave_no_trace(kv: KV, events: EventLog) -> None:
    events.write(
        suggestion("T1", ("C1", "uptime"), markup="Check the load.", t=0),
        SuggestionShown(time=at(1), trace_id="T1", cell_ids=["C1"]),
        ran("HUMAN", "ls -la", t=2),
        accepted("T9", "NOT-SUGGESTED", t=3),
        SessionEnded(time=at(4), session_id="S1"),
    )
    counts = _analyze(kv, events)
    assert counts.events == 5 and counts.suggested == 1
    assert (counts.accepted, counts.executed) == (0, 0)
    assert [t.cell_id for t in traces(kv)] == ["C1"]
    assert get_trace(kv, "T1-md") is None and get_trace(kv, "HUMAN") is None


def test_totals_per_model_give_acceptance_and_mean_edit_distance(kv: KV, events: EventLog) -> None:
    events.write(
        suggestion("T1", ("A1", "ls /srv"), ("A2", "cat /srv/app.conf"), model="model-a", t=0),
        suggestion("T2", ("B1", "journalctl -u app -n 100"), model="model-b", t=1),
        accepted("T1", "A1", t=2),
        accepted("T1", "A2", t=2),
        accepted("T2", "B1", t=3),
        ran("A1", "ls /srv", t=4),
        ran("A2", "cat /srv/app/app.conf | grep port", t=5),  # 1 sub + 3 inserted
        ran("B1", "journalctl -u app -n 500 --no-pager", t=6),  # 1 sub + 1 inserted
    )
    _analyze(kv, events)
    numbers = stats(kv)
    a, b = numbers["model-a"], numbers["model-b"]
    assert (a.shown, a.accepted, a.executed_as_suggested, a.edited, a.not_executed) == (
        2,
        2,
        1,
        1,
        0,
    )
    assert a.mean_edit_distance == 4.0 and a.acceptance_rate == 1.0
    assert (b.shown, b.edited, b.mean_edit_distance) == (1, 1, 2.0)
    assert b.to_dict()["executed_as_suggested"] == 0
    assert ModelStats("none").mean_edit_distance is None
    assert ModelStats("none").acceptance_rate is None


# -- incremental passes -----------------------------------------------------------------


def test_a_second_pass_reads_nothing_and_appended_events_only_are_read(
    kv: KV, events: EventLog
) -> None:
    events.write(suggestion("T1", ("C1", "df -h"), t=0), accepted("T1", "C1", t=1))
    analyzer = Analyzer(kv, events.directory)
    assert analyzer.offset() is None
    first = analyzer.run()
    after_first = analyzer.offset()
    assert first.events == 2 and after_first is not None
    assert after_first.pos == events.files()[-1].stat().st_size
    assert str(after_first) == first.offset

    again = analyzer.run()
    assert (again.events, again.suggested, again.traces_written) == (0, 0, 0)
    assert analyzer.offset() == after_first

    events.write(ran("C1", "df -h", t=8), suggestion("T2", ("C2", "free -m"), t=9))
    third = analyzer.run()
    assert (third.events, third.executed, third.suggested) == (2, 1, 1)
    offset = analyzer.offset()
    assert offset is not None and offset > after_first
    totals = stats(kv)["model-a"]
    # The trace of C1 moved from "not executed" to "as suggested" without double counting.
    assert (totals.shown, totals.accepted, totals.executed_as_suggested) == (2, 1, 1)
    assert totals.not_executed == 1


def test_passes_follow_the_log_across_rotated_files(tmp_path: Path, kv: KV) -> None:
    events = EventLog(tmp_path / "logs", max_file_bytes=700)
    cells = [(f"C{i}", f"echo step-{i} " + "x" * 200) for i in range(6)]
    events.write(*(suggestion(f"T{i}", cell, t=i) for i, cell in enumerate(cells)))
    assert len(events.files()) >= 3  # the writer rotated
    first = _analyze(kv, events)
    assert first.events == 6 and first.suggested == 6
    offset = Analyzer(kv, events.directory).offset()
    assert offset is not None and offset.file == events.files()[-1].name

    events.write(*(ran(c, s, t=100 + i) for i, (c, s) in enumerate(cells)))
    assert len(events.files()) >= 5
    second = _analyze(kv, events)
    assert (second.events, second.executed, second.suggested) == (6, 6, 0)
    assert stats(kv)["model-a"].executed_as_suggested == 6
    assert _analyze(kv, events).events == 0


def test_a_pass_limited_by_max_events_resumes_where_it_stopped(kv: KV, events: EventLog) -> None:
    events.write(
        suggestion("T1", ("C1", "id"), t=0),
        ran("C1", "id -u", t=1),
        ran("C1", "id", t=2),
        accepted("T1", "C1", t=3),
    )
    analyzer = Analyzer(kv, events.directory)
    assert analyzer.run(max_events=2).events == 2
    trace = get_trace(kv, "C1")
    assert trace is not None and trace.outcome == "edited"
    assert analyzer.run(max_events=2).events == 2
    trace = get_trace(kv, "C1")
    assert trace is not None and trace.outcome == "as_suggested" and trace.accepted
    assert analyzer.run().events == 0


@pytest.mark.parametrize("commit_every", [1, 3])
def test_small_commits_give_the_same_traces_and_totals(
    tmp_path: Path, events: EventLog, commit_every: int
) -> None:
    events.write(
        suggestion("T1", ("C1", "ps aux"), ("C2", "top -b -n1"), t=0),
        accepted("T1", "C1", t=1),
        ran("C1", "ps aux | head", t=2, exit_code=0),
        ran("C2", "top -b -n1", t=3, exit_code=2),
        suggestion("T2", ("C3", "vmstat 1 5"), model="model-b", t=4),
        ran("C1", "ps aux", t=5),
    )
    whole = open_store(tmp_path / "whole.db")
    parts = open_store(tmp_path / "parts.db")
    try:
        _analyze(whole, events)
        counts = _analyze(parts, events, commit_every=commit_every)
        assert counts.traces_written >= 3
        assert stats(parts) == stats(whole)
        assert list(traces(parts)) == list(traces(whole))
    finally:
        whole.close()
        parts.close()


def test_the_same_suggestion_read_in_two_passes_is_counted_once(kv: KV, events: EventLog) -> None:
    events.write(suggestion("T1", ("C1", "df -h"), t=0), ran("C1", "df -h", t=3))
    _analyze(kv, events)
    events.write(suggestion("T1", ("C1", "df -h"), t=0))  # logged again, e.g. by a retry
    counts = _analyze(kv, events)
    assert counts.suggested == 0
    totals = stats(kv)["model-a"]
    assert (totals.shown, totals.executed_as_suggested) == (1, 1)
    trace = get_trace(kv, "C1")
    assert trace is not None and trace.outcome == "as_suggested"


def test_reset_forgets_traces_totals_and_offset(kv: KV, events: EventLog) -> None:
    events.write(suggestion("T1", ("C1", "df -h"), t=0))
    analyzer = Analyzer(kv, events.directory)
    analyzer.run()
    analyzer.reset()
    assert (analyzer.offset(), stats(kv), list(traces(kv))) == (None, {}, [])
    assert analyzer.run().suggested == 1


# -- bad input --------------------------------------------------------------------------


def test_an_empty_or_missing_log_dir_is_a_pass_with_nothing_read(kv: KV, tmp_path: Path) -> None:
    for directory in (tmp_path / "missing", tmp_path / "empty"):
        if directory.name == "empty":
            directory.mkdir()
        counts = Analyzer(kv, directory).run()
        assert (counts.events, counts.skipped, counts.offset) == (0, 0, None)
    assert stats(kv) == {}


def test_garbage_lines_are_skipped_and_a_torn_tail_waits_for_its_end(
    kv: KV, events: EventLog
) -> None:
    events.write(suggestion("T1", ("C1", "hostname"), t=0))
    events.append_raw(b'not json at all\n[1, 2, 3]\n{"no": "type"}\n\xff\xfe\n\n')
    events.write(ran("C1", "hostname", t=1))
    encoded = events.encode(ran("C1", "hostname -f", t=2))
    events.append_raw(encoded[:25])  # a writer died mid-line (or is still writing)

    first = _analyze(kv, events)
    assert (first.events, first.skipped, first.executed) == (2, 4, 1)
    trace = get_trace(kv, "C1")
    assert trace is not None and trace.outcome == "as_suggested"

    events.append_raw(encoded[25:])  # the line is finished
    second = _analyze(kv, events)
    assert (second.events, second.skipped, second.executed) == (1, 0, 1)
    trace = get_trace(kv, "C1")
    assert trace is not None and trace.outcome == "edited"


def test_a_torn_line_in_a_sealed_file_is_skipped_and_the_next_file_read(
    tmp_path: Path, kv: KV
) -> None:
    events = EventLog(tmp_path / "logs", max_file_bytes=600)
    events.write(suggestion("T1", ("C1", "echo one " + "y" * 300), t=0))
    events.append_raw(b'{"type":"cell.executed","time":"2025-')  # died mid-line
    events.write(suggestion("T2", ("C2", "echo two " + "z" * 300), t=1))  # rotates
    assert len(events.files()) == 2
    counts = _analyze(kv, events)
    assert (counts.events, counts.suggested, counts.skipped) == (2, 2, 1)


def test_events_of_the_wrong_shape_are_counted_as_malformed(kv: KV, events: EventLog) -> None:
    events.write(suggestion("T1", ("C1", "uname -a"), t=0))
    events.append_raw(
        b'{"type":"suggestion.generated","trace_id":"T2","model":"m","cells":"C9"}\n'
        b'{"type":"suggestion.generated","trace_id":"T3","model":"m","cells":[1,2]}\n'
        b'{"type":"cell.executed","known_id":"C1","source":["uname"],"exit_code":0}\n'
    )
    events.write(ran("C1", "uname -a", t=5))
    counts = _analyze(kv, events)
    assert (counts.events, counts.malformed, counts.executed) == (5, 3, 1)
    assert [t.cell_id for t in traces(kv)] == ["C1"]
    trace = get_trace(kv, "C1")
    assert trace is not None and trace.outcome == "as_suggested" and trace.executions == 1


# -- damaged state ----------------------------------------------------------------------

_TRACE_C1 = ordered.encode("copilot.trace", "C1")


@pytest.mark.parametrize(
    "damage",
    [b"{not json", b'["C1"]', b'["C1","T1","m","s","t",null,"yes"]', b"\xff\xfe"],
    ids=["not-json", "too-short", "wrong-type", "not-utf8"],
)
def test_a_damaged_trace_is_counted_and_left_while_others_go_on(
    kv: KV, events: EventLog, damage: bytes
) -> None:
    events.write(suggestion("T1", ("C1", "w"), ("C2", "who"), t=0))
    _analyze(kv, events)
    kv.set(_TRACE_C1, damage)
    events.write(ran("C1", "w", t=1), ran("C2", "who", t=2))
    counts = _analyze(kv, events)
    assert (counts.damaged, counts.executed) == (1, 1)
    trace = get_trace(kv, "C2")
    assert trace is not None and trace.outcome == "as_suggested"
    assert kv.get(_TRACE_C1) == damage
    assert [t.cell_id for t in traces(kv)] == ["C2"]  # the damaged one is left out


def test_damaged_totals_are_counted_again_from_the_traces(kv: KV, events: EventLog) -> None:
    events.write(
        suggestion("T1", ("C1", "w"), ("C2", "who"), t=0),
        accepted("T1", "C1", t=1),
        ran("C1", "w -h", t=2),
    )
    _analyze(kv, events)
    expected = stats(kv)["model-a"]
    key = ordered.encode("copilot.stats", "model-a")
    kv.set(key, b'{"shown": "many"}')
    assert stats(kv)["model-a"] == expected  # a reader counts them from the traces

    events.write(ran("C2", "who", t=3))
    counts = _analyze(kv, events)
    assert counts.damaged == 1
    totals = stats(kv)["model-a"]
    assert (totals.shown, totals.accepted, totals.edited, totals.executed_as_suggested) == (
        2,
        1,
        1,
        1,
    )
    assert totals.edit_distance_sum == 1


def test_a_damaged_offset_starts_the_analysis_over(kv: KV, events: EventLog) -> None:
    events.write(
        suggestion("T1", ("C1", "lsblk"), t=0),
        accepted("T1", "C1", t=1),
        ran("C1", "lsblk -f", t=2),
    )
    analyzer = Analyzer(kv, events.directory)
    analyzer.run()
    expected = stats(kv), list(traces(kv))
    kv.set(ordered.encode("copilot.analyze", "offset"), b"\xffgarbage")
    counts = analyzer.run()
    assert counts.damaged == 1 and counts.events == 3
    assert (stats(kv), list(traces(kv))) == expected  # rebuilt, not counted twice
    assert analyzer.run().events == 0


# -- several processes on one store -----------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "shared.db")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(f"analyze_{abs(hash(request.node.name)) % 10**8}")


def test_concurrent_passes_on_one_store_take_turns_and_count_once(
    store_url: str, events: EventLog
) -> None:
    cells = [(f"C{i}", f"echo {i}") for i in range(40)]
    events.write(
        *(suggestion(f"T{i}", cell, t=i) for i, cell in enumerate(cells)),
        *(ran(c, s if i % 2 else s + " !", t=100 + i) for i, (c, s) in enumerate(cells)),
    )
    stores = [open_store(store_url) for _ in range(4)]
    results: list[AnalyzeCounts] = []
    barrier = threading.Barrier(len(stores))

    def work(kv: KV) -> None:
        barrier.wait()
        results.append(Analyzer(kv, events.directory, commit_every=7).run())

    threads = [threading.Thread(target=work, args=(kv,)) for kv in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert len(results) == len(stores)
        assert sum(r.events for r in results) == 80  # each event applied by one pass
        totals = stats(stores[0])["model-a"]
        assert (totals.shown, totals.executed_as_suggested, totals.edited) == (40, 20, 20)
        assert totals.edit_distance_sum == 20
    finally:
        for kv in stores:
            kv.close()


# -- edit distance ----------------------------------------------------------------------


def test_tokens_split_on_whitespace_with_line_breaks_kept() -> None:
    assert tokens("a  b\n\n  c\td\n") == ["a", "b", "\n", "c", "d"]
    assert normalize("  a   b \n\n c  ") == "a b\nc"
    assert edit_distance("kubectl get pods", "kubectl get pods -A") == 1
    assert edit_distance("a\nb", "a b") == 1  # a line break is a token
    assert edit_distance("", "x y") == 2


def _levenshtein(a: list[str], b: list[str]) -> int:
    table = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(
                table[i - 1][j] + 1,
                table[i][j - 1] + 1,
                table[i - 1][j - 1] + (a[i - 1] != b[j - 1]),
            )
    return table[-1][-1]


words = st.lists(st.sampled_from(["ls", "-l", "/var", "\n", "grep", "x"]), max_size=12)


@given(words, words)
def test_token_distance_is_levenshtein(a: list[str], b: list[str]) -> None:
    assert token_distance(a, b) == _levenshtein(a, b) == token_distance(b, a)


def test_a_huge_edit_is_counted_from_difflib_without_the_quadratic_table() -> None:
    a = [f"w{i}" for i in range(3000)]
    b = [f"w{i}" if i % 3 else f"v{i}" for i in range(3000)]
    assert token_distance(a, b) == 1000  # every third token substituted
    assert token_distance(["x", *a, "y"], ["x", *a, "z"]) == 1  # prefix and suffix cut
