"""The learner: executions in the learning log → examples in a real store, with runs
compared within a notebook (across sessions) or a session, pending runs settled by the
next run or by the learner's clock, incrementally, over bad input and damaged state."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cairn.copilot._examples import ExampleIndex
from cairn.copilot._learn import (
    RERUN_WINDOW,
    STALE_AFTER,
    LearnCounts,
    Learner,
    example_id,
    learn_once,
    run_learning_loop,
)
from cairn.copilot._traces import stats
from cairn.index import HashEmbedder
from cairn.learnlog import Offset, SessionEnded
from cairn.store import KV, SQLiteKV, open_store, ordered

from ..pgserver import PostgresServer
from ._events import T0, EventLog, at, ran, suggestion

NOTEBOOK = """# Web outage

Check the pods.

```sh {"id":"01JWEB00000000000000000PODS","name":"pods"}
kubectl get pods -n web
```

Then the logs of the crashing pod.

```sh {"id":"01JWEB00000000000000000LOGS","name":"logs"}
kubectl logs deploy/web -n web --tail 50
```
"""
PODS, LOGS = "01JWEB00000000000000000PODS", "01JWEB00000000000000000LOGS"


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[KV]:
    store = open_store(tmp_path / "cairn.db")
    yield store
    store.close()


@pytest.fixture
def events(tmp_path: Path) -> EventLog:
    return EventLog(tmp_path / "logs")


@pytest.fixture
def index(kv: KV) -> ExampleIndex:
    return ExampleIndex(kv, HashEmbedder(64))


@pytest.fixture
def book(tmp_path: Path) -> str:
    path = tmp_path / "web.md"
    path.write_text(NOTEBOOK)
    return str(path)


def learn(kv: KV, events: EventLog, index: ExampleIndex, *, now: float) -> LearnCounts:
    """One learner pass with its clock `now` seconds after T0."""
    return Learner(kv, events.directory, index, clock=lambda: T0 + timedelta(seconds=now)).run()


def cells(index: ExampleIndex) -> list[str]:
    return sorted(example.cell for example in index)


def ended(session: str, *, t: float) -> SessionEnded:
    return SessionEnded(time=at(t), session_id=session, cells_run=1)


LATER = 10 * RERUN_WINDOW  # a clock past every window (but not STALE_AFTER)


# -- what is learned --------------------------------------------------------------------


def test_a_successful_run_is_learned_with_the_notebooks_cells_before_it(
    kv: KV, events: EventLog, index: ExampleIndex, book: str
) -> None:
    events.write(
        ran(PODS, "kubectl get pods -n web\n", t=0, session="S1", path=book, name="pods"),
        ran(LOGS, "kubectl logs deploy/web -n web --tail 50", t=30, session="S2", path=book),
    )
    counts = learn(kv, events, index, now=35)
    assert (counts.executions, counts.learned, counts.pending) == (2, 1, 1)
    (pods,) = list(index)
    assert pods.query == "# Web outage\n\nCheck the pods."
    assert pods.cell == "kubectl get pods -n web\n" and pods.language == "sh"
    assert pods.source == f"{book}#{PODS}"
    assert pods.id == example_id(pods.query, pods.cell)

    counts = learn(kv, events, index, now=30 + RERUN_WINDOW + 1)  # nothing replaced it
    assert (counts.events, counts.learned, counts.pending) == (0, 1, 0)
    logs = next(e for e in index if e.source.endswith(LOGS))
    # Found by the runbook's title and the prose before the cell; adapted by its place.
    assert logs.query == "Web outage\nThen the logs of the crashing pod."
    assert logs.cell == "kubectl logs deploy/web -n web --tail 50\n"
    assert (logs.title, logs.prose) == ("Web outage", "Then the logs of the crashing pod.")
    assert logs.commands == ("kubectl get pods -n web",)


def test_outside_a_notebook_the_sessions_earlier_commands_are_the_query(
    kv: KV, events: EventLog, index: ExampleIndex
) -> None:
    events.write(
        ran("A", "cd /srv/app", t=0),
        ran("B", "git pull --ff-only", t=10),
        ran("C", "make deploy ENV=prod", t=20),
        ended("S1", t=21),
    )
    counts = learn(kv, events, index, now=22)  # the session's end settles its last run
    assert (counts.learned, counts.no_context, counts.pending) == (2, 1, 0)
    deploy = next(e for e in index if e.cell.startswith("make"))
    assert deploy.query == "git pull --ff-only"  # no prose: the last command is the query
    assert deploy.commands == ("cd /srv/app", "git pull --ff-only")
    assert deploy.source == "#C"


def test_a_notebook_that_cannot_be_read_falls_back_to_the_commands_before(
    kv: KV, events: EventLog, index: ExampleIndex, tmp_path: Path
) -> None:
    gone = str(tmp_path / "deleted.md")
    events.write(
        ran("A", "cd /srv/app", t=0, path=gone),
        ran("B", "git log -1", t=10, session="S2", path=gone),
    )
    learn(kv, events, index, now=LATER)
    (example,) = list(index)
    assert (example.query, example.cell) == ("cd /srv/app", "git log -1\n")


@pytest.mark.parametrize(
    "how",
    [{"exit_code": 1}, {"exit_code": 0, "timed_out": True}, {"exit_code": 0, "cancelled": True}],
    ids=["failed", "timed-out", "cancelled"],
)
def test_runs_that_did_not_succeed_are_not_learned(
    kv: KV, events: EventLog, index: ExampleIndex, how: dict[str, bool | int]
) -> None:
    events.write(
        ran("A", "cd /srv/app", t=0),
        ran("B", "systemctl status app --no-pager", t=10, **how),  # type: ignore[arg-type]
        ran("C", "journalctl -u app -n 20", t=20),
    )
    counts = learn(kv, events, index, now=LATER)
    assert (counts.failed, counts.learned, counts.no_context) == (1, 1, 1)
    assert cells(index) == ["journalctl -u app -n 20\n"]


def test_a_run_in_no_notebook_and_no_session_is_settled_at_once(
    kv: KV, events: EventLog, index: ExampleIndex
) -> None:
    events.write(ran("A", "uptime", t=0, session=None), ran("B", "  \n", t=1))
    counts = learn(kv, events, index, now=2)
    assert (counts.executions, counts.no_context, counts.pending) == (1, 1, 0)


# -- replaced runs: a wrong command that succeeded is not learned (Foyle #298) ------------


def test_a_cell_edited_and_run_again_in_the_session_replaces_the_wrong_run(
    kv: KV, events: EventLog, index: ExampleIndex
) -> None:
    events.write(
        ran("A", "cd /etc/nginx", t=0),
        ran("B", "systemctl reload ngnix", t=10),  # "works" (exit 0) but is wrong
        ran("B", "systemctl reload nginx", t=70),
        ended("S1", t=80),
    )
    counts = learn(kv, events, index, now=81)
    assert (counts.replaced, counts.learned, counts.pending) == (1, 1, 0)
    assert cells(index) == ["systemctl reload nginx\n"]


def test_runs_of_one_notebook_are_compared_across_sessions(
    kv: KV, events: EventLog, index: ExampleIndex, book: str
) -> None:
    # `cairn run pods --file web.md` twice: two processes, two sessions, and (without an
    # `id` attribute) two ephemeral cell ids; the name and the notebook are the same.
    events.write(
        ran("EPHEMERAL-1", "kubectl get pod -n web", t=0, session="S1", path=book, name="pods"),
        ended("S1", t=1),
    )
    first = learn(kv, events, index, now=2)
    assert (first.learned, first.pending) == (0, 1)  # the session's end did not settle it

    events.write(
        ran("EPHEMERAL-2", "kubectl get pods -n web", t=90, session="S2", path=book, name="pods"),
        ended("S2", t=91),
    )
    second = learn(kv, events, index, now=92)
    assert (second.events, second.replaced, second.learned, second.pending) == (2, 1, 0, 1)

    third = learn(kv, events, index, now=90 + RERUN_WINDOW + 1)
    assert (third.events, third.learned, third.pending) == (0, 1, 0)
    assert cells(index) == ["kubectl get pods -n web\n"]


def test_a_notebooks_pending_run_waits_out_the_window_by_the_learners_clock(
    kv: KV, events: EventLog, index: ExampleIndex, book: str
) -> None:
    events.write(ran(PODS, "kubectl get pods -n web", t=0, path=book), ended("S1", t=1))
    assert learn(kv, events, index, now=RERUN_WINDOW - 1).pending == 1
    assert len(index) == 0
    counts = learn(kv, events, index, now=RERUN_WINDOW + 1)
    assert (counts.learned, counts.pending) == (1, 0)


def test_a_sessions_end_settles_its_run_outside_a_notebook(
    kv: KV, events: EventLog, index: ExampleIndex
) -> None:
    events.write(ran("A", "cd /srv", t=0), ran("B", "ls -la", t=5))
    assert learn(kv, events, index, now=6).pending == 1
    key = ordered.encode("copilot.learn.session", "S1")
    assert kv.get(key) is not None
    events.write(ended("S1", t=7))
    counts = learn(kv, events, index, now=8)
    assert (counts.learned, counts.pending) == (1, 0)
    assert kv.get(key) is None  # an ended session is forgotten


def test_an_edit_after_the_window_is_a_new_example_not_a_replacement(
    kv: KV, events: EventLog, index: ExampleIndex, book: str
) -> None:
    events.write(
        ran(PODS, "kubectl get pods -n web", t=0, path=book),
        ran(PODS, "kubectl get pods -n web -o wide", t=RERUN_WINDOW + 5, path=book),
    )
    counts = learn(kv, events, index, now=LATER)
    assert (counts.replaced, counts.learned) == (0, 2)


def test_distinct_cells_run_in_turn_are_each_learned_however_alike(
    kv: KV, events: EventLog, index: ExampleIndex, book: str
) -> None:
    # The runbook: four named cells, two of them one flag apart, run in order.
    runs = [
        ("pods", "kubectl get pods"),
        ("pods-wide", "kubectl get pods -o wide"),
        ("events", "kubectl get events"),
        ("describe", "kubectl describe pod web-7d4b9c-x2k"),
    ]
    events.write(
        *(ran(f"ID{i}", src, t=10 * i, path=book, name=name) for i, (name, src) in enumerate(runs))
    )
    counts = learn(kv, events, index, now=LATER)
    assert (counts.replaced, counts.learned) == (0, 4)
    assert cells(index) == sorted(f"{src}\n" for _, src in runs)


def test_three_hundred_distinct_cells_are_all_learned(
    kv: KV, events: EventLog, index: ExampleIndex
) -> None:
    events.write(*(ran(f"ID{i}", f"echo line-{i}", t=i, name=f"echo-line-{i}") for i in range(300)))
    counts = learn(kv, events, index, now=LATER)
    # The first has nothing before it to be found by; every other one is learned.
    assert (counts.replaced, counts.no_context, counts.learned) == (0, 1, 299)


@pytest.mark.parametrize(
    ("second", "same", "replaced"),
    [
        ("kubectl get pods -n api", True, True),  # the same cell, edited: a fix
        ("kubectl get pods -n api", False, False),  # another cell: another example
        ("helm list --all-namespaces", True, True),  # the same cell, rewritten
    ],
    ids=["same-cell-edited", "other-cell-alike", "same-cell-rewritten"],
)
def test_only_the_same_cell_run_again_edited_replaces_the_earlier_run(
    kv: KV, events: EventLog, index: ExampleIndex, second: str, same: bool, replaced: bool
) -> None:
    events.write(
        ran("A", "kubectl config use-context prod", t=0),
        ran("B", "kubectl get pods -n web", t=10),
        ran("B" if same else "C", second, t=40),
    )
    counts = learn(kv, events, index, now=LATER)
    assert counts.replaced == int(replaced)
    assert ("kubectl get pods -n web\n" in cells(index)) is not replaced


def test_an_unchanged_rerun_stands_for_the_earlier_so_an_edit_replaces_both(
    kv: KV, events: EventLog, index: ExampleIndex, book: str
) -> None:
    events.write(
        ran("E1", "kubectl rollout restart deploy/wbe", t=0, path=book, name="pods"),
        ran("E2", "kubectl rollout restart deploy/wbe", t=20, session="S2", path=book, name="pods"),
        ran("E3", "kubectl rollout restart deploy/web", t=50, session="S3", path=book, name="pods"),
    )
    counts = learn(kv, events, index, now=LATER)
    assert (counts.duplicates, counts.replaced, counts.learned) == (1, 1, 1)
    assert cells(index) == ["kubectl rollout restart deploy/web\n"]


def test_the_same_cell_for_the_same_query_is_learned_once(
    kv: KV, events: EventLog, index: ExampleIndex, book: str
) -> None:
    for day in range(2):
        t = day * 2 * STALE_AFTER
        events.write(ran(PODS, "kubectl get pods -n web", t=t, session=f"S{day}", path=book))
        counts = learn(kv, events, index, now=t + RERUN_WINDOW + 1)
        assert (counts.learned, counts.duplicates) == ((1, 0) if day == 0 else (0, 1))
    assert len(index) == 1


def _settled(c: LearnCounts) -> int:
    """Runs a pass accounted for: each is learned, left out for a reason, or pending."""
    return c.learned + c.failed + c.replaced + c.duplicates + c.no_context + c.pending


RunSpec = tuple[str, str, int, float, str | None, str]
run_spec = st.tuples(
    st.sampled_from(["A", "B", "C"]),  # cell
    st.sampled_from(["ls /srv", "ls /srv/app", "df -h", "du -sh /var/log", "uname -a"]),
    st.sampled_from([0, 0, 0, 1]),  # exit code
    st.sampled_from([5.0, 60.0, 200.0, RERUN_WINDOW + 1]),  # seconds after the run before
    st.sampled_from([None, "nb-1.md", "nb-2.md"]),  # notebook
    st.sampled_from(["S1", "S2"]),  # session
)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(run_spec, min_size=1, max_size=12), st.integers(1, 5))
def test_each_execution_ends_up_counted_exactly_once(
    tmp_path_factory: pytest.TempPathFactory, runs: list[RunSpec], commit_every: int
) -> None:
    root = tmp_path_factory.mktemp("prop")
    events = EventLog(root / "logs")
    t, written = 0.0, []
    for cell, source, code, gap, notebook, session in runs:
        t += gap
        path = str(root / notebook) if notebook else None
        written.append(ran(cell, source, t=t, exit_code=code, session=session, path=path))
    events.write(*written)
    kv = SQLiteKV(root / "cairn.db")
    try:
        index = ExampleIndex(kv, HashEmbedder(32))
        clock = [t]
        learner = Learner(
            kv,
            events.directory,
            index,
            clock=lambda: T0 + timedelta(seconds=clock[0]),
            commit_every=commit_every,
        )
        first = learner.run()
        assert first.executions == len(runs)
        assert _settled(first) == first.executions
        clock[0] = t + RERUN_WINDOW + 1
        second = learner.run()
        assert second.pending == 0 and second.executions == 0
        assert _settled(first) - first.pending + _settled(second) == len(runs)
        assert len(index) == first.learned + second.learned
    finally:
        kv.close()


# -- incremental passes -----------------------------------------------------------------


def test_a_pass_reads_only_new_events_and_keeps_pending_runs_in_the_store(
    tmp_path: Path, events: EventLog, book: str
) -> None:
    events.write(ran(PODS, "kubectl get pods -n wbe", t=0, path=book))
    with SQLiteKV(tmp_path / "a.db") as kv:
        learner = Learner(
            kv, events.directory, ExampleIndex(kv, HashEmbedder(64)), clock=lambda: T0
        )
        assert learner.offset() is None
        first = learner.run()
        assert first.events == 1 and learner.offset() == first.offset
        assert learner.run().events == 0
    events.write(ran(PODS, "kubectl get pods -n web", t=40, path=book))
    with SQLiteKV(tmp_path / "a.db") as kv:  # another process, the same store
        index = ExampleIndex(kv, HashEmbedder(64))
        learner = Learner(kv, events.directory, index, clock=lambda: T0 + timedelta(hours=1))
        second = learner.run()
        assert (second.events, second.replaced, second.learned) == (1, 1, 1)
        assert first.offset is not None and second.offset is not None
        assert Offset.parse(second.offset) > Offset.parse(first.offset)
        assert cells(index) == ["kubectl get pods -n web\n"]


def test_passes_follow_the_log_across_rotated_files(
    tmp_path: Path, kv: KV, index: ExampleIndex
) -> None:
    events = EventLog(tmp_path / "logs", max_file_bytes=900)
    events.write(*(ran(f"C{i}", f"step{i} --flag-{i} " + "x" * 300, t=i) for i in range(4)))
    first = learn(kv, events, index, now=10)
    events.write(*(ran(f"D{i}", f"done{i} --flag-{i} " + "y" * 300, t=20 + i) for i in range(4)))
    assert len(events.files()) >= 4
    second = learn(kv, events, index, now=LATER)
    assert (first.events, second.events) == (4, 4)
    assert first.learned + second.learned == 7  # the first has no context
    assert learn(kv, events, index, now=LATER).events == 0


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "shared.db")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(f"learn_{abs(hash(request.node.name)) % 10**8}")


def test_concurrent_learners_on_one_store_learn_each_example_once(
    store_url: str, events: EventLog
) -> None:
    commands = [f"step{i} --target host{i}" for i in range(30)]
    events.write(
        *(ran(f"C{i}", c, t=i, session=f"S{i // 3}") for i, c in enumerate(commands)),
        *(ended(f"S{s}", t=40) for s in range(10)),
    )
    stores = [open_store(store_url) for _ in range(3)]
    results: list[LearnCounts] = []
    barrier = threading.Barrier(len(stores))

    def work(kv: KV) -> None:
        learner = Learner(
            kv,
            events.directory,
            ExampleIndex(kv, HashEmbedder(64)),
            clock=lambda: T0 + timedelta(seconds=41),
            commit_every=4,
        )
        barrier.wait()
        results.append(learner.run())

    threads = [threading.Thread(target=work, args=(kv,)) for kv in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert len(results) == len(stores)
        assert sum(r.events for r in results) == 40  # each event applied by one pass
        # In each session of three runs, the first has nothing before it.
        assert sum(r.learned for r in results) == 20
        assert sum(r.no_context for r in results) == 10
        assert len(ExampleIndex(stores[0], HashEmbedder(64))) == 20
    finally:
        for kv in stores:
            kv.close()


def test_a_stream_silent_for_a_day_is_forgotten(
    kv: KV, events: EventLog, index: ExampleIndex, book: str
) -> None:
    events.write(ran(PODS, "kubectl get pods -n web", t=0, path=book))
    learn(kv, events, index, now=RERUN_WINDOW + 1)
    key = ordered.encode("copilot.learn.notebook", book)
    assert kv.get(key) is not None  # kept: its commands are the next run's history
    learn(kv, events, index, now=STALE_AFTER + 1)
    assert kv.get(key) is None


def test_learn_once_runs_the_analyzer_and_the_learner(
    kv: KV, events: EventLog, index: ExampleIndex
) -> None:
    events.write(
        suggestion("T1", ("C1", "df -h"), t=0),
        ran("C0", "cd /", t=1),
        ran("C1", "df -h", t=2),
        ended("S1", t=3),
    )
    analyzed, learned = learn_once(
        kv, events.directory, index, clock=lambda: T0 + timedelta(seconds=4)
    )
    assert (analyzed.events, analyzed.executed, learned.events, learned.learned) == (4, 1, 4, 1)
    assert stats(kv)["model-a"].executed_as_suggested == 1


def test_the_learning_loop_passes_until_stopped_and_outlives_a_failed_pass(
    tmp_path: Path, events: EventLog
) -> None:
    events.write(ran("A", "cd /", t=0), ran("B", "ls", t=1), ended("S1", t=2))
    kv = SQLiteKV(tmp_path / "loop.db")
    stop = threading.Event()
    passes: list[LearnCounts] = []

    def on_pass(_: object, learned: LearnCounts) -> None:
        passes.append(learned)
        if len(passes) == 2:
            stop.set()

    run_learning_loop(kv, events.directory, HashEmbedder(64), stop, 0.01, on_pass=on_pass)
    assert [p.learned for p in passes] == [1, 0]
    kv.close()

    errors: list[Exception] = []
    stop.clear()

    def on_error(exc: Exception) -> None:
        errors.append(exc)
        if len(errors) == 2:
            stop.set()

    run_learning_loop(kv, events.directory, HashEmbedder(64), stop, 0.01, on_error=on_error)
    assert len(errors) == 2  # a closed store fails every pass; the loop went on


# -- bad input and damaged state --------------------------------------------------------


def test_an_empty_or_missing_log_dir_learns_nothing(
    kv: KV, index: ExampleIndex, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    for name in ("missing", "empty"):
        learner = Learner(kv, tmp_path / name, index, clock=lambda: T0)
        counts = learner.run()
        assert (counts.events, counts.executions, counts.offset) == (0, 0, None)
    assert len(index) == 0


def test_bad_lines_are_skipped_and_bad_events_counted(
    kv: KV, events: EventLog, index: ExampleIndex
) -> None:
    events.write(ran("A", "cd /srv", t=0))
    events.append_raw(
        b"garbage\n{]\n"
        b'{"type":"cell.executed","session_id":"S1","source":["ls"],"exit_code":0}\n'
        b'{"type":"cell.executed","session_id":"S1","source":"ls","exit_code":"0"}\n'
        b'{"type":"cell.executed","session_id":"S1","source":"ls","notebook_path":7}\n'
    )
    events.write(ran("B", "ls -la", t=5))
    torn = events.encode(ran("C", "cat README", t=9))
    events.append_raw(torn[:40])
    counts = learn(kv, events, index, now=LATER)
    assert (counts.events, counts.skipped, counts.malformed) == (5, 2, 3)
    assert cells(index) == ["ls -la\n"]

    events.append_raw(torn[40:])
    counts = learn(kv, events, index, now=LATER)
    assert (counts.events, counts.skipped, counts.learned) == (1, 0, 1)


@pytest.mark.parametrize(
    "damage",
    [
        b"{",
        b"[]",
        b'{"history": "ls", "pending": null, "time": ""}',
        b'{"history": [], "pending": {"source": 1}, "time": ""}',
        b'{"history": [], "pending": null, "time": 5}',
    ],
)
def test_a_damaged_stream_is_counted_and_rebuilt(
    kv: KV, events: EventLog, index: ExampleIndex, book: str, damage: bytes
) -> None:
    key = ordered.encode("copilot.learn.notebook", book)
    events.write(ran(PODS, "kubectl get pods -n wbe", t=0, path=book))
    learn(kv, events, index, now=1)
    kv.set(key, damage)
    events.write(ran(LOGS, "kubectl logs deploy/web -n web", t=30, path=book))
    counts = learn(kv, events, index, now=31)
    assert counts.damaged == 1 and counts.pending == 1
    assert kv.get(key) not in (None, damage)  # overwritten by the new run's state
    counts = learn(kv, events, index, now=LATER)
    assert counts.learned == 1 and counts.damaged == 0


def test_a_damaged_stream_nobody_runs_in_is_dropped(
    kv: KV, events: EventLog, index: ExampleIndex
) -> None:
    key = ordered.encode("copilot.learn.session", "S-old")
    kv.set(key, b"\x00not json")
    counts = learn(kv, events, index, now=0)
    assert counts.damaged == 1 and kv.get(key) is None


def test_a_damaged_offset_starts_learning_over_without_learning_twice(
    kv: KV, events: EventLog, index: ExampleIndex
) -> None:
    events.write(ran("A", "cd /srv", t=0), ran("B", "ls", t=1), ended("S1", t=2))
    assert learn(kv, events, index, now=3).learned == 1
    kv.set(ordered.encode("copilot.learn", "offset"), b"events-x.jsonl:")
    counts = learn(kv, events, index, now=4)
    assert (counts.damaged, counts.events, counts.learned, counts.duplicates) == (1, 3, 0, 1)
    assert learn(kv, events, index, now=5).events == 0
