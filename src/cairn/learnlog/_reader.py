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

import threading
from collections.abc import Collection, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ._lines import Event, LineReader, decode_line
from ._manifest import log_files

_CHUNK = 4 << 20
_CANONICAL = b'{"type":"'  # how Cairn's writer starts every line
_TYPE_AT = len(_CANONICAL)
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

    events: int = 0  # event lines consumed (of every type: passed over ones too)
    skipped: int = 0  # lines that were not JSON objects, and torn tails of sealed files
    skips: list[Skipped] = field(default_factory=list)  # the first hundred of them
    torn_tail: bool = False  # the log currently ends in an incomplete line


class LogReader:
    """A reader of the log in `directory` from `offset` (the start by default).

    Iterating it yields `(offset after the event, event)`: store the offset and pass it
    back to resume after that event. `events()` yields the events alone, which is what a
    pass over a large log wants: with `types`, only events of those types are decoded
    and yielded — a line in the writer's canonical form (`{"type":"…"`) of another type
    is passed over on its first bytes — and a type with a line reader in `readers` is
    handed to it, which may decode less than the whole line (`decode_head`), or return
    None to pass over it (ValueError: not an event). `limit` stops after that many event
    lines (of every type). With `follow`, it waits for new events (polling every
    `poll_interval` seconds) until `close()` is called.

    `offset` is always where the next pass resumes (after the last line consumed: an
    event, a passed-over one or a skipped one), and `counts` what was read and skipped.
    """

    def __init__(
        self,
        directory: Path | str,
        offset: Offset | None = None,
        types: Collection[str] | None = None,
        *,
        limit: int | None = None,
        readers: Mapping[str, LineReader] | None = None,
        follow: bool = False,
        poll_interval: float = 0.1,
    ) -> None:
        self.directory = Path(directory)
        self.types = None if types is None else frozenset(types)
        self.limit = limit
        self.follow = follow
        self.poll_interval = poll_interval
        self.counts = ReadCounts()
        self._file = offset.file if offset is not None else None
        self._pos = offset.pos if offset is not None else 0
        self._prefixes = tuple(_prefix(t) for t in sorted(self.types or ()))
        self._readers = {t.encode(): read for t, read in (readers or {}).items()}
        self._stop = threading.Event()
        self._pairs: Iterator[tuple[Offset, Event]] | None = None

    @property
    def offset(self) -> Offset | None:
        return None if self._file is None else Offset(self._file, self._pos)

    def __iter__(self) -> Iterator[tuple[Offset, Event]]:
        return self

    def __next__(self) -> tuple[Offset, Event]:
        if self._pairs is None:
            self._pairs = ((Offset(self._file or "", self._pos), e) for e in self.events())
        return next(self._pairs)

    def close(self) -> None:
        """Stop following: the iteration ends at its next poll."""
        self._stop.set()

    def _skip(self, offset: Offset, reason: str) -> None:
        self.counts.skipped += 1
        if len(self.counts.skips) < _MAX_REMEMBERED_SKIPS:
            self.counts.skips.append(Skipped(offset, reason))

    def _files(self) -> list[str]:
        return log_files(self.directory) if self.directory.is_dir() else []

    def _full(self) -> bool:
        return self.limit is not None and self.counts.events >= self.limit

    def _wait(self) -> bool:
        """In follow mode, wait one poll interval; False when the iteration should end."""
        if not self.follow:
            return False
        return not self._stop.wait(self.poll_interval)

    def _begin(self) -> bool:
        """Settle where reading starts; False when nothing is there (yet)."""
        files = self._files()
        if not files:
            return False
        if self._file is None:
            self._file, self._pos = files[0], 0
        elif self._file not in files:
            # The offset's file is gone (or the manifest lost it): resume at the next
            # newer one.
            later = _after(files, self._file)
            if later is None:
                return False
            self._file, self._pos = later, 0
        return True

    def events(self) -> Iterator[Event]:
        """The events (of `types`, when given) from the offset on."""
        while not self._begin():
            if not self._wait():
                return
        assert self._file is not None
        while True:
            complete = yield from self._read(self._file)
            if self._full():
                return
            following = _after(self._files(), self._file)
            if following is not None:
                # A newer file exists, so this one is sealed: drain what was appended
                # before the rotation, then move on.
                if not (yield from self._read(self._file)):
                    self._skip(self.offset or Offset(""), "torn line at the end of a sealed file")
                if self._full():
                    return
                self._file, self._pos = following, 0
                continue
            self.counts.torn_tail = not complete
            if not self._wait():
                return

    def _read(self, name: str) -> Generator[Event, None, bool]:
        """Yield the wanted events of `name` from the current position; True if the
        file ended cleanly (no torn last line)."""
        try:
            f = open(self.directory / name, "rb")  # noqa: SIM115 (closed below, in a generator)
        except FileNotFoundError:
            return True
        limit = -1 if self.limit is None else self.limit
        prefixes, readers, counts = self._prefixes, self._readers, self.counts
        filtering = self.types is not None
        with f:
            f.seek(self._pos)
            carry = b""
            while True:
                chunk = f.read(_CHUNK)
                if not chunk:
                    return not carry
                lines = (carry + chunk).split(b"\n")
                carry = lines.pop()
                # The hot loop: with `types`, most lines are passed over on their first
                # bytes alone, and a line with a reader of its own is handed to it here.
                pos, n = self._pos, counts.events
                for line in lines:
                    if n == limit:
                        break
                    pos += len(line) + 1
                    if filtering and line.startswith(_CANONICAL):
                        if not line.startswith(prefixes):
                            n += 1
                            continue
                        read = readers.get(line[_TYPE_AT : line.find(b'"', _TYPE_AT)])
                        if read is not None:
                            try:
                                event = read(line)
                            except ValueError:
                                self._skip(Offset(name, pos - len(line) - 1), "not a JSON object")
                                continue
                            n += 1
                            if event is not None:
                                self._pos, counts.events = pos, n
                                yield event
                            continue
                    self._pos, counts.events = pos, n
                    event = self._event(line, name, pos - len(line) - 1)
                    n = counts.events
                    if event is not None:
                        yield event
                self._pos, counts.events = pos, n
                if n == limit:
                    return True

    def _event(self, line: bytes, name: str, start: int) -> Event | None:
        """Consume a line that may be a wanted event (and has no reader of its own), which
        starts at byte `start` of `name`: the event to yield, if any."""
        if not line.startswith(_CANONICAL) and not line.strip():
            return None
        try:
            event = decode_line(line)
        except ValueError:
            self._skip(Offset(name, start), "not a JSON object")
            return None
        self.counts.events += 1
        return event if self.types is None or event["type"] in self.types else None


def _after(files: list[str], name: str) -> str | None:
    """The file that follows `name` in the log, if any."""
    if name in files:
        index = files.index(name) + 1
        return files[index] if index < len(files) else None
    return next((f for f in files if f > name), None)


def _prefix(event_type: str) -> bytes:
    return _CANONICAL + event_type.encode() + b'"'


def read_events(
    directory: Path | str,
    offset: Offset | None = None,
    *,
    follow: bool = False,
    poll_interval: float = 0.1,
) -> LogReader:
    """Iterate the events of the log in `directory` from `offset` (the start by default),
    as `(offset after the event, event)`: a `LogReader` (see there)."""
    return LogReader(Path(directory), offset, follow=follow, poll_interval=poll_interval)


def log_paths(directory: Path | str) -> list[Path]:
    """The log's files in order (the manifest's order; the directory's when it is lost)."""
    directory = Path(directory)
    return [directory / name for name in log_files(directory)]
