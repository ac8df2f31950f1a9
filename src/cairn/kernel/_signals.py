"""Stopping a run on SIGINT, SIGTERM or SIGHUP the way Ctrl-C stops a cell.

The default action of SIGTERM and SIGHUP ends Python at once: the cell's process group
keeps running, and nothing is recorded or cleaned up. While a `StopSignals` is active,
each of them instead cancels the running cell (SIGINT to its group, SIGKILL after the
grace period) and marks the run as stopped, so the caller records the cancelled cell,
flushes its logs, removes its files, and exits with `exit_code` (128 + the signal).
A second signal kills the cell's group at once; the recording still happens. A signal
that was ignored when the block began (`nohup`) stays ignored.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from ._process import Execution

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopSignals:
    """Catch the stop signals for the duration of a `with` block (main thread only)."""

    def __init__(self, signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> None:
        self.signals = signals
        self.received: int | None = None  # the first stop signal, once one arrived
        self._count = 0
        self._execution: Execution | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is not threading.main_thread():
            return self  # Python delivers signals to the main thread only
        for sig in self.signals:
            # An ignored signal stays ignored: `nohup cairn run …` must survive a hangup,
            # and a background job started by a non-interactive shell ignores SIGINT.
            if signal.getsignal(sig) is not signal.SIG_IGN:
                self._previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    @property
    def stopped(self) -> bool:
        return self.received is not None

    @property
    def exit_code(self) -> int | None:
        """128 + the first signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP), or None."""
        return None if self.received is None else 128 + self.received

    @property
    def name(self) -> str:
        return "" if self.received is None else signal.Signals(self.received).name

    def watch(self, execution: Execution | None) -> None:
        """The execution a signal cancels from now on (None: no cell is running).

        If a signal already arrived, the execution is cancelled at once.
        """
        self._execution = execution
        if execution is not None and self._count:
            execution.cancel_from_signal(kill=self._count > 1)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._count += 1
        if self.received is None:
            self.received = signum
        execution = self._execution
        if execution is not None:
            execution.cancel_from_signal(kill=self._count > 1)
