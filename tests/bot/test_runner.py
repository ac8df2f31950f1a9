"""The background runner: triggers run a pass soon, bursts coalesce, a failing pass is
kept and retried, the timer runs every project."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from cairn.bot import BotRunner

from .._wait import wait_until


def test_a_trigger_runs_a_pass_and_a_burst_coalesces() -> None:
    seen: list[list[str]] = []
    gate = threading.Event()

    def run_pass(projects: Sequence[str]) -> None:
        seen.append(list(projects))
        gate.wait(5)

    runner = BotRunner(run_pass)
    runner.start()
    runner.trigger("o/a")
    assert wait_until(lambda: len(seen) == 1)
    for _ in range(20):  # during the pass: all of them make one more pass
        runner.trigger("o/b")
    runner.trigger("o/c")
    gate.set()
    assert wait_until(lambda: runner.passes == 2)
    runner.stop()
    assert seen == [["o/a"], ["o/b", "o/c"]]


def test_a_failing_pass_is_kept_and_the_next_trigger_retries() -> None:
    calls = []

    def run_pass(projects: Sequence[str]) -> None:
        calls.append(projects)
        if len(calls) == 1:
            raise RuntimeError("GitHub is down")

    runner = BotRunner(run_pass)
    runner.start()
    runner.trigger("o/a")
    assert wait_until(lambda: runner.passes == 1)
    assert runner.error == "GitHub is down"
    runner.trigger("o/a")
    assert wait_until(lambda: runner.passes == 2)
    assert runner.error is None
    runner.stop()


def test_the_timer_runs_every_project() -> None:
    seen: list[list[str]] = []
    runner = BotRunner(lambda p: seen.append(list(p)), ["o/a", "o/b"], every_s=0.05)
    runner.start()
    assert wait_until(lambda: len(seen) >= 2)
    runner.stop()
    assert seen[0] == ["o/a", "o/b"]
