"""Progress on the terminal: a spinner while a long step runs (a model loads, a model
answers), a bar while docs are embedded or an issue tracker is mirrored — on stderr, and
only when stderr is a terminal: a log file or a pipe gets nothing, not even a blank line
where the spinner was.

rich is imported only when something is drawn. Its own terminal detection also obeys
FORCE_COLOR and TTY_COMPATIBLE; a spinner in a redirected log is noise, so the file
descriptor itself decides.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def _console() -> Console | None:
    """A console on stderr when stderr is a terminal, else None."""
    try:
        if sys.stderr is None or not os.isatty(sys.stderr.fileno()):
            return None
    except (OSError, ValueError):  # no real file behind it
        return None
    from rich.console import Console

    return Console(stderr=True, force_terminal=True)


@contextmanager
def spinner(message: str) -> Iterator[Callable[[str], None]]:
    """A spinner with `message` on stderr while the block runs (a terminal only); yields
    a function that changes the message. The spinner is erased when the block ends."""
    console = _console()
    if console is None:
        yield lambda _: None
        return
    with console.status(message, spinner="dots") as status:
        yield lambda text: status.update(text)


@contextmanager
def bar(label: str) -> Iterator[Callable[..., None]]:
    """A progress bar on stderr (a terminal only); yields `update(done, total, label=None)`
    (a new label replaces the old one)."""
    console = _console()
    if console is None:
        yield lambda done, total, label=None: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task(label, total=None)

    def update(done: int, total: int, label: str | None = None) -> None:
        if label is None:
            progress.update(task, completed=done, total=total)
        else:
            progress.update(task, completed=done, total=total, description=label)

    with progress:
        yield update
