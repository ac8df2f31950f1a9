"""Runme-compatible Markdown ⇄ Notebook, lossless.

markdown-it (CommonMark) finds the code blocks, fenced and indented (both are cells in
Runme), including those inside lists and blockquotes, a window of the text at a time
(`_blocks`: memory stays near the notebook's own size); every byte of the file is kept in
some cell's raw text, a trailer of blank lines, or the frontmatter. Unchanged cells are
written back from that raw text; a changed cell is re-rendered in its original layout
(fence, container prefix, line ending, closing line), so only its bytes change, and a
cell whose attributes alone changed keeps its opening line but for the new attributes.
"""

from __future__ import annotations

import re
import sys
from itertools import accumulate
from typing import TYPE_CHECKING, cast

from ._attributes import InfoString, format_attributes, format_info, insert_attributes, parse_info
from ._blocks import WINDOW_CHARS, TextStream, Window, block_windows, split_lines
from ._frontmatter import Frontmatter, frontmatter_at, frontmatter_may_follow
from ._model import Cell, Diagnostic, Notebook, Output

if TYPE_CHECKING:
    from markdown_it.token import Token

# Runme's session output header: a timestamp (RFC 3339 with a space), a Go duration,
# and the exit code when the process exited. Anything looser would take ordinary shell
# comments ("# Ran on staging for …") for outputs.
_RAN_ON_RE = re.compile(
    r"^# Ran on (\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?|unknown)"
    r" for ((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h) ?)+)(?: exited with (-?\d+))?\s*$"
)
_LIST_MARKER_RE = re.compile(r"(?:[-*+]|\d{1,9}[.)])(?=[ \t]|$)")
# A blank line (whitespace as str.strip() sees it) at the start of a range, or the
# whitespace that ends one without a newline.
_BLANK_LINE_RE = re.compile(r"[^\S\r\n]*(?:\r\n|\r|\n|\Z)")


