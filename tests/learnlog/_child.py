"""A learning-log writer run as its own process by the tests (so it can be killed, or
limited): `python _child.py MODE LOGDIR …`.

- `emit LOGDIR COUNT THREADS MAX_FILE_BYTES`: emit COUNT events from THREADS threads and
  print each event id to stdout once `emit` has returned (one write(2) per id, so a
  SIGKILL never leaves an id half-printed);
- `fsize LOGDIR LIMIT`: the same with the file-size limit (RLIMIT_FSIZE) set to LIMIT
  bytes, which makes writes fail as on a full disk; on the first LearningLogError (at
  open or at emit) prints `failed: <event id>` (at emit) and `error: <message>`, exits 3.
"""

from __future__ import annotations

import os
import random
import resource
import signal
import sys
import threading
from pathlib import Path

from cairn.learnlog import CellExecuted, LearningLog, LearningLogError

_OUTPUT = "drwxr-xr-x 2 root root 4096 file.txt\n" * 600


def _event(rng: random.Random, n: int) -> CellExecuted:
    # Sizes vary from a line to ~20 KB, so batches differ and files rotate mid-batch.
    out = _OUTPUT[: rng.choice((50, 200, 2000, 20000))]
    return CellExecuted(
        known_id=f"cell-{n}", source=f"echo {n}", stdout=out, exit_code=n % 3, cwd="/tmp"
    )


def _emit_all(log: LearningLog, count: int, threads: int) -> None:
    def work(worker: int) -> None:
        rng = random.Random(worker)
        for n in range(worker, count, threads):
            event = _event(rng, n)
            log.emit(event)
            os.write(1, f"{event.event_id}\n".encode())

    pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def main() -> int:
    mode, logdir = sys.argv[1], Path(sys.argv[2])
    if mode == "emit":
        count, threads, max_bytes = (int(a) for a in sys.argv[3:6])
        with LearningLog(logdir, max_file_bytes=max_bytes) as log:
            _emit_all(log, count, threads)
        return 0
    if mode == "fsize":
        limit = int(sys.argv[3])
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of dying
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        try:
            log = LearningLog(logdir)
        except LearningLogError as exc:
            os.write(1, f"error: {exc}\n".encode())
            return 3
        with log:
            rng = random.Random(1)
            for n in range(100_000):
                event = _event(rng, n)
                try:
                    log.emit(event)
                except LearningLogError as exc:
                    os.write(1, f"failed: {event.event_id}\nerror: {exc}\n".encode())
                    return 3
                os.write(1, f"{event.event_id}\n".encode())
        return 0
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main())
