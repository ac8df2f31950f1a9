"""markdown-it's block tokens for a long text, one window of lines at a time.

markdown-it's token list for a whole document costs about 15 times the text, so a
document is parsed in windows and the tokens of a window are dropped once its blocks
are read; the text itself arrives in pieces (`TextStream`, a file as it is decoded), so
neither it nor its tokens are ever in memory whole. This is exact, not an
approximation: at the first line of every top-level block the CommonMark block parser
is at the document root with no open container, and nothing it carries from one
top-level block to the next changes the block structure (link reference definitions
only feed inline parsing, which Cairn turns off; lists, blockquotes, lazy continuation
lines and setext headings never reach past their own top-level block). So a window's
top-level blocks are exactly the whole document's, except those whose reading may have
depended on where the window ends; those are read again at the start of the next
window. A block may have depended on the window's end when it reaches it (followed by
nothing but blank lines), or, for a link reference definition (which makes no token but
may look ahead for a title over every non-blank line), when no blank line follows its
start. tests/notebook/test_windows.py compares windowed and whole-document parsing, with
windows down to a single line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

# Characters of Markdown parsed at once: large enough that the per-window cost and the
# tail read again vanish, small enough that the window's tokens (about 15 bytes for
# each byte of text) stay a couple of MB. A block larger than this is read in a window
# grown to fit it.
WINDOW_CHARS = 1 << 17

_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_LINE_END_RE = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """Split keeping line endings; only CR, LF and CRLF end a line (as in CommonMark)."""
    return _LINE_RE.findall(text)


@lru_cache(maxsize=1)
def block_parser() -> MarkdownIt:
    """CommonMark's block parser: markdown-it with inline parsing turned off."""
    from markdown_it import MarkdownIt  # imported lazily: ~40 ms the CLI often skips

    md = MarkdownIt("commonmark")
    # Only the block structure matters here; inline parsing is wasted work.
    md.core.ruler.disable(["inline", "text_join"], ignoreInvalid=True)
    return md


class TextStream:
    """Text that arrives in pieces (a file as it is decoded), held only from the read
    position on: about a window and a piece of it, never the whole text."""

    def __init__(self, pieces: Iterable[str]) -> None:
        self._pieces = iter(pieces)
        self._buf = ""
        self._pos = 0  # the read position in `_buf`
        self.ended = False  # every piece is in `_buf`

    @classmethod
    def of(cls, text: str, piece: int = WINDOW_CHARS) -> TextStream:
        return cls(text[i : i + piece] for i in range(0, len(text), piece))

    def _more(self) -> None:
        piece = next(self._pieces, None)
        if piece is None:
            self.ended = True
        else:
            self._buf = self._buf[self._pos :] + piece
            self._pos = 0

    def available(self, n: int) -> int:
        """Read until `n` characters follow the read position (or the text ends); how
        many do."""
        while len(self._buf) - self._pos < n and not self.ended:
            self._more()
        return len(self._buf) - self._pos

    def line_end(self, at: int) -> int:
        """The offset (from the read position) just past the line that holds offset
        `at - 1`, or the end of the text; reading as far as that takes."""
        start = max(at - 1, 0)
        while True:
            self.available(start + 1)
            m = _LINE_END_RE.search(self._buf, self._pos + start)
            if m is not None and not (m.end() == len(self._buf) and m.group() == "\r"):
                return m.end() - self._pos
            if self.ended:
                return len(self._buf) - self._pos  # the last line, or a last lone CR
            # No line end yet, or a CR whose LF may be in the next piece: read on.
            start = max(start, len(self._buf) - self._pos - 1)
            self._more()

    def peek(self, n: int) -> str:
        """The next `n` characters (fewer at the end), not read."""
        self.available(n)
        return self._buf[self._pos : self._pos + n]

    def skip(self, n: int) -> None:
        """Mark the next `n` characters read."""
        self._pos += n


@dataclass
class Window:
    """Some lines of the text and the tokens of the top-level blocks that begin in them.

    Token maps count lines from `lines[0]`; every block of `tokens` ends within the
    first `read` lines, and the next window starts after them.
    """

    text: str  # the window's text: "".join(lines)
    lines: list[str]
    first_line: int  # index of lines[0] among the lines read from the stream
    tokens: list[Token]
    read: int  # lines of this window that are done with
    line_before: str  # the line before lines[0] ("" for the first window)
    final: bool  # the window reaches the end of the text


def _is_empty(line: str) -> bool:
    # markdown-it's StateBlock.isEmpty: spaces and tabs only.
    return not line.strip(" \t\r\n")


def _resume_line(tokens: list[Token], lines: list[str]) -> tuple[int, int]:
    """(line to read the next window from, how many tokens to keep) for a window that
    does not reach the end of the text."""
    groups = [(i, t.map) for i, t in enumerate(tokens) if t.level == 0 and t.nesting >= 0 and t.map]
    last_blank = len(lines) - 1
    while last_blank >= 0 and not _is_empty(lines[last_blank]):
        last_blank -= 1
    last_text = len(lines) - 1
    while last_text >= 0 and _is_empty(lines[last_text]):
        last_text -= 1
    candidates = []
    if groups and groups[-1][1][1] > last_text:
        candidates.append(groups[-1][1][0])  # the last block runs to the window's end
    # Lines after the last blank one that no block covers are reference definitions, and
    # with no blank line after them their lookahead may have reached the window's end.
    tail = last_blank + 1
    covered = bytearray(len(lines) - tail)
    for _, (start, end) in reversed(groups):
        if end <= tail:
            break
        covered[max(start - tail, 0) : end - tail] = b"\x01" * (end - max(start, tail))
    uncovered = covered.find(0)
    if uncovered >= 0:
        candidates.append(tail + uncovered)
    resume = min(candidates, default=len(lines))
    keep = next((i for i, span in groups if span[0] >= resume), len(tokens))
    return resume, keep


def block_windows(stream: TextStream, size: int = WINDOW_CHARS) -> Iterator[Window]:
    """markdown-it's block tokens for the rest of `stream`, a window of about `size`
    characters at a time (a window grows while one block fills it)."""
    md = block_parser()
    first_line, line_before, want = 0, "", size
    while stream.available(1):
        end = stream.line_end(want)
        text = stream.peek(end)
        lines = split_lines(text)
        tokens = md.parse(text)
        if stream.available(end + 1) == end:  # the window reaches the end
            yield Window(text, lines, first_line, tokens, len(lines), line_before, final=True)
            return
        resume, keep = _resume_line(tokens, lines)
        if resume == 0:
            want *= 2  # one block fills the window: read it again in a larger one
            continue
        del tokens[keep:]
        yield Window(text, lines, first_line, tokens, resume, line_before, final=False)
        stream.skip(sum(map(len, lines[:resume])))
        first_line += resume
        line_before = lines[resume - 1]
        want = size
