"""Kernel benchmarks: `cairn run` overhead and output-capture throughput.

Prints a table; every figure is a ratio against a baseline measured in the same run
(these machines are noisy), plus the absolute numbers and peak RSS.

  (a) median wall time of `cairn run` on a `true` cell vs `bash -c true`
  (b) capture throughput for 1 GiB of output vs `head -c 1G /dev/zero | cat > /dev/null`
      (pipe mode, and PTY mode for reference)

Targets (issue 2): overhead ≤ 120 ms, throughput ≥ 50% of the raw pipe, RSS ≤ 150 MB.
Usage: .venv/bin/python bench/kernel.py [--runs 21] [--gib 1] [--capture-runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

CAIRN = str(Path(sys.executable).with_name("cairn"))


# Runs `cairn` in-process and writes its peak RSS (VmHWM, KiB) to $CAIRN_BENCH_RSS at
# exit. wait4's ru_maxrss would not do: Linux keeps the forking parent's peak across exec.
_RSS_PROBE = (
    "import atexit, os, sys\n"
    "def _report():\n"
    "    status = open('/proc/self/status').read()\n"
    "    with open(os.environ['CAIRN_BENCH_RSS'], 'w') as out:\n"
    "        out.write(status.split('VmHWM:')[1].split()[0])\n"
    "atexit.register(_report)\n"
    "from cairn.cli import main\n"
    "sys.argv = ['cairn', *sys.argv[1:]]\n"
    "sys.exit(main())\n"
)


def peak_rss_mb(args: list[str], probe_file: Path) -> float:
    """Peak RSS of one `cairn` run, measured inside that process."""
    os.environ["CAIRN_BENCH_RSS"] = str(probe_file)
    timed([sys.executable, "-c", _RSS_PROBE, *args])
    return int(probe_file.read_text()) / 1024


def timed(argv: list[str], stdout: int | None = None) -> tuple[float, int]:
    """Wall seconds and ru_maxrss (KiB) of one child process."""
    devnull = os.open(os.devnull, os.O_RDWR)
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.dup2(devnull, 0)
        os.dup2(stdout if stdout is not None else devnull, 1)
        os.dup2(devnull, 2)
        os.execv(argv[0], argv)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(argv)}")
    return elapsed, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--capture-runs", type=int, default=5)
    args = parser.parse_args()
    size = int(args.gib * (1 << 30))
    bash = "/bin/bash"
    with tempfile.TemporaryDirectory() as tmp:
        # Measured as users run it: with the learning log on (durable writes included),
        # in a config dir of its own.
        os.environ["CAIRN_CONFIG_DIR"] = str(Path(tmp) / "config")
        book = Path(tmp) / "bench.md"
        book.write_text(
            '```sh {"name":"noop","interactive":"false"}\ntrue\n```\n\n'
            f'```sh {{"name":"flood","interactive":"false"}}\nhead -c {size} /dev/zero\n```\n\n'
            f'```sh {{"name":"flood-pty","interactive":"true"}}\nhead -c {size} /dev/zero\n```\n'
        )
        cairn_noop = [CAIRN, "run", "noop", "--file", str(book)]
        timed(cairn_noop)  # warm the page cache and bytecode
        base, ours = [], []
        for _ in range(args.runs):  # interleaved, so drift hits both equally
            base.append(timed([bash, "-c", "true"])[0])
            ours.append(timed(cairn_noop)[0])
        b_med, o_med = statistics.median(base), statistics.median(ours)
        probe = Path(tmp) / "rss"
        noop_rss = peak_rss_mb(["run", "noop", "--file", str(book)], probe)

        raw, pipes, ptys = [], [], []
        for _ in range(args.capture_runs):  # interleaved medians: one noisy run can't decide
            raw.append(timed([bash, "-c", f"head -c {size} /dev/zero | cat > /dev/null"]))
            pipes.append(timed([CAIRN, "run", "flood", "--file", str(book)]))
            ptys.append(timed([CAIRN, "run", "flood-pty", "--file", str(book)]))
        raw_t = statistics.median(t for t, _ in raw)
        pipe_t = statistics.median(t for t, _ in pipes)
        pty_t = statistics.median(t for t, _ in ptys)
        pipe_rss = peak_rss_mb(["run", "flood", "--file", str(book)], probe)
        pty_rss = peak_rss_mb(["run", "flood-pty", "--file", str(book)], probe)

    mib = size / (1 << 20)
    rows = [
        (
            "run overhead (median)",
            f"{(o_med - b_med) * 1000:.1f} ms",
            f"{o_med / b_med:.1f}x bash",
            f"cairn {o_med * 1000:.1f} ms vs bash -c true {b_med * 1000:.1f} ms",
            "≤ 120 ms",
            (o_med - b_med) <= 0.120,
        ),
        (
            "capture, pipes",
            f"{mib / pipe_t:.0f} MiB/s",
            f"{raw_t / pipe_t:.0%} of raw",
            f"raw pipe {mib / raw_t:.0f} MiB/s",
            "≥ 50%",
            raw_t / pipe_t >= 0.5,
        ),
        (
            "capture, PTY",
            f"{mib / pty_t:.0f} MiB/s",
            f"{raw_t / pty_t:.0%} of raw",
            "terminal line discipline",
            "(info)",
            True,
        ),
        ("peak RSS, noop", f"{noop_rss:.0f} MB", "", "", "", True),
        (
            f"peak RSS, {mib:.0f} MiB pipes",
            f"{pipe_rss:.0f} MB",
            "",
            "",
            "≤ 150 MB",
            pipe_rss <= 150,
        ),
        (
            f"peak RSS, {mib:.0f} MiB PTY",
            f"{pty_rss:.0f} MB",
            "",
            "",
            "≤ 150 MB",
            pty_rss <= 150,
        ),
    ]
    header = ("measure", "value", "ratio", "baseline", "target", "ok")
    table = [header, *[(*r[:5], "yes" if r[5] else "NO") for r in rows]]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))
    print(
        f"\n{args.runs} interleaved runs for overhead; {args.capture_runs} interleaved capture runs"
        f" of {mib:.0f} MiB (medians); peak RSS is VmHWM inside cairn; {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
