"""The server's copilot memory: a background thread that analyzes the learning log and
learns examples from it (`cairn.copilot`'s analyzer and learner, every few seconds), and
the memory `POST /v1/suggest` recalls them from (`search` by meaning, `following` a
command: a `cairn.copilot.Memory`). Without `background`, the thread
only loads the embedder of examples learned elsewhere (`cairn learn`).

The thread opens its own store connection and loads the embedder (the local model takes
a few seconds), so the server answers at once; until the embedder is loaded, suggestions
go without examples. A failing pass is logged and retried; it never stops the server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..copilot import Example, ExampleIndex
    from ..index import Embedder

log = logging.getLogger("cairn.server")


class Learning:
    """Learns from `log_dir` into the store at `store_url`, and searches what it learned."""

    def __init__(
        self,
        store_url: str,
        log_dir: Path,
        *,
        interval: float = 2.0,
        embedder: str | None = None,
        background: bool = True,
    ) -> None:
        self.store_url = store_url
        self.log_dir = log_dir
        self.interval = interval
        self.embedder_kind = embedder
        self.background = background  # False: only retrieve what `cairn learn` learned
        self.passes = 0  # completed passes (for tests and /health-like reporting)
        self.error: str | None = None  # the latest pass's failure, if it failed
        self._embedder: Embedder | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._index: ExampleIndex | None = None
        self._index_lock = threading.Lock()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cairn-learning", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the loop to end after the pass under way, and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._index_lock:
            self._close_index()

    def _run(self) -> None:
        from ..copilot import choose_embedder, recorded_embedder, run_learning_loop
        from ..store import open_store

        try:
            kv = open_store(self.store_url)
        except Exception as exc:  # reported, not raised: the server goes on without it
            self.error = f"cannot open the store {self.store_url}: {exc}"
            log.error("learning: %s", self.error)
            return
        try:
            if not self.background and recorded_embedder(kv) is None:
                return  # nothing learned, nothing to learn: no model to load
            self._embedder = choose_embedder(kv, self.embedder_kind)
            if not self.background:
                return
            run_learning_loop(
                kv,
                self.log_dir,
                self._embedder,
                self._stop,
                self.interval,
                on_pass=self._passed,
                on_error=self._failed,
            )
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("learning stopped: %s", self.error)
        finally:
            kv.close()

    @property
    def ready(self) -> bool:
        """Whether the embedder is loaded: until then, suggestions go without examples."""
        return self._embedder is not None

    def _passed(self, *_: object) -> None:
        self.passes += 1
        self.error = None

    def _failed(self, exc: Exception) -> None:
        self.error = f"{type(exc).__name__}: {exc}"

    def search(self, query: str, *, k: int = 3) -> list[Example]:
        """The learned examples for `query` (none while the embedder loads). Blocking:
        call it from a worker thread. With `following`, this is the server's memory for
        suggestions (`cairn.copilot.Memory`)."""
        if not query.strip():
            return []
        return self._with_index(lambda index: index.search(query, k=k))

    def following(self, command: str, *, k: int = 8) -> list[Example]:
        """The examples learned right after a command like `command` (none while the
        embedder loads). Blocking: call it from a worker thread."""
        if not command.strip():
            return []
        return self._with_index(lambda index: index.following(command, k=k))

    def _with_index(self, call: Callable[[ExampleIndex], list[Example]]) -> list[Example]:
        """`call` on the index; [] while the embedder loads.

        One index serves every request: it loads the examples' vectors once (10k take
        ~0.2 s) and then only catches up on what was learned since, so a search costs
        the query's embedding and one matrix product."""
        from ..copilot import ExampleIndex
        from ..store import open_store

        embedder = self._embedder
        if embedder is None:
            return []
        with self._index_lock:
            if self._index is None:
                self._index = ExampleIndex(open_store(self.store_url), embedder, owns_store=True)
            try:
                return call(self._index)
            except BaseException:
                self._close_index()  # a store that failed: reopened on the next request
                raise

    def _close_index(self) -> None:
        if self._index is not None:
            index, self._index = self._index, None
            index.close()
