"""Reading the learning log fast, for passes that want a few event types: `LogScan`
yields the events of the types a pass wants and decodes only those (a line of another
type is passed over on its first bytes), and line readers (`decode_head`,
`top_level_string`) decode no more of a line than a pass needs.

It follows `LogReader`'s rules (manifest order, a torn last line is not consumed, a
sealed file is drained before moving on, lines that are not JSON objects are skipped and
counted) and its `Offset`s; `LogReader` yields every event decoded whole, with its
offset, and can follow a live log. The copilot's analyzer, learner and output history
read the log through `LogScan`, each as a `LogConsumer` (lock, stored offset, fenced
commits).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Generator, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from ._reader import Offset, log_paths

_CHUNK = 4 << 20
_CANONICAL = b'{"type":"'  # how Cairn's writer starts every line
_TYPE_AT = len(_CANONICAL)

Event = dict[str, Any]
ScanEvent = Event  # as `cairn.learnlog` exports it (its `Event` is the typed event base)
LineReader = Callable[[bytes], Event | None]


class LogScan:
    """One pass over a learning log from a durable offset, yielding the events of `types`.

    It follows `cairn.learnlog`'s reader (manifest order, a torn last line is not
    consumed, a sealed file is drained before moving on, lines that are not JSON objects
    are skipped and counted) but decodes only what it yields: a line in the writer's
    canonical form (`{"type":"…"`) of a type not wanted is passed over unread, and one
    of a type in `readers` is handed to that reader, which may decode less than the
    whole line, or return None to pass over it (ValueError: not an event). `offset` is
    where the next pass resumes: after the last line consumed.
    """

    def __init__(
        self,
        directory: Path | str,
        offset: Offset | None,
        types: Collection[str],
        *,
        limit: int | None = None,
        readers: Mapping[str, LineReader] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.types = frozenset(types)
        self.limit = limit
        self.lines = 0  # event lines consumed, of every type
        self.skipped = 0  # lines that were not JSON events, and torn tails of sealed files
        self._file = offset.file if offset is not None else None
        self._pos = offset.pos if offset is not None else 0
        self._prefixes = tuple(_prefix(t) for t in sorted(self.types))
        self._readers = {t.encode(): read for t, read in (readers or {}).items()}

    @property
    def offset(self) -> Offset | None:
        return None if self._file is None else Offset(self._file, self._pos)

    def _files(self) -> list[str]:
        return [path.name for path in log_paths(self.directory)] if self.directory.is_dir() else []

    def _full(self) -> bool:
        return self.limit is not None and self.lines >= self.limit

    def __iter__(self) -> Iterator[Event]:
        files = self._files()
        if not files:
            return
        if self._file is None:
            self._file, self._pos = files[0], 0
        elif self._file not in files:
            # The offset's file is gone: resume at the next newer one, as the reader does.
            later = next((f for f in files if f > self._file), None)
            if later is None:
                return
            self._file, self._pos = later, 0
        while True:
            yield from self._read(self._file)
            following = _after(self._files(), self._file)
            if following is None or self._full():
                return
            # A newer file exists, so this one is sealed: drain what came before the rotation.
            if not (yield from self._read(self._file)):
                self.skipped += 1
            if self._full():
                return
            self._file, self._pos = following, 0

    def _read(self, name: str) -> Generator[Event, None, bool]:
        """Yield wanted events of `name` from the current position; True if it ended cleanly."""
        try:
            f = open(self.directory / name, "rb")  # noqa: SIM115 (closed below, in a generator)
        except FileNotFoundError:
            return True
        limit = -1 if self.limit is None else self.limit
        prefixes, readers = self._prefixes, self._readers
        with f:
            f.seek(self._pos)
            carry = b""
            while True:
                chunk = f.read(_CHUNK)
                if not chunk:
                    return not carry
                lines = (carry + chunk).split(b"\n")
                carry = lines.pop()
                # The hot loop: most lines are passed over on their first bytes alone,
                # and a line with a reader of its own is handed to it right here.
                pos, n = self._pos, self.lines
                for line in lines:
                    if n == limit:
                        break
                    pos += len(line) + 1
                    if line.startswith(_CANONICAL):
                        if not line.startswith(prefixes):
                            n += 1
                            continue
                        read = readers.get(line[_TYPE_AT : line.find(b'"', _TYPE_AT)])
                        if read is not None:
                            try:
                                event = read(line)
                            except ValueError:
                                self.skipped += 1
                                continue
                            n += 1
                            if event is not None:
                                self._pos, self.lines = pos, n
                                yield event
                            continue
                    self._pos, self.lines = pos, n
                    event = self._event(line)
                    n = self.lines
                    if event is not None:
                        yield event
                self._pos, self.lines = pos, n
                if n == limit:
                    return True

    def _event(self, line: bytes) -> Event | None:
        """Consume a line that may be a wanted event (and has no reader of its own): the
        event to yield, if any."""
        if not line.startswith(_CANONICAL) and not line.strip():
            return None
        try:
            event = decode_line(line)
        except ValueError:
            self.skipped += 1
            return None
        self.lines += 1
        return event if event["type"] in self.types else None


_SHORT_LINE = 2048  # bytes: a line this short is decoded whole (measured: cheaper than a cut)


def _prefix(event_type: str) -> bytes:
    return _CANONICAL + event_type.encode() + b'"'


def decode_line(line: bytes) -> Event:
    """A learning-log line as an event; ValueError when it is not a JSON object with a type.

    orjson, not `json`: decoding is most of what a pass costs, and orjson decodes the
    bytes as they are (no `str` first) several times faster."""
    event = orjson.loads(line)  # JSONDecodeError is a ValueError; so is invalid UTF-8
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise ValueError("not an event")
    return event


def decode_head(line: bytes, stop: bytes, needs: Collection[str]) -> Event:
    """The fields of a canonical line before the top-level field `stop` (`b'"stdout":'`),
    decoded without the rest: what a cell's output would cost is not paid. Falls back to
    the whole line when the fields in `needs` are not all before `stop`, and decodes a
    short line whole at once (cutting it costs more than decoding what it holds)."""
    if len(line) <= _SHORT_LINE:
        return decode_line(line)
    cut = line.find(b"," + stop)
    if cut > 0:
        try:
            head = decode_line(line[:cut] + b"}")
        except ValueError:
            pass
        else:
            if all(key in head for key in needs):
                return head
    return decode_line(line)


_FIELD_PATTERNS: dict[bytes, re.Pattern[bytes]] = {}


def top_level_string(line: bytes, key: bytes) -> str | None:
    """The value of a top-level string field of a canonical line without nested objects,
    read without decoding the line; None when absent or escaped.

    `key` is the field name with its quotes and colon and the value's opening quote
    (`b'"known_id":"'`). In JSON a quote inside a string is always escaped, so `,` + key
    can only be the field itself.
    """
    pattern = _FIELD_PATTERNS.get(key)
    if pattern is None:
        pattern = _FIELD_PATTERNS[key] = re.compile(b"," + re.escape(key) + rb'([^"\\]*)"')
    # One C-level search: this runs for nearly every execution in the log.
    found = pattern.search(line)
    if found is None:
        return None  # absent, or escaped (the value has a backslash)
    try:
        return found.group(1).decode()
    except UnicodeDecodeError:
        return None


def _after(files: list[str], name: str) -> str | None:
    if name in files:
        index = files.index(name) + 1
        return files[index] if index < len(files) else None
    return next((f for f in files if f > name), None)


__all__ = [
    "Event",
    "LineReader",
    "LogScan",
    "ScanEvent",
    "decode_head",
    "decode_line",
    "top_level_string",
]
