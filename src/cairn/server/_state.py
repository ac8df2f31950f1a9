"""One server's state: its config, sessions, and the limit on running executions."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import learnlog
from ..config import ConfigFiles
from ..config import load as load_config_files
from ..store import KV
from ._config import ServerConfig
from ._learning import Learning

if TYPE_CHECKING:
    from ..bot import BotRunner
from ._prefill import Prefill
from ._runbooks import relative_paths
from ._sessions import ServerSession, Sessions

log = logging.getLogger("cairn.server")


class Slots:
    """Counts running executions against the server's limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._running = 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self._running >= self.limit:
                return False
            self._running += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._running -= 1

    @property
    def running(self) -> int:
        return self._running


@dataclass
class ServerState:
    config: ServerConfig
    root: Path  # resolved: what paths are checked against
    given_root: Path  # absolute, as given: what events and sessions name
    sessions: Sessions
    slots: Slots
    origins: frozenset[str]
    workers: set[threading.Thread] = field(default_factory=set)
    learning: Learning | None = None  # examples for suggestions; learned in the background
    prefill: Prefill | None = None  # the next suggestion's prompt, evaluated after each run
    places: dict[Path, str] = field(default_factory=dict)  # directory → its name for clients
    _files: ConfigFiles | None = None
    bot_runner: BotRunner | None = None  # the bot's pipeline, when the server runs it
    _bot_kv: KV | None = None
    _bot_kv_lock: threading.Lock = field(default_factory=threading.Lock)

    def bot_store(self) -> KV | None:
        """The store the bot mirrors into (the server's store), opened on first use."""
        url = self.config.store_url()
        if url is None:
            return None
        with self._bot_kv_lock:
            if self._bot_kv is None:
                from ..store import open_store

                self._bot_kv = open_store(url)
            return self._bot_kv

    def config_files(self) -> ConfigFiles | None:
        """The configuration files, read once (on first use, so a malformed file is a
        400 of the request that needs it, not a server that does not start); None when
        the server has no config dir."""
        if self._files is None and self.config.config_dir is not None:
            self._files = load_config_files(self.config.config_dir, project_dir=self.root)
        return self._files

    @classmethod
    def of(cls, config: ServerConfig) -> ServerState:
        root, given_root = config.root.resolve(), Path(os.path.abspath(config.root))
        places = {root: ".", given_root: "."}
        if config.config_dir is not None:
            for form in (Path(os.path.abspath(config.config_dir)), config.config_dir.resolve()):
                places.setdefault(form, "<config dir>")
        return cls(
            config=config,
            root=root,
            given_root=given_root,
            sessions=Sessions(config.max_sessions, config.cell_env),
            slots=Slots(config.max_executions),
            origins=config.allowed_origins(),
            learning=_learning(config),
            places=places,
        )

    def public(self, message: str) -> str:
        """An error message as clients may see it: files relative to the served root,
        the config dir as `<config dir>`; never the server's absolute paths."""
        return relative_paths(message, self.places)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel running cells, wait for their workers (they record the events), end
        every session. Blocks: call it from a thread."""
        sessions = self.sessions.remove_all()
        deadline = time.monotonic() + timeout
        for worker in list(self.workers):
            worker.join(max(0.0, deadline - time.monotonic()))
        end_sessions(sessions)
        if self.prefill is not None:
            self.prefill.stop(max(0.0, deadline - time.monotonic()))
        if self.learning is not None:
            self.learning.stop(max(0.0, deadline - time.monotonic()))
        if self.bot_runner is not None:
            self.bot_runner.stop(max(0.0, deadline - time.monotonic()))
        with self._bot_kv_lock:
            if self._bot_kv is not None:
                self._bot_kv.close()
                self._bot_kv = None


def _learning(config: ServerConfig) -> Learning | None:
    """Learning runs when asked for, with a learning log to learn from and a store."""
    url = config.store_url()
    if url is None or config.config_dir is None:
        return None
    return Learning(
        url,
        config.config_dir / "logs",
        interval=config.learn_interval,
        embedder=config.embedder,
        background=config.learn and config.learning_logs,
    )


def end_sessions(sessions: Iterable[ServerSession]) -> None:
    """Record `session.ended` for sessions that announced themselves, and free them."""
    for session in sessions:
        try:
            if session.announced:
                events = learnlog.SessionEvents(
                    session_id=session.id, path=None, nb=None, client="server"
                )
                events.ended(
                    cells_run=session.executions,
                    failures=session.failures,
                    seconds=time.monotonic() - session.started,
                )
        except Exception as exc:  # the log failing must not keep the session's files
            log.error("learning log: cannot record the end of session %s: %s", session.id, exc)
        finally:
            session.kernel.close()
