"""Bounded output capture: the first and last N bytes of a stream, and what was dropped.

A cell that prints 1 GiB keeps `head_limit + tail_limit` bytes. Chunks keep their
arrival time and stream, so stdout and stderr stay separate and still interleave in
the order they arrived. Slices are memoryviews: trimming the tail copies nothing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ._terminal import render_text

DEFAULT_LIMIT = 1 << 20  # bytes kept at each end of a stream


@dataclass(frozen=True)
class Chunk:
    """Bytes read from one stream at `t` seconds after the process started."""

    t: float
    stream: str  # "stdout", "stderr" or "pty" (merged terminal stream)
    data: bytes | memoryview


class HeadTail:
    """Keeps the first `head_limit` and the last `tail_limit` bytes of a chunk sequence."""

    def __init__(self, head_limit: int = DEFAULT_LIMIT, tail_limit: int = DEFAULT_LIMIT) -> None:
        self.head_limit = head_limit
        self.tail_limit = tail_limit
        self.head: list[Chunk] = []
        self.tail: deque[Chunk] = deque()
        self.head_size = 0
        self.tail_size = 0
        self.total = 0

    def add(self, chunk: Chunk) -> None:
        data = chunk.data
        size = len(data)
        self.total += size
        room = self.head_limit - self.head_size
        if room > 0:
            if size <= room:
                self.head.append(chunk)
                self.head_size += size
                return
            view = memoryview(data)
            self.head.append(Chunk(chunk.t, chunk.stream, view[:room]))
            self.head_size += room
            chunk = Chunk(chunk.t, chunk.stream, view[room:])
            size -= room
        if self.tail_limit <= 0:
            return
        self.tail.append(chunk)
        self.tail_size += size
        while self.tail_size > self.tail_limit:
            first = self.tail[0]
            excess = self.tail_size - self.tail_limit
            if len(first.data) <= excess:
                self.tail.popleft()
                self.tail_size -= len(first.data)
            else:
                self.tail[0] = Chunk(first.t, first.stream, memoryview(first.data)[excess:])
                self.tail_size -= excess

    @property
    def dropped(self) -> int:
        return self.total - self.head_size - self.tail_size

    def chunks(self) -> list[Chunk]:
        return [*self.head, *self.tail]


@dataclass
class Captured:
    """One stream's captured output: raw bytes kept, plus what was dropped."""

    head: bytes = b""
    tail: bytes = b""
    total: int = 0
    dropped: int = 0
    _text: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, buf: HeadTail) -> Captured:
        head = b"".join(bytes(c.data) for c in buf.head)
        tail = b"".join(bytes(c.data) for c in buf.tail)
        return cls(head, tail, buf.total, buf.dropped)

    @property
    def raw(self) -> bytes:
        """The kept bytes (head then tail; `dropped` bytes are missing in between)."""
        return self.head + self.tail

    @property
    def text(self) -> str:
        """Plain text (escapes stripped, CR/BS interpreted), with a drop marker."""
        if self._text is None:
            if self.dropped:
                marker = f"\n[… {self.dropped} bytes of output dropped …]\n"
                self._text = render_text(self.head) + marker + render_text(self.tail)
            else:
                self._text = render_text(self.head + self.tail)
        return self._text
