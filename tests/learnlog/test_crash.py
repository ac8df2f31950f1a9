"""Crash test: a writer process killed with SIGKILL at a random point loses no event it
had acknowledged, and the reader never fails on what it leaves behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from cairn.learnlog import validate
from cairn.learnlog._reader import read_events

CHILD = str(Path(__file__).with_name("_child.py"))
RUNS = 20


def _kill_after(logdir: Path, acks: int) -> tuple[list[str], int]:
    """Start a writer of 10k events (4 threads, 128 KiB files), SIGKILL it once it has
    acknowledged `acks` events; return every id it printed and its exit status."""
    proc = subprocess.Popen(
        [sys.executable, CHILD, "emit", str(logdir), "10000", "4", "131072"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    printed: list[bytes] = []
    for line in proc.stdout:
        printed.append(line)
        if len(printed) >= acks:
            proc.send_signal(signal.SIGKILL)
            break
    printed += proc.stdout.readlines()  # ids printed before the kill landed
    stderr = proc.stderr.read().decode()
    status = proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()
    assert all(line.endswith(b"\n") for line in printed), stderr
    return [line.decode().strip() for line in printed], status


def test_acknowledged_events_survive_sigkill_and_the_reader_survives_the_tail(
    tmp_path: Path,
) -> None:
    logdir = tmp_path / "logs"
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    acknowledged: list[str] = []
    torn_tails = 0
    for run in range(RUNS):
        ids, status = _kill_after(logdir, rng.randint(1, 150))
        assert status == -signal.SIGKILL, f"run {run} (seed {seed}) ended by itself"
        acknowledged += ids

        reader = read_events(logdir)
        read = [event["event_id"] for _, event in reader]  # must not raise
        torn_tails += reader.counts.torn_tail
        missing = set(acknowledged) - set(read)
        assert not missing, f"run {run} (seed {seed}) lost {len(missing)} acknowledged events"
        assert len(read) == len(set(read)), "an event was written twice"
    # Every line that was read is a valid event (spot-check: pydantic is slow).
    for _, event in list(read_events(logdir))[::50]:
        validate(event)
    assert len(acknowledged) >= RUNS
    print(f"seed {seed}: {len(acknowledged)} acknowledged, {torn_tails} torn tails seen")
