"""Bounded capture: head and tail kept exactly, the middle counted, memory bounded."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cairn.kernel import Captured, CellSpec, Chunk, HeadTail, Session

GIB = 1 << 30
MIB = 1 << 20


def _feed(buf: HeadTail, *parts: bytes, stream: str = "stdout") -> None:
    for i, part in enumerate(parts):
        buf.add(Chunk(float(i), stream, part))


def _joined(chunks: Iterable[Chunk]) -> bytes:
    return b"".join(bytes(c.data) for c in chunks)


def test_headtail_keeps_everything_under_the_head_limit() -> None:
    buf = HeadTail(10, 10)
    _feed(buf, b"abc", b"def")
    assert _joined(buf.head) == b"abcdef"
    assert list(buf.tail) == []
    assert (buf.total, buf.dropped) == (6, 0)


def test_headtail_splits_the_chunk_that_crosses_the_head_limit() -> None:
    buf = HeadTail(5, 5)
    _feed(buf, b"abc", b"defgh", b"ijklmnop")
    assert [bytes(c.data) for c in buf.head] == [b"abc", b"de"]
    assert _joined(buf.tail) == b"lmnop"
    assert buf.total == 16
    assert buf.dropped == 6  # "fghijk"
    # split pieces keep their chunk's arrival time and stream
    assert (buf.head[1].t, buf.head[1].stream) == (1.0, "stdout")
    assert [c.t for c in buf.tail] == [2.0]


def test_headtail_trims_the_tail_across_several_chunks() -> None:
    buf = HeadTail(2, 4)
    _feed(buf, b"ab", b"c", b"d", b"ef", b"gh", b"i")
    assert _joined(buf.head) == b"ab"
    assert _joined(buf.tail) == b"fghi"
    assert buf.tail_size == 4
    assert buf.dropped == 3  # "cde"
    assert _joined(buf.chunks()) == b"abfghi"


def test_headtail_with_zero_tail_keeps_only_the_head() -> None:
    buf = HeadTail(3, 0)
    _feed(buf, b"abcdef", b"gh")
    assert _joined(buf.head) == b"abc"
    assert list(buf.tail) == []
    assert buf.dropped == 5


def test_headtail_with_zero_head_keeps_only_the_tail() -> None:
    buf = HeadTail(0, 3)
    _feed(buf, b"abcdef", b"gh")
    assert list(buf.head) == []
    assert _joined(buf.tail) == b"fgh"
    assert buf.dropped == 5


@given(
    parts=st.lists(st.binary(max_size=40), max_size=30),
    head_limit=st.integers(0, 64),
    tail_limit=st.integers(0, 64),
)
def test_headtail_keeps_exact_prefix_and_suffix(
    parts: list[bytes], head_limit: int, tail_limit: int
) -> None:
    buf = HeadTail(head_limit, tail_limit)
    _feed(buf, *parts)
    data = b"".join(parts)
    rest = data[head_limit:]
    expected_tail = rest[max(0, len(rest) - tail_limit) :]
    assert _joined(buf.head) == data[:head_limit]
    assert _joined(buf.tail) == expected_tail
    assert buf.total == len(data)
    assert buf.dropped == len(data) - len(data[:head_limit]) - len(expected_tail)
    assert buf.tail_size == len(expected_tail)


def test_captured_text_marks_where_output_was_dropped() -> None:
    buf = HeadTail(4, 4)
    _feed(buf, b"0123456789ab")
    captured = Captured.of(buf)
    assert captured.raw == b"012389ab"
    assert (captured.total, captured.dropped) == (12, 4)
    assert captured.text == "0123\n[… 4 bytes of output dropped …]\n89ab"


def test_captured_text_without_drops_is_the_rendered_output() -> None:
    buf = HeadTail(100, 100)
    _feed(buf, b"\x1b[1mbold\x1b[0m\r\n")
    assert Captured.of(buf).text == "bold\n"


@pytest.mark.slow
def test_one_gib_cell_keeps_head_and_tail_and_counts_the_rest(tmp_path: Path) -> None:
    with Session(cwd=tmp_path, head_limit=MIB, tail_limit=MIB) as session:
        result = session.run(CellSpec("head -c 1073741824 /dev/zero", interactive=False))
    out = result.process.stdout
    assert result.exit_code == 0
    assert out.total == GIB
    assert out.dropped == GIB - 2 * MIB
    assert (len(out.head), len(out.tail)) == (MIB, MIB)
    assert result.process.chunks_dropped == GIB - 2 * MIB
    assert f"[… {GIB - 2 * MIB} bytes of output dropped …]" in out.text


_CHILD = textwrap.dedent(
    """
    import json, sys
    from cairn.kernel import CellSpec, Session

    with Session(cwd=sys.argv[1], head_limit=1 << 20, tail_limit=1 << 20) as session:
        result = session.run(CellSpec("head -c 1073741824 /dev/zero", interactive=False))
    out = result.process.stdout
    print(json.dumps({
        "exit": result.exit_code,
        "total": out.total,
        "dropped": out.dropped,
        # VmHWM is this address space's peak; ru_maxrss would include the peak of the
        # pytest process this child was forked from (Linux keeps it across exec).
        "maxrss_kib": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]),
    }))
    """
)


@pytest.mark.slow
def test_one_gib_cell_runs_in_bounded_memory(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["exit"] == 0
    assert report["total"] == GIB
    assert report["dropped"] == GIB - 2 * MIB
    peak_mb = report["maxrss_kib"] / 1024  # VmHWM is in KiB
    assert peak_mb < 150, f"peak RSS {peak_mb:.0f} MB"
