"""Plain-text tables for listings that may run to 100 000 rows.

rich lays a table out at about 0.4 ms a row, so `cairn list` spent 34 s drawing a
68 000-cell runbook. This draws the same kind of table (columns two spaces apart, no
borders, cells wrapped at spaces to fit the terminal, widest columns narrowed first)
in time linear in its text; widths count terminal cells (rich.cells), so wide
characters line up.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich.cells import cell_len, chop_cells

GAP = "  "


def _widths(header: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> list[int]:
    """Each column's width: its widest cell, the widest columns narrowed until the
    table fits in `width` (but never below the longest word of their header)."""
    widths = [cell_len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            n = cell_len(cell)
            if n > widths[i]:
                widths[i] = n
    floors = [max(cell_len(word) for word in h.split() or [""]) for h in header]
    excess = sum(widths) + len(GAP) * (len(widths) - 1) - width
    while excess > 0:
        narrowable = [i for i, w in enumerate(widths) if w > floors[i]]
        if not narrowable:
            break  # too narrow a terminal: lines run over
        widest = max(widths[i] for i in narrowable)
        tops = [i for i in narrowable if widths[i] == widest]
        below = max((widths[i] for i in narrowable if widths[i] < widest), default=0)
        step = min(widest - below, -(-excess // len(tops)))
        for i in tops:
            cut = min(step, widths[i] - floors[i], excess)
            widths[i] -= cut
            excess -= cut
    return widths


def _wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` cells, broken at spaces where it can be."""
    if cell_len(text) <= width:
        return [text]
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if cell_len(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        if cell_len(word) > width:
            *full, word = chop_cells(word, width)
            lines.extend(full)
        line = word
    if line or not lines:
        lines.append(line)
    return lines


def _pad(text: str, width: int) -> str:
    return text + " " * (width - cell_len(text))


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> Iterator[str]:
    """The table's lines (without newlines): the header, then each row in as many
    lines as its tallest cell takes; no trailing spaces."""
    widths = _widths(header, rows, width)
    for row in (header, *rows):
        cells = [_wrap(cell, w) for cell, w in zip(row, widths, strict=True)]
        for n in range(max(len(c) for c in cells)):
            parts = [
                _pad(c[n] if n < len(c) else "", w) for c, w in zip(cells, widths, strict=True)
            ]
            yield GAP.join(parts).rstrip()
