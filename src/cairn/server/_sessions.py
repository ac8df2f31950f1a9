"""Server sessions: kernel sessions that clients reuse by id, one execution at a time."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..kernel import Session, session_for
from ..notebook import Notebook, new_ulid
from ._errors import ApiError


@dataclass(eq=False)
class ServerSession:
    id: str
    path: str  # relative to the root: the runbook that started it
    notebook_path: Path
    notebook_id: str | None
    kernel: Session
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: float = field(default_factory=time.monotonic)
    executions: int = 0
    failures: int = 0
    busy: bool = False
    announced: bool = False  # its session.started event is in the learning log
    cancel: Callable[[], None] | None = None  # cancels the running cell, if any


class Sessions:
    """All sessions of one server. Thread-safe: used from the event loop and workers."""

    def __init__(self, max_idle: int, env: dict[str, str] | None = None) -> None:
        self._max_idle = max_idle
        self._env = env  # the cells' environment (None: the server's)
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, ServerSession] = OrderedDict()  # least recent first

    def acquire(
        self, session_id: str | None, nb: Notebook, path: Path, rel: str
    ) -> tuple[ServerSession, list[ServerSession]]:
        """Mark a session busy (a new one when `session_id` is None).

        Returns it and the idle sessions evicted to make room, which the caller ends.
        ApiError 404 for an unknown id, 409 when that session is running a cell.
        """
        with self._lock:
            if session_id is not None:
                found = self._sessions.get(session_id)
                if found is None:
                    raise ApiError(404, f"no session {session_id!r} (see GET /v1/sessions)")
                if found.busy:
                    raise ApiError(409, f"session {session_id!r} is running a cell; wait or cancel")
                found.busy = True
                self._sessions.move_to_end(session_id)
                return found, []
        fm = nb.frontmatter
        created = ServerSession(
            id=new_ulid(),
            path=rel,
            notebook_path=path,
            notebook_id=fm.document_id if fm is not None else None,
            kernel=session_for(nb, path, env=self._env),
            busy=True,
        )
        with self._lock:
            self._sessions[created.id] = created
            return created, self._evict()

    def release(self, session: ServerSession, *, ok: bool | None) -> None:
        """The session's execution is over (`ok` None: it never ran)."""
        with self._lock:
            session.busy = False
            session.cancel = None
            if ok is not None:
                session.executions += 1
                session.failures += 0 if ok else 1

    def snapshot(self) -> list[ServerSession]:
        with self._lock:
            return list(reversed(self._sessions.values()))

    def remove(self, session_id: str) -> ServerSession:
        with self._lock:
            found = self._sessions.get(session_id)
            if found is None:
                raise ApiError(404, f"no session {session_id!r}")
            if found.busy:
                raise ApiError(409, f"session {session_id!r} is running a cell; cancel it first")
            del self._sessions[session_id]
            return found

    def remove_all(self) -> list[ServerSession]:
        """Every session, for shutdown; running cells are cancelled."""
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            if session.cancel is not None:
                session.cancel()
        return sessions

    def _evict(self) -> list[ServerSession]:
        idle = [s for s in self._sessions.values() if not s.busy]
        evicted = idle[: max(0, len(idle) - self._max_idle)]
        for session in evicted:
            del self._sessions[session.id]
        return evicted
