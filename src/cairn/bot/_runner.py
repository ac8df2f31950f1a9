"""Running the bot's pipeline in the background: at once for a project a webhook named,
and every `every` seconds for all of them (polling, the reconciliation path).

One thread runs passes one at a time; triggers that arrive during a pass are coalesced
into the next one, so a burst of deliveries for a project costs one pass, not one each.
A failing pass is logged, kept in `error` and retried at the next trigger or tick; it
never stops the thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

log = logging.getLogger("cairn.bot")

Pass = Callable[[Sequence[str]], object]  # projects → whatever the pass reports


class BotRunner:
    """Runs `run_pass(projects)` in a thread of its own, on triggers and on a timer."""

    def __init__(
        self, run_pass: Pass, projects: Sequence[str] = (), *, every_s: float | None = None
    ) -> None:
        self.run_pass = run_pass
        self.projects = tuple(projects)
        self.every_s = every_s
        self.passes = 0  # completed passes
        self.error: str | None = None  # the latest pass's failure, if it failed
        self._pending: set[str] = set()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cairn-bot", daemon=True)
        self._thread.start()

    def trigger(self, project: str) -> None:
        """Run a pass for `project` as soon as the one under way (if any) ends."""
        with self._wake:
            self._pending.add(project)
            self._wake.notify()

    def stop(self, timeout: float = 10.0) -> None:
        """End after the pass under way, and wait for it."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def _next(self) -> list[str] | None:
        """The projects of the next pass; None when stopping."""
        with self._wake:
            if not self._pending and not self._stopping:
                ticked = not self._wake.wait(self.every_s)
                if ticked and not self._pending:
                    self._pending.update(self.projects)
            if self._stopping:
                return None
            projects, self._pending = sorted(self._pending), set()
            return projects

    def _run(self) -> None:
        while (projects := self._next()) is not None:
            if not projects:
                continue
            try:
                self.run_pass(projects)
            except Exception as exc:  # logged and kept; the next trigger or tick retries
                log.warning("bot: a pass over %s failed: %s", ", ".join(projects), exc)
                self.error = str(exc)
            else:
                self.error = None
            self.passes += 1
