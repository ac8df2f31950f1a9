"""The record store on real SQLite files and a real PostgreSQL server: the status rule,
sweeps of stuck runs, retention, and two writers sharing one store."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cairn.llm.recorder import RecordStore, Write
from cairn.llm.recorder._data import Owner, Run, Step, now_ns
from cairn.store import KV, SQLiteKV

from ...pgserver import PostgresServer

HOUR = 3600 * 10**9


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _run(run_id: str, *, started: int, owner: Owner | None = None, **kw: Any) -> dict[str, Any]:
    return Run(run_id, "prompt", started, owner or Owner.current(), **kw).to_dict()


def _step(run_id: str, seq: int, status: str, **kw: Any) -> dict[str, Any]:
    step = Step(run_id, seq, "generate", "openai", "m", now_ns(), **kw).to_dict()
    return step | {"status": status}


@pytest.fixture(params=["sqlite", "postgres"])
def kv_pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[KV, KV]]:
    """Two connections to one store, as two processes would have."""
    if request.param == "sqlite":
        kvs: tuple[KV, KV] = (SQLiteKV(tmp_path / "d.db"), SQLiteKV(tmp_path / "d.db"))
    else:
        from cairn.store._postgres import PostgresKV

        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database(f"rec_{abs(hash(request.node.name)) % 10**8}")
        kvs = (PostgresKV(url), PostgresKV(url))
    yield kvs
    for kv in kvs:
        kv.close()


def test_a_status_never_moves_backwards(kv_pair: tuple[KV, KV]) -> None:
    a, b = RecordStore(kv_pair[0]), RecordStore(kv_pair[1])
    start = now_ns()
    a.write(Write(runs=[_run("R1", started=start)], steps=[_step("R1", 1, "in_progress")]))
    b.write(Write(steps=[_step("R1", 1, "interrupted")]))  # a sweep elsewhere
    a.write(Write(steps=[_step("R1", 1, "completed", finish_reason="stop")]))  # late finish
    b.write(Write(steps=[_step("R1", 1, "error")]))  # a late, lower callback
    b.write(Write(steps=[_step("R1", 1, "interrupted")]))
    (step,) = a.steps("R1")
    assert step["status"] == "completed" and step["finish_reason"] == "stop"


def test_the_first_of_equal_finishes_wins(kv_pair: tuple[KV, KV]) -> None:
    a, b = RecordStore(kv_pair[0]), RecordStore(kv_pair[1])
    a.write(Write(runs=[_run("R1", started=now_ns())], steps=[_step("R1", 1, "in_progress")]))
    barrier = threading.Barrier(8)

    def finish(store: RecordStore, i: int) -> None:
        barrier.wait()
        store.write(Write(steps=[_step("R1", 1, "completed", finish_reason=f"f{i}")]))

    threads = [threading.Thread(target=finish, args=((a, b)[i % 2], i)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (step,) = b.steps("R1")
    winner = step["finish_reason"]
    assert step["status"] == "completed" and winner.startswith("f")
    # Once stored, later finishes of the same priority change nothing.
    a.write(Write(steps=[_step("R1", 1, "completed", finish_reason="later")]))
    assert a.steps("R1")[0]["finish_reason"] == winner


def test_sweep_interrupts_runs_of_dead_processes_and_stale_runs(kv_pair: tuple[KV, KV]) -> None:
    store = RecordStore(kv_pair[0])
    now = now_ns()
    dead = Owner(Owner.current().host, _dead_pid())
    store.write(
        Write(
            runs=[
                _run("DEAD", started=now, owner=dead),
                _run("LIVE", started=now),
                _run("STALE", started=now - 3 * HOUR, owner=Owner("elsewhere", 1)),
                _run("DONE", started=now - 3 * HOUR, owner=dead, status="completed"),
            ],
            steps=[
                _step("DEAD", 1, "completed"),
                _step("DEAD", 2, "in_progress"),
                _step("LIVE", 1, "in_progress"),
                _step("STALE", 1, "in_progress"),
            ],
        )
    )
    assert store.sweep(stale_after_s=3600, now=now) == 2
    status = {r["id"]: r["status"] for r in store.runs()}
    assert status == {
        "DEAD": "interrupted",
        "LIVE": "in_progress",
        "STALE": "interrupted",
        "DONE": "completed",
    }
    assert [s["status"] for s in store.steps("DEAD")] == ["completed", "interrupted"]
    assert store.steps("LIVE")[0]["status"] == "in_progress"
    assert store.sweep(stale_after_s=3600, now=now) == 0  # nothing left to mark
    # The owner finishing after all: completed outranks interrupted.
    store.write(Write(runs=[_run("DEAD", started=now, owner=dead, status="completed")]))
    assert store.run("DEAD")["status"] == "completed"  # type: ignore[index]


def test_retention_deletes_old_then_oldest_but_keeps_pinned_and_open(tmp_path: Path) -> None:
    store = RecordStore(SQLiteKV(tmp_path / "d.db"))
    now = now_ns()
    big = "x" * 10_000
    for i in range(10):
        run_id = f"R{i}"
        started = now - (10 - i) * HOUR  # R0 is the oldest
        store.write(
            Write(
                runs=[_run(run_id, started=started, status="completed")],
                steps=[_step(run_id, 1, "completed", request={"text": big})],
            )
        )
    store.write(Write(runs=[_run("OPEN", started=now - 20 * HOUR)]))
    assert store.set_pinned("R0", True)
    assert not store.set_pinned("NOPE", True)
    sizes = {r["id"]: r["summary"]["bytes"] for r in store.runs()}
    assert all(sizes[f"R{i}"] > 10_000 for i in range(10))
    # Older than 8.5 hours: R0 (pinned, kept) and R1.
    deleted, freed = store.prune(max_age_s=8.5 * 3600, max_bytes=None, now=now)
    assert deleted == 1 and freed == sizes["R1"]
    # Then the oldest unpinned until at most ~4 runs' worth remain.
    deleted, _ = store.prune(max_age_s=None, max_bytes=4 * sizes["R5"] + 100, now=now)
    left = {r["id"] for r in store.runs()}
    assert "R0" in left and "OPEN" in left and "R9" in left
    assert "R2" not in left and deleted >= 4
    assert store.steps("R2") == [] and store.attempts("R2") == []
    store.kv.close()


def test_resolve_finds_runs_by_unique_prefix(tmp_path: Path) -> None:
    store = RecordStore(SQLiteKV(tmp_path / "d.db"))
    store.write(
        Write(runs=[_run("01ABC", started=1), _run("01ABD", started=2), _run("02X", started=3)])
    )
    assert store.resolve("01ab") == ["01ABC", "01ABD"]
    assert store.resolve("01ABD") == ["01ABD"]
    assert store.resolve("9") == [] and store.resolve("  ") == []
    assert [r["id"] for r in store.runs()] == ["02X", "01ABD", "01ABC"]  # newest first
    store.kv.close()
