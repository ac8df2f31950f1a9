"""markdown-it's block tokens for a long text, one window of lines at a time.

markdown-it's token list for a whole document costs about 15 times the text, so a
document is parsed in windows and the tokens of a window are dropped once its blocks
are read. This is exact, not an approximation: at the first line of every top-level
block the CommonMark block parser is at the document root with no open container, and
nothing it carries from one top-level block to the next changes the block structure
(link reference definitions only feed inline parsing, which Cairn turns off; lists,
blockquotes, lazy continuation lines and setext headings never reach past their own
top-level block). So a window's top-level blocks are exactly the whole document's,
except those whose reading may have depended on where the window ends; those are read
again at the start of the next window. A block may have depended on the window's end
when it reaches it (followed by nothing but blank lines), or, for a link reference
definition (which makes no token but may look ahead for a title over every non-blank
line), when no blank line follows its start. tests/notebook/test_windows.py compares
windowed and whole-document parsing, with windows down to a single line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

# Characters of Markdown parsed at once: large enough that the per-window cost and the
# re-read tail vanish, small enough that the window's tokens stay a few MB.
WINDOW_CHARS = 1 << 20

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


@dataclass
class Window:
    """Some lines of the text and the tokens of the top-level blocks that begin in them.

    Token maps count lines from `lines[0]`; every block of `tokens` ends within `lines`.
    """

    lines: list[str]
    first_line: int  # index of lines[0] among the lines of the text (from `start`)
    first_char: int  # offset of lines[0] in the text
    tokens: list[Token]
    line_before: str  # the line before lines[0] ("" for the first window)
    final: bool  # the window reaches the end of the text


def _window_end(text: str, at: int) -> int:
    """The end of the line holding offset `at - 1`: windows never split a CRLF."""
    if at >= len(text):
        return len(text)
    m = _LINE_END_RE.search(text, at - 1)
    return len(text) if m is None else m.end()


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


def block_windows(text: str, start: int = 0, size: int = WINDOW_CHARS) -> Iterator[Window]:
    """markdown-it's block tokens for `text[start:]`, a window of about `size`
    characters at a time (a window grows while one block fills it)."""
    md = block_parser()
    first_line, line_before, want = 0, "", size
    while start < len(text):
        end = _window_end(text, start + want)
        chunk = text[start:end]
        lines = split_lines(chunk)
        tokens = md.parse(chunk)
        del chunk
        if end == len(text):
            yield Window(lines, first_line, start, tokens, line_before, final=True)
            return
        resume, keep = _resume_line(tokens, lines)
        if resume == 0:
            want *= 2  # one block fills the window: read it again in a larger one
            continue
        del tokens[keep:]
        yield Window(lines, first_line, start, tokens, line_before, final=False)
        start += sum(map(len, lines[:resume]))
        first_line += resume
        line_before = lines[resume - 1]
        want = size
