"""Speculative prefill: after a cell runs, the prompt of the suggestion most likely asked
next (the one after that cell) is evaluated into the local model's cache, so that when it
is asked for, the model only has to decode.

Reading a prompt is most of what a suggestion costs a small local model (a few hundred
new tokens a cell, with output, at ~800 tokens/s on two cores), and it can be done while
the operator reads what the cell printed. One background thread does it; only the newest
position waiting is kept, so a burst of runs prefills once, for the last. The prefill
holds the model's lock: a suggestion asked meanwhile waits for it and then finds its
prompt evaluated. Models without a local cache (the remote providers, which cache
prompts on their side) are skipped. A failure is logged and counted, never raised.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..llm import CanPrefill

log = logging.getLogger("cairn.server")


class _Ready(Protocol):
    @property
    def model(self) -> Any: ...
    @property
    def prompt(self) -> Any: ...


@dataclass
class PrefillStats:
    runs: int = 0  # prefills done
    tokens: int = 0  # prompt tokens evaluated by them
    skipped: int = 0  # positions replaced by a newer one before their turn, or no local model
    failures: int = 0
    last_error: str | None = None


class Prefill:
    """Prefills the suggestion after each run, in the background (see the module doc)."""

    def __init__(self, prepare: Callable[[str, str], _Ready]) -> None:
        self._prepare = prepare  # (runbook path under the root, cell) → model and prompt
        self.stats = PrefillStats()
        self._pending: tuple[str, str] | None = None
        self._busy = False
        self._stopped = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def after_run(self, path: str, cell: str) -> None:
        """The cell `cell` of `path` has run: prefill the suggestion after it (returns at once)."""
        with self._cond:
            if self._stopped:
                return
            if self._pending is not None:
                self.stats.skipped += 1
            self._pending = (path, cell)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="cairn-prefill", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is pending or running (within `timeout` seconds)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stopped = True
            self._pending = None
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                self._cond.wait_for(lambda: self._pending is not None or self._stopped)
                if self._stopped:
                    return
                assert self._pending is not None
                (path, cell), self._pending = self._pending, None
                self._busy = True
            self._one(path, cell)

    def _one(self, path: str, cell: str) -> None:
        try:
            ready = self._prepare(path, cell)
            if not isinstance(ready.model, CanPrefill):
                with self._cond:
                    self.stats.skipped += 1
                return
            tokens = int(ready.model.prefill(ready.prompt.request))
        except Exception as exc:  # a speculation: the suggestion itself will say what is wrong
            log.warning("prefill after %s in %s: %s: %s", cell, path, type(exc).__name__, exc)
            with self._cond:
                self.stats.failures += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
            return
        with self._cond:
            self.stats.runs += 1
            self.stats.tokens += tokens
