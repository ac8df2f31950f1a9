"""Reading a learning log: events across the manifest's files in order, from a durable
offset, tolerant of what crashes and concurrent writers leave behind.

- A torn last line (no trailing newline: a writer died mid-write, or is mid-write) is
  not consumed: the reader stops before it, and in follow mode waits for its end.
- A file that rotated while being read: at the end of a file the reader re-reads the
  manifest; when a newer file is listed the old one is sealed (writers check the
  manifest before every append), so the reader drains it once more and moves on.
- A line that is not a JSON object (corruption, a torn line a restarted writer ended)
  is skipped and counted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._manifest import log_files

_CHUNK = 1 << 20
_MAX_REMEMBERED_SKIPS = 100


@dataclass(frozen=True, order=True)
class Offset:
    """A durable position in a log: the file and the byte offset of the next line."""

    file: str
    pos: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.pos}"

    @classmethod
    def parse(cls, text: str) -> Offset:
        """The inverse of `str(offset)`. Raises ValueError."""
        name, sep, pos = text.rpartition(":")
        if not sep or not name or not pos.isdigit():
            raise ValueError(f"not a learning-log offset: {text!r}")
        return cls(name, int(pos))


@dataclass(frozen=True)
class Skipped:
    """A line the reader skipped: where it started and why."""

    offset: Offset
    reason: str


@dataclass
class ReadCounts:
    """What a reader has seen so far."""

    events: int = 0
    skipped: int = 0  # lines that were not JSON objects, and torn tails of sealed files
    skips: list[Skipped] = field(default_factory=list)  # the first hundred of them
    torn_tail: bool = False  # the log currently ends in an incomplete line


class LogReader(Iterator[tuple[Offset, dict[str, Any]]]):
    """Iterates `(offset after the event, event)`; see `read_events`."""

    def __init__(
        self,
        directory: Path,
        offset: Offset | None = None,
        *,
        follow: bool = False,
        poll_interval: float = 0.1,
    ) -> None:
        self.directory = Path(directory)
        self.follow = follow
        self.poll_interval = poll_interval
        self.counts = ReadCounts()
        self._start = offset
        self._stop = threading.Event()
        self._events = self._generate()
        # Where to resume: past the last line consumed (an event or a skipped line).
        self.offset: Offset | None = offset

    def __next__(self) -> tuple[Offset, dict[str, Any]]:
        return next(self._events)

    def close(self) -> None:
        """Stop following: the iteration ends at its next poll."""
        self._stop.set()

    def _skip(self, offset: Offset, reason: str) -> None:
        self.counts.skipped += 1
        if len(self.counts.skips) < _MAX_REMEMBERED_SKIPS:
            self.counts.skips.append(Skipped(offset, reason))

    def _first(self, files: list[str]) -> tuple[str, int] | None:
        """(file, byte offset) where reading starts; None when nothing is there yet."""
        start = self._start
        if start is None:
            return (files[0], 0) if files else None
        if start.file in files:
            return start.file, start.pos
        # The offset's file is gone (or the manifest lost it): resume at the next newer one.
        later = _after(files, start.file)
        return (later, 0) if later is not None else None

    def _generate(self) -> Iterator[tuple[Offset, dict[str, Any]]]:
        where = self._first(log_files(self.directory))
        while where is None:
            if not self._wait():
                return
            where = self._first(log_files(self.directory))
        name, pos = where
        while True:
            pos, complete = yield from self._read_file(name, pos)
            following = _after(log_files(self.directory), name)
            if following is not None:
                # A newer file exists, so this one is sealed: drain what was appended
                # before the rotation, then move on.
                pos, complete = yield from self._read_file(name, pos)
                if not complete:
                    self._skip(Offset(name, pos), "torn line at the end of a sealed file")
                name, pos = following, 0
                self.offset = Offset(name, 0)
                continue
            self.counts.torn_tail = not complete
            if not self._wait():
                return

    def _wait(self) -> bool:
        """In follow mode, wait one poll interval; False when the iteration should end."""
        if not self.follow:
            return False
        return not self._stop.wait(self.poll_interval)

    def _read_file(
        self, name: str, pos: int
    ) -> Generator[tuple[Offset, dict[str, Any]], None, tuple[int, bool]]:
        """Yield the complete lines of `name` from `pos`; return (new pos, ended cleanly)."""
        try:
            f = open(self.directory / name, "rb")  # noqa: SIM115 (closed below, in a generator)
        except FileNotFoundError:
            return pos, True
        with f:
            f.seek(pos)
            carry = b""
            while True:
                chunk = f.read(_CHUNK)
                if not chunk:
                    break
                data = carry + chunk
                lines = data.split(b"\n")
                carry = lines.pop()
                for line in lines:
                    start = pos
                    pos += len(line) + 1
                    event = _decode(line)
                    after = Offset(name, pos)
                    self.offset = after
                    if event is None:
                        if not line.strip():
                            continue
                        self._skip(Offset(name, start), "not a JSON object")
                        continue
                    self.counts.events += 1
                    yield after, event
        return pos, not carry


def _after(files: list[str], name: str) -> str | None:
    """The file that follows `name` in the log, if any."""
    if name in files:
        index = files.index(name) + 1
        return files[index] if index < len(files) else None
    return next((f for f in files if f > name), None)


def _decode(line: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return None
    return event


def read_events(
    directory: Path | str,
    offset: Offset | None = None,
    *,
    follow: bool = False,
    poll_interval: float = 0.1,
) -> LogReader:
    """Iterate the events of the log in `directory` from `offset` (the start by default).

    Yields `(offset, event)` where `offset` is the position just after the event: store it
    and pass it back to resume after that event. With `follow`, waits for new events
    (polling every `poll_interval` seconds) until the reader's `close()` is called. The
    returned reader's `counts` tell how many lines were skipped and whether the log ends
    in a torn line.
    """
    return LogReader(Path(directory), offset, follow=follow, poll_interval=poll_interval)


def log_paths(directory: Path | str) -> list[Path]:
    """The log's files in order (the manifest's order; the directory's when it is lost)."""
    directory = Path(directory)
    return [directory / name for name in log_files(directory)]
