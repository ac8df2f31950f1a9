"""Learning-log benchmark: acknowledged events per second and emit latency, durability on
(every `emit` waits for its fdatasync; concurrent emitters share one: group commit) vs
off (written, not synced), with 1 and 8 emitting threads, in one run.

Each event is a realistic `cell.executed` (a command, ~1 KiB of output, redaction on).
The baseline is a bare loop of write(2) + fdatasync(2) of one line in the same directory:
what one durable event at a time costs on this disk, before any Python of ours.

Usage: .venv/bin/python bench/learnlog.py [--events 3000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from cairn.learnlog import CellExecuted, LearningLog

OUTPUT = "".join(
    f"pod/api-7d4b9c{n:03d}   1/1   Running   0   {n}h   10.0.{n % 255}.{n % 7}\n"
    for n in range(16)
)


def _event(n: int) -> CellExecuted:
    return CellExecuted(
        notebook_path="/home/dev/ops/runbook.md",
        known_id=f"01HWBWZK8W2C4T7V0J3P5R{n % 10000:04d}",
        known_name="list-pods",
        language="sh",
        program="bash",
        source="kubectl get pods -n prod -o wide",
        cwd="/home/dev/ops",
        duration_ms=412,
        stdout=OUTPUT,
        env_changed=["KUBECONFIG"],
    )


def baseline(directory: Path, count: int) -> float:
    """Seconds per write + fdatasync of one ~1 KiB line."""
    line = b"x" * 1100 + b"\n"
    fd = os.open(directory / "baseline", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        start = time.perf_counter()
        for _ in range(count):
            os.write(fd, line)
            os.fdatasync(fd)
        return (time.perf_counter() - start) / count
    finally:
        os.close(fd)


def run(directory: Path, *, fsync: bool, threads: int, events: int) -> dict[str, float]:
    """Emit `events` events from `threads` threads; throughput, latencies, batching."""
    latencies: list[float] = []
    mu = threading.Lock()
    per_thread = events // threads
    with LearningLog(directory, fsync=fsync) as log:
        log.emit(_event(0))  # open the file, warm the code paths
        ready = threading.Barrier(threads + 1)

        def work(worker: int) -> None:
            mine = []
            prepared = [_event(worker * per_thread + n) for n in range(per_thread)]
            ready.wait()
            for event in prepared:
                start = time.perf_counter()
                log.emit(event)
                mine.append(time.perf_counter() - start)
            with mu:
                latencies.extend(mine)

        pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
        for t in pool:
            t.start()
        ready.wait()
        start = time.perf_counter()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - start
        stats = log.stats()
    latencies.sort()
    done = per_thread * threads
    return {
        "rate": done / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "per_fsync": (stats.events / stats.fsyncs) if stats.fsyncs else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=3000, help="events per configuration")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        raw = baseline(root, min(args.events, 1000))
        results = {}
        for fsync in (True, False):
            for threads in (1, 8):
                where = root / f"log-{fsync}-{threads}"
                results[fsync, threads] = run(
                    where, fsync=fsync, threads=threads, events=args.events
                )

    header = ("durability", "threads", "events/s", "p50 emit", "p99 emit", "events/fsync", "vs raw")
    rows = []
    for (fsync, threads), r in results.items():
        rows.append(
            (
                "on (fdatasync)" if fsync else "off",
                str(threads),
                f"{r['rate']:,.0f}",
                f"{r['p50'] * 1e3:.2f} ms",
                f"{r['p99'] * 1e3:.2f} ms",
                f"{r['per_fsync']:.1f}" if fsync else "-",
                f"{r['rate'] * raw:.2f}x",
            )
        )
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    on1, on8 = results[True, 1]["rate"], results[True, 8]["rate"]
    off1 = results[False, 1]["rate"]
    print(
        f"\nraw write+fdatasync loop: {1 / raw:,.0f} lines/s ({raw * 1e3:.2f} ms each); "
        f"durability costs {off1 / on1:.1f}x at 1 thread; group commit gives 8 threads "
        f"{on8 / on1:.1f}x the durable rate of 1.\n{args.events} events per row, ~1 KiB "
        f"cell.executed each, redaction on; {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
