"""The user's terminal while an interactive cell runs: raw mode, size, resizes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import termios
import tty
from collections.abc import Callable, Iterator


def stdin_is_tty() -> bool:
    if sys.stdin is None:
        return False
    try:
        return os.isatty(sys.stdin.fileno())
    except (ValueError, OSError):
        return False


def terminal_size() -> tuple[int, int]:
    size = shutil.get_terminal_size((80, 24))
    return size.lines, size.columns


@contextlib.contextmanager
def raw_terminal(on_resize: Callable[[int, int], None] | None = None) -> Iterator[None]:
    """Put our terminal in raw mode (keys go to the cell, Ctrl-C included), then restore."""
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    previous = None
    if on_resize is not None:
        previous = signal.signal(signal.SIGWINCH, lambda *_: on_resize(*terminal_size()))
    try:
        tty.setraw(fd, termios.TCSANOW)  # TCSAFLUSH would drop what the user typed ahead
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        if previous is not None:
            signal.signal(signal.SIGWINCH, previous)
