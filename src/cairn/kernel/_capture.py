"""Bounded output capture: the first and last N bytes of a stream, and what was dropped.

A cell that prints 1 GiB keeps `head_limit + tail_limit` bytes. Chunks keep their
arrival time and stream, so stdout and stderr stay separate and still interleave in
the order they arrived.

Memory is bounded by construction: the head is copied once, the tail lives in a
fixed ring buffer, and nothing holds on to the reader's buffers (holding slices of
per-read allocations fragmented the heap to ~200 MB on a 1 GiB cell).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ._terminal import render_text

DEFAULT_LIMIT = 1 << 20  # bytes kept at each end of a stream
# Past this many tail chunks, the oldest are merged into their neighbour (a cell that
# writes single bytes would otherwise cost a record per byte).
MAX_TAIL_CHUNKS = 65_536

Data = bytes | bytearray | memoryview


@dataclass(frozen=True)
class Chunk:
    """Bytes read from one stream at `t` seconds after the process started."""

    t: float
    stream: str  # "stdout", "stderr" or "pty" (merged terminal stream)
    data: Data


class _Ring:
    """The last `capacity` bytes written, in a buffer allocated once."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._buf = bytearray()
        self.start = 0
        self.size = 0

    def write(self, data: Data) -> None:
        cap = self.capacity
        n = len(data)
        if cap <= 0 or n == 0:
            return
        if not self._buf:
            self._buf = bytearray(cap)
        if n >= cap:
            self._buf[:] = memoryview(data)[n - cap :]
            self.start, self.size = 0, cap
            return
        end = (self.start + self.size) % cap
        first = min(n, cap - end)
        view = memoryview(data)
        self._buf[end : end + first] = view[:first]
        if first < n:
            self._buf[: n - first] = view[first:]
        overflow = self.size + n - cap
        if overflow > 0:
            self.start = (self.start + overflow) % cap
            self.size = cap
        else:
            self.size += n

    def value(self) -> bytes:
        end = self.start + self.size
        if end <= self.capacity:
            return bytes(self._buf[self.start : end])
        return bytes(self._buf[self.start :]) + bytes(self._buf[: end - self.capacity])


class HeadTail:
    """Keeps the first `head_limit` and the last `tail_limit` bytes of a chunk sequence.

    `add` copies what it keeps, so callers may pass views of a buffer they reuse.
    """

    def __init__(self, head_limit: int = DEFAULT_LIMIT, tail_limit: int = DEFAULT_LIMIT) -> None:
        self.head_limit = head_limit
        self.tail_limit = tail_limit
        self.head: list[Chunk] = []
        self.head_size = 0
        self.total = 0
        self._ring = _Ring(tail_limit)
        self._meta: deque[list[object]] = deque()  # [t, stream, length] per tail chunk
        self._meta_bytes = 0

    def add(self, chunk: Chunk) -> None:
        data = chunk.data
        size = len(data)
        self.total += size
        room = self.head_limit - self.head_size
        if room > 0:
            take = min(room, size)
            self.head.append(Chunk(chunk.t, chunk.stream, bytes(memoryview(data)[:take])))
            self.head_size += take
            if take == size:
                return
            data = memoryview(data)[take:]
            size -= take
        if self.tail_limit <= 0:
            return
        self._ring.write(data)
        self._meta.append([chunk.t, chunk.stream, size])
        self._meta_bytes += size
        excess = self._meta_bytes - self._ring.size
        while excess > 0:
            first = self._meta[0]
            length = int(first[2])  # type: ignore[call-overload]
            if length <= excess:
                self._meta.popleft()
                self._meta_bytes -= length
                excess -= length
            else:
                first[2] = length - excess
                self._meta_bytes -= excess
                excess = 0
        if len(self._meta) > MAX_TAIL_CHUNKS:
            oldest = self._meta.popleft()
            self._meta[0][2] = int(self._meta[0][2]) + int(oldest[2])  # type: ignore[call-overload]
            self._meta[0][0] = oldest[0]

    @property
    def tail_size(self) -> int:
        return self._ring.size

    @property
    def tail(self) -> list[Chunk]:
        data = self._ring.value()
        out: list[Chunk] = []
        pos = 0
        for t, stream, length in self._meta:
            n = int(length)  # type: ignore[call-overload]
            out.append(Chunk(float(t), str(stream), data[pos : pos + n]))  # type: ignore[arg-type]
            pos += n
        return out

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
        tail = buf._ring.value()
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
