"""Timeouts, cancel() and leftovers: the whole process group goes, nothing outlives a cell."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from cairn.kernel import CellResult, CellSpec, Session

from .._wait import wait_until
from ._processes import group_members, is_gone, read_pid, runs_in_group


@pytest.mark.parametrize("interactive", [False, True])
def test_timeout_kills_a_cell_that_ignores_sigint_and_sigterm(
    session: Session, tmp_path: Path, interactive: bool
) -> None:
    source = "trap '' INT TERM\nsleep 60 &\necho $! > child.pid\nwait\n"
    result = session.run(CellSpec(source, interactive=interactive, timeout=0.5))
    proc = result.process
    assert proc.exit_code == 137
    assert proc.timed_out
    assert proc.killed
    assert not proc.cancelled
    assert proc.duration < 5
    child = read_pid(tmp_path / "child.pid")
    assert wait_until(lambda: is_gone(proc.pid) and is_gone(child))
    assert wait_until(lambda: group_members(proc.pid) == [])


@pytest.mark.parametrize("interactive", [False, True])
def test_timeout_interrupts_a_cell_that_obeys_sigint_with_130(
    session: Session, interactive: bool
) -> None:
    result = session.run(CellSpec("sleep 60", interactive=interactive, timeout=0.3))
    proc = result.process
    assert proc.exit_code == 130
    assert proc.timed_out
    assert not proc.killed  # SIGINT was enough; no SIGKILL needed
    assert proc.duration < 5
    assert wait_until(lambda: group_members(proc.pid) == [])


def test_cell_that_finishes_before_its_timeout_is_not_timed_out(session: Session) -> None:
    result = session.run(CellSpec("echo quick", interactive=False, timeout=5))
    assert result.exit_code == 0
    assert not result.process.timed_out


def test_cancel_from_another_thread_interrupts_the_cell_quickly(
    session: Session, tmp_path: Path
) -> None:
    source = "sleep 60 &\necho $! > child.pid\nsleep 61\n"
    cell = CellSpec(source, interactive=False, timeout=30)  # the timeout is only a safety net
    execution, program, state = session.prepare(cell)
    execution.start()
    cancelled_at: list[float] = []

    def canceller() -> None:
        # Cancel once `sleep 61` has exec'd: a SIGINT that lands while bash is still forking
        # it is lost by the child, and the cell would only end by SIGKILL after the grace.
        if wait_until(lambda: runs_in_group(execution.pid, ["sleep", "61"]), timeout=10):
            cancelled_at.append(time.monotonic())
            execution.cancel()

    thread = threading.Thread(target=canceller)
    thread.start()
    result: CellResult = session.finish(cell, program, execution, state)
    returned_at = time.monotonic()
    thread.join(5)
    assert cancelled_at, "the cell never reached its foreground sleep"
    proc = result.process
    assert proc.cancelled
    assert not proc.timed_out
    assert proc.exit_code == 130
    assert returned_at - cancelled_at[0] < 3
    child = read_pid(tmp_path / "child.pid")
    assert wait_until(lambda: is_gone(proc.pid) and is_gone(child))
    assert wait_until(lambda: group_members(proc.pid) == [])


def test_cancel_after_the_cell_finished_changes_nothing(session: Session) -> None:
    cell = CellSpec("echo done", interactive=False)
    execution, program, state = session.prepare(cell)
    execution.start()
    result = session.finish(cell, program, execution, state)
    execution.cancel()
    assert result.exit_code == 0
    assert not result.process.cancelled


def test_background_job_holding_stdout_is_killed_after_linger(
    session: Session, tmp_path: Path
) -> None:
    source = "sleep 60 &\necho $! > bg.pid\necho main done\n"
    result = session.run(CellSpec(source, interactive=False))
    proc = result.process
    assert proc.exit_code == 0  # the cell itself succeeded
    assert proc.leftovers_killed
    assert proc.stdout.text == "main done\n"
    assert proc.duration >= session.linger
    background = read_pid(tmp_path / "bg.pid")
    assert wait_until(lambda: is_gone(background))


def test_background_job_with_output_detached_is_left_running(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    # The kernel kills leftovers only when they keep the cell's output open; a job that
    # detached its output (nohup … >/dev/null 2>&1 &) is the user's to manage.
    source = "nohup sleep 60 >/dev/null 2>&1 &\necho $! > bg.pid\n"
    with Session(cwd=tmp_path, env=clean_env, grace=0.3, linger=5) as session:
        result = session.run(CellSpec(source, interactive=False))
    background = read_pid(tmp_path / "bg.pid")
    try:
        proc = result.process
        assert proc.exit_code == 0
        assert not proc.leftovers_killed
        assert proc.duration < 4  # did not wait out the 5 s linger
        assert not is_gone(background)
        assert "sleep" in psutil.Process(background).cmdline()
    finally:
        if not is_gone(background) and "sleep" in psutil.Process(background).cmdline():
            os.kill(background, signal.SIGKILL)
    assert wait_until(lambda: is_gone(background))


def test_control_calls_after_the_cell_finished_are_harmless(session: Session) -> None:
    cell = CellSpec("echo done", interactive=False)
    execution, program, state = session.prepare(cell)
    execution.start()
    result = session.finish(cell, program, execution, state)
    # A descriptor opened now may reuse the number of the closed wake pipe: late
    # control calls must not write into it.
    read_end, write_end = os.pipe()
    try:
        os.set_blocking(read_end, False)
        execution.cancel()
        execution.resize(10, 40)
        execution.send(b"late input")
        with pytest.raises(BlockingIOError):
            os.read(read_end, 10)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert result.exit_code == 0 and not result.process.cancelled


def _stubborn(tmp_path: Path) -> str:
    """A cell that survives SIGINT (and says so) with a child that ignores it."""
    return (
        f"trap 'echo int >> {tmp_path}/int.seen' INT\n"
        f"sleep 60 &\necho $! > {tmp_path}/child.pid\n"
        "while :; do wait || true; done\n"
    )


def test_cancel_with_kill_does_not_wait_out_the_grace_period(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    with Session(cwd=tmp_path, env=clean_env, grace=60, linger=0.3) as session:
        cell = CellSpec(_stubborn(tmp_path), interactive=False)
        execution, program, state = session.prepare(cell)
        execution.start()

        def canceller() -> None:
            if wait_until(lambda: (tmp_path / "child.pid").exists(), timeout=10):
                execution.cancel()
                if wait_until(lambda: (tmp_path / "int.seen").exists(), timeout=10):
                    execution.cancel(kill=True)

        thread = threading.Thread(target=canceller)
        thread.start()
        result = session.finish(cell, program, execution, state)
        thread.join(5)
    proc = result.process
    assert proc.cancelled and proc.killed and proc.exit_code == 137
    assert proc.duration < session.grace  # the kill came at once, not after the grace
    assert wait_until(lambda: group_members(proc.pid) == [])


def test_a_second_ctrl_c_during_the_grace_period_kills_and_still_returns_the_result(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    # Ctrl-C without any handler installed: KeyboardInterrupt in the thread that waits.
    with Session(cwd=tmp_path, env=clean_env, grace=60, linger=0.3) as session:
        cell = CellSpec(_stubborn(tmp_path), interactive=False)

        def press_ctrl_c_twice() -> None:
            if wait_until(lambda: (tmp_path / "child.pid").exists(), timeout=10):
                os.kill(os.getpid(), signal.SIGINT)
                if wait_until(lambda: (tmp_path / "int.seen").exists(), timeout=10):
                    os.kill(os.getpid(), signal.SIGINT)

        thread = threading.Thread(target=press_ctrl_c_twice)
        thread.start()
        result = session.run(cell)
        thread.join(5)
    proc = result.process
    assert proc.cancelled and proc.killed and proc.exit_code == 137
    assert proc.duration < session.grace
    child = read_pid(tmp_path / "child.pid")
    assert wait_until(lambda: is_gone(child) and group_members(proc.pid) == [])


def test_a_timeout_far_beyond_what_the_event_loop_can_wait_works(session: Session) -> None:
    result = session.run(CellSpec("echo quick", interactive=False, timeout=1e12))
    assert result.exit_code == 0 and result.process.stdout.text == "quick\n"