def _newline_of(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


def _split_outputs(source: str) -> tuple[str, list[Output]]:
    """Separate session outputs (`# Ran on … exited with N` + text) from the code."""
    if "# Ran on " not in source:
        return source, []
    lines = source.split("\n")
    for i, line in enumerate(lines):
        m = _RAN_ON_RE.match(line)
        # Runme always writes a blank line between the code and the header.
        if m is None or (i > 0 and lines[i - 1] != ""):
            continue
        code_lines = lines[:i]
        if code_lines and code_lines[-1] == "":
            code_lines = code_lines[:-1]
        text = "\n".join(lines[i + 1 :])
        exit_code = int(m.group(3)) if m.group(3) is not None else None
        code = "\n".join(code_lines) + ("\n" if code_lines else "")
        return code, [
            Output(text=text, exit_code=exit_code, ran_at=m.group(1), duration=m.group(2))
        ]
    return source, []


def _continuation_prefix(first_prefix: str) -> str:
    """The prefix of a block's later lines: list markers become spaces, `>` stays."""
    return _LIST_MARKER_RE.sub(lambda m: " " * len(m.group(0)), first_prefix)


def _code_cell(
    lines: list[str], start: int, end: int, markup: str, content: str, line_no: int
) -> tuple[Cell, list[str]]:
    """A fenced code block, and what its info string's attributes warn about."""
    opening = lines[start]
    at = opening.find(markup[0] * 3)
    first_prefix = opening[:at]
    run = len(opening[at:]) - len(opening[at:].lstrip(markup[0]))
    # Fences, closing lines, languages and attribute names repeat from cell to cell: one
    # copy each (sys.intern) is a good part of a large runbook's memory.
    fence = sys.intern(opening[at : at + run])
    info = parse_info(opening[at + run :].rstrip("\r\n"))
    # markdown-it decided where the block ends; it was closed by a fence line exactly
    # when the content is every line but the first and the last.
    closed = (
        end - start >= 2
        and content.count("\n") == end - start - 2
        and (content == "" or content.endswith("\n"))
    )
    # Later lines repeat the container (blockquote `>`, list indentation) of the opening
    # line; the closing line's own indentation may be deeper and must not leak into code.
    prefix = _continuation_prefix(first_prefix)
    source, outputs = _split_outputs(content)
    cell = Cell(
        kind="code",
        source=source,
        language=sys.intern(info.language),
        attributes=info.attributes,
        attr_form=info.form,
        info_rest=info.rest,
        info_tail=info.tail,
        outputs=outputs,
        line=line_no,
    )
    cell._fence = fence
    cell._first_prefix = first_prefix
    cell._prefix = prefix
    cell._newline = sys.intern(_newline_of(opening) or "\n")
    cell._opening = opening
    cell._closed = closed
    cell._closing = sys.intern(lines[end - 1]) if closed else None
    cell._has_attrs = info.has_attributes
    if info.span is not None:
        cell._attr_span = (at + run + info.span[0], at + run + info.span[1])
    return cell, info.warnings


def _indented_cell(lines: list[str], start: int, end: int, content: str, line_no: int) -> Cell:
    """An indented code block: a cell in Runme, with no language and no attributes."""
    first = lines[start].rstrip("\r\n")
    code = content.split("\n", 1)[0]
    if code and first.endswith(code):
        first_prefix = first[: len(first) - len(code)]
    else:  # a tab expanded into spaces: keep the line's own indentation
        first_prefix = re.match(r"[ \t>]*", first).group(0)  # type: ignore[union-attr]
    source, outputs = _split_outputs(content)
    cell = Cell(kind="code", source=source, outputs=outputs, line=line_no, fenced=False)
    cell._fence = ""
    cell._first_prefix = first_prefix
    cell._prefix = _continuation_prefix(first_prefix)
    cell._newline = _newline_of(lines[start]) or "\n"
    return cell


def _line_count(text: str, start: int, end: int) -> int:
    """How many lines `text[start:end]` holds (it ends at a line end)."""
    crlf = text.count("\r\n", start, end)
    return text.count("\n", start, end) + text.count("\r", start, end) - crlf


def _blank_edges(text: str, start: int, end: int) -> tuple[int, int]:
    """(lo, hi): `text[start:end]` without its leading and trailing blank lines."""
    lo = start
    while lo < end:
        m = _BLANK_LINE_RE.match(text, lo, end)
        if m is None:
            break
        lo = m.end()
    hi = end
    while hi > lo:
        at = hi
        if text.startswith("\r\n", at - 2) and at - 2 >= lo:
            at -= 2
        elif text[at - 1] in "\r\n":
            at -= 1
        while at > lo and text[at - 1].isspace() and text[at - 1] not in "\r\n":
            at -= 1
        if at > lo and text[at - 1] not in "\r\n":
            break  # not blank
        hi = at
    return lo, hi


def _markup_cells(nb: Notebook, text: str, line_no: int) -> None:
    """Append `text` (whole lines between code blocks, the first of them line `line_no`)
    as a markup cell: its blank edges become trailers."""
    if not text:
        return
    lo, hi = _blank_edges(text, 0, len(text))
    head = text[:lo]
    if nb.cells:
        nb.cells[-1].trailer += head
    else:
        nb.leading += head
    if lo == hi:
        return
    raw = text[lo:hi]
    line = line_no + _line_count(text, 0, lo)
    cell = Cell(kind="markup", source=raw, line=line, trailer=text[hi:])
    cell._freeze(raw)
    nb.cells.append(cell)


def _unclosed_warning(cell: Cell) -> Diagnostic:
    return Diagnostic(
        cell.line,
        f"code fence {cell._fence} is never closed, so the rest of the file is its code"
        f" (as CommonMark and Runme read it); add a closing {cell._fence} line where the"
        " code ends",
    )


def parse(text: str, *, window: int = WINDOW_CHARS) -> Notebook:
    """Parse Markdown into a notebook. Never fails: any text is a valid runbook.

    What is read, but probably not as meant (an unclosed fence, attributes Runme reads
    differently, invalid frontmatter), is listed in `Notebook.diagnostics`. The text is
    parsed about `window` characters at a time, so that markdown-it's tokens cost a few
    MB whatever the size of the text; the notebook does not depend on `window`.
    """
    return parse_stream(TextStream.of(text, window), window=window)


def parse_stream(stream: TextStream, *, window: int = WINDOW_CHARS) -> Notebook:
    """`parse` for text that arrives in pieces: at no time is all of it in memory."""
    bom = stream.peek(1) == "\ufeff"
    stream.skip(int(bom))
    frontmatter = _read_frontmatter(stream)
    nb = Notebook(frontmatter=frontmatter, bom=bom)
    newlines = _Newlines()
    offset = 0
    if frontmatter is not None:
        stream.skip(len(frontmatter.raw))
        newlines.add(frontmatter.raw)
        offset = len(split_lines(frontmatter.raw))
        if frontmatter.error:
            message = f"{frontmatter.error}; the frontmatter is ignored"
            nb.diagnostics.append(Diagnostic(1, message))
    # The Markdown not in a cell yet: `gap` (from earlier windows), then this window's
    # text from line `pos` on; it starts at line `line` (from 1) of the file.
    gap: list[str] = []
    line = offset + 1
    back: list[Token | None] = [None, None]  # the two tokens before the current one
    for w in block_windows(stream, window):
        starts = list(accumulate(map(len, w.lines), initial=0))
        pos = 0
        for token in w.tokens:
            if token.type in ("fence", "code_block") and token.map is not None:
                start, end = token.map
                gap.append(w.text[starts[pos] : starts[start]])
                _markup_cells(nb, "".join(gap), line)
                gap.clear()
                nb.cells.append(_block_cell(nb, w, token, offset, back))
                pos, line = end, offset + w.first_line + end + 1
            back = [back[1], token]
        gap.append(w.text[starts[pos] : starts[w.read]])
        newlines.add(w.text, starts[w.read])
    _markup_cells(nb, "".join(gap), line)
    nb.newline = newlines.dominant()
    assign_names(nb)
    return nb


def _read_frontmatter(stream: TextStream) -> Frontmatter | None:
    """The frontmatter at the stream's read position (not read), if there is one."""
    want = 1 << 16
    while True:
        text = stream.peek(want)
        found = frontmatter_at(text)
        if stream.available(len(text) + 1) == len(text):
            return found  # the whole text
        if found is not None and len(found.raw) < len(text):
            return found  # its last line is whole: text follows it
        if found is None and not frontmatter_may_follow(text):
            return None
        want *= 2


class _Newlines:
    """Counts CRLF and LF line ends, to choose a document's dominant one."""

    def __init__(self) -> None:
        self.crlf = self.lf = 0

    def add(self, text: str, end: int | None = None) -> None:
        crlf = text.count("\r\n", 0, end)
        self.crlf += crlf
        self.lf += text.count("\n", 0, end) - crlf

    def dominant(self) -> str:
        return "\r\n" if self.crlf > self.lf else "\n"


def _block_cell(
    nb: Notebook, w: Window, token: Token, offset: int, back: list[Token | None]
) -> Cell:
    """The cell of a code block token of window `w` (after the tokens `back`); what
    it warns about goes to `nb`."""
    assert token.map is not None
    start, end = token.map
    lines = w.lines
    line_no = offset + w.first_line + start + 1
    if token.type == "fence":
        cell, warnings = _code_cell(lines, start, end, token.markup, token.content, line_no)
        nb.diagnostics.extend(Diagnostic(line_no, w) for w in warnings)
        if not cell._closed and w.final and end == len(lines):
            nb.diagnostics.append(_unclosed_warning(cell))
    else:
        cell = _indented_cell(lines, start, end, token.content, line_no)
        previous = lines[start - 1] if start > 0 else w.line_before
        cell._needs_fence = previous.strip(" \t\r\n>") != ""
    # Runme's intro: a paragraph that is the block's previous sibling (not a tight
    # list item's text, which goldmark does not make a paragraph).
    paragraph, closing = back
    if (
        paragraph is not None
        and closing is not None
        and closing.type == "paragraph_close"
        and closing.level == token.level
        and not closing.hidden
    ):
        cell._intro = paragraph.content
    cell._freeze("".join(lines[start:end]))
    return cell


def sanitize_name(command: str) -> str:
    """Runme's rule: text before `=`, 32 bytes, first two words, lowercase [a-z0-9]."""
    eq = command.find("=")
    if eq > 0:
        command = command[:eq]
    command = command.encode()[:32].decode("utf-8", "ignore")
    words = " ".join(command.split(" ")[:2]).lower()
    out: list[str] = []
    for ch in words:
        if "a" <= ch <= "z" or "0" <= ch <= "9":
            out.append(ch)
        elif ch == " " and out:
            out.append("-")
    return "".join(out)


def _naming_line(source: str) -> str:
    first = None
    start = 0
    while True:  # line by line: a cell may be thousands of lines long
        end = source.find("\n", start)
        line = source[start : None if end < 0 else end].lstrip().lstrip("$").rstrip()
        first = line if first is None else first
        cut = line.split("#", 1)[0].strip()
        if cut:
            return cut
        if end < 0:
            return first.strip()
        start = end + 1


def assign_names(nb: Notebook) -> None:
    """Give every code cell without a `name` a generated one, unique in the notebook.

    Runme's rule (`echo-hi`, then `echo-hi-2`, …), except that a generated name also
    steps around explicit names, so looking a generated name up is never ambiguous.
    """
    code = nb.code_cells()
    taken = {c.attributes["name"] for c in code if c.attributes.get("name")}
    seen: dict[str, int] = {}
    for cell in code:
        if cell.attributes.get("name"):
            continue
        base = sanitize_name(_naming_line(cell.source))
        count = seen.get(base, 0)
        while True:
            count += 1
            name = base if count == 1 else f"{base}-{count}"
            if name not in taken:
                break
        seen[base] = count
        taken.add(name)
        cell.generated_name = name


# --- serialization ----------------------------------------------------------------------


def _fence_for(cell: Cell, body_lines: list[str]) -> str:
    """The cell's fence, lengthened if the content now contains a closing-like line."""
    fence = cell._fence or "```"
    char = fence[0]
    longest = 0
    for line in body_lines:
        stripped = line.strip()
        if stripped and set(stripped) == {char}:
            longest = max(longest, len(stripped))
    return char * max(len(fence), longest + 1) if longest >= len(fence) else fence


def _render_output(output: Output) -> list[str]:
    header = f"# Ran on {output.ran_at or 'unknown'} for {output.duration or '0s'}"
    if output.exit_code is not None:
        header += f" exited with {output.exit_code}"
    lines = ["", header]
    if output.text:
        lines.extend(output.text.split("\n"))
    return lines


def _content_lines(cell: Cell) -> list[str]:
    body = cell.source[:-1] if cell.source.endswith("\n") else cell.source
    content = body.split("\n") if body else []
    for output in cell.outputs:
        content.extend(_render_output(output))
        if content and content[-1] == "" and output.text.endswith("\n"):
            content.pop()
    return content


def _attribute_block(cell: Cell) -> str:
    """The cell's attribute block: the parsed one with new pairs inserted in its own
    style when that is all that changed, else rendered afresh."""
    assert cell._snapshot is not None and cell._opening is not None
    before = cast("tuple[tuple[str, str], ...]", cell._snapshot[3])
    items = list(cell.attributes.items())
    same_form = cell._snapshot[4] == cell.attr_form
    if cell._attr_span is not None and same_form and tuple(items[: len(before)]) == before:
        start, end = cell._attr_span
        inserted = insert_attributes(
            cell._opening[start:end], cell.attr_form, dict(items[len(before) :])
        )
        if inserted is not None:
            return inserted
    return format_attributes(cell.attributes, cell.attr_form)


def _kept_opening(cell: Cell, fence: str) -> str | None:
    """The opening line as written, with only the attribute block changed if the
    attributes did; None when the info string must be rendered afresh."""
    snap, opening = cell._snapshot, cell._opening
    if snap is None or opening is None or fence != cell._fence:
        return None
    if (snap[2], snap[5], snap[6]) != (cell.language, cell.info_rest, cell.info_tail):
        return None
    if snap[3] == tuple(cell.attributes.items()) and snap[4] == cell.attr_form:
        return opening
    block = _attribute_block(cell)
    if fence[0] == "`" and "`" in block:
        return None  # must switch to a tilde fence
    line = opening.rstrip("\r\n")
    newline = opening[len(line) :]
    if cell._attr_span is not None:
        start, end = cell._attr_span
        return line[:start] + block + line[end:] + newline
    brace = line.find("{", len(cell._first_prefix) + len(fence))
    if brace >= 0:
        # An unclosed `{` in the info string: ours must come first to be the one read.
        return line[:brace] + block + " " + line[brace:] + newline
    stop = len(line.rstrip())
    # Runme writes the attributes after the language and a space (```sh {…}).
    return line[:stop] + " " + block + line[stop:] + newline


def _render_indented(cell: Cell, newline: str) -> str:
    nl = cell._newline if cell._parsed else newline
    out = []
    for i, line in enumerate(_content_lines(cell)):
        prefix = cell._first_prefix if i == 0 else cell._prefix
        out.append((prefix + line if line else prefix.rstrip()) + nl)
    text = "".join(out)
    raw = cell._raw
    if raw is not None and not raw.endswith(("\n", "\r")):
        text = text[: -len(nl)]  # the file had no final newline: still none
    return text


def _container(prefix: str) -> str:
    """An indented code block's line prefix without the code's own four columns."""
    head = prefix.rstrip(" \t")
    start = column = 0
    for i, char in enumerate(prefix):
        if i == len(head):
            start = column  # where the trailing whitespace begins
        column = (column // 4 + 1) * 4 if char == "\t" else column + 1
    if len(head) == len(prefix):
        start = column
    return head + " " * max(column - start - 4, 0)


def _fresh_opening(cell: Cell, first_prefix: str, fence: str, nl: str) -> tuple[str, str]:
    """(opening line, fence) rendered from the cell's fields."""
    info = InfoString(
        cell.language,
        cell.attributes,
        cell.attr_form,
        cell.info_rest,
        cell.info_tail,
        cell._has_attrs or bool(cell.attributes),
    )
    rendered = format_info(info)
    if fence[0] == "`" and "`" in rendered:
        # A backtick fence's info string may not contain backticks (CommonMark).
        fence = "~" * len(fence)
    return f"{first_prefix}{fence}{rendered}{nl}", fence


def _render_code(cell: Cell, newline: str) -> str:
    nl = cell._newline if cell._parsed else newline
    content = _content_lines(cell)
    if not cell.fenced:
        if not (cell.language or cell.attributes or cell._needs_fence):
            return _render_indented(cell, newline)
        # Attributes need a fence: the block is written fenced, in its container.
        first, prefix = (_container(p) for p in (cell._first_prefix, cell._prefix))
        opening, fence = _fresh_opening(cell, first, _fence_for(cell, content), nl)
        closing = f"{prefix}{fence}{nl}"
    else:
        prefix = cell._prefix
        snap = cell._snapshot
        unchanged_code = snap is not None and (snap[1], snap[8]) == (
            cell.source,
            cell._state()[8],
        )
        # Unchanged code keeps its fence: whatever it holds did not close it before.
        fence = cell._fence if unchanged_code else _fence_for(cell, content)
        kept = _kept_opening(cell, fence)
        raw = cell._raw
        if kept is not None and raw is not None and cell._opening and unchanged_code:
            # Only the attributes changed: every byte after the opening line stays.
            return kept + raw[len(cell._opening) :]
        if kept is None:
            opening, fence = _fresh_opening(cell, cell._first_prefix, fence, nl)
        else:
            opening = kept
        # The closing line as written (a longer fence, no final newline) while it closes.
        closing = (
            cell._closing if cell._closing and fence == cell._fence else f"{prefix}{fence}{nl}"
        )
    out = [opening]
    for line in content:
        out.append((prefix + line if line else prefix.rstrip()) + nl)
    out.append(closing)
    return "".join(out)


def render_cell(cell: Cell, newline: str = "\n") -> str:
    """The text of one cell as it would be written."""
    if not cell.changed:  # so it was parsed, and has its text
        return cast("str", cell._raw)
    if cell.kind == "code":
        return _render_code(cell, newline)
    return cell.source


def serialize(nb: Notebook) -> str:
    """Write a notebook back to Markdown; identical bytes for an unchanged notebook."""
    parts: list[str] = []
    if nb.frontmatter is not None:
        parts.append(nb.frontmatter.raw)
    parts.append(nb.leading)
    tail = "".join(parts)[-4:]  # the last few characters written, for separators
    started = bool("".join(parts).strip())
    if nb.bom:
        parts.insert(0, "\ufeff")
    nl = nb.newline
    for cell in nb.cells:
        text = render_cell(cell, nl)
        if text and tail and not tail.endswith(("\n", "\r")):
            parts.append(nl)
            tail += nl
        if not cell._parsed and started and not tail.replace("\r", "").endswith("\n\n"):
            parts.append(nl)  # a new cell gets a blank line before it
        for piece in (text, cell.trailer):
            if piece:
                parts.append(piece)
                tail = (tail + piece)[-4:]
                started = started or bool(piece.strip())
    return "".join(parts)
