"""Which cells before the cursor a prompt shows: the contiguous run of cells nearest the
cursor that fits the room left, newest first, with the runbook's title when cheap and a
line that says how many earlier cells were left out. For a completion the window starts
at a steady place, so that consecutive prompts share their beginning."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._render import Part, Renderer, join, part
from ._types import ContextCell

if TYPE_CHECKING:
    from ._tokens import Tokenizer

_MARKER_RESERVE = 16  # room kept for the "earlier cells omitted" line
_WINDOW_STEP = 4  # a completion's window starts at a multiple of this many cells


@dataclass
class Window:
    """The cells chosen for the notebook section: an optional title (cell 0 or its
    heading) and the contiguous run of cells just before the cursor."""

    count: int  # cells before the cursor
    title: Part | None = None
    chosen: list[tuple[int, Part]] = dataclasses.field(default_factory=list)  # newest first

    @property
    def lowest(self) -> int:
        return self.chosen[-1][0] if self.chosen else self.count

    @property
    def uses_title(self) -> bool:
        return self.title is not None and self.lowest > 0

    @property
    def omitted(self) -> int:
        return self.lowest - (1 if self.uses_title else 0)

    @property
    def included(self) -> int:
        return len(self.chosen) + (1 if self.uses_title else 0)

    def render(self, tokenizer: Tokenizer) -> Part:
        blocks = [block for _, block in reversed(self.chosen)]
        if self.omitted:
            s = "" if self.omitted == 1 else "s"
            blocks.insert(0, part(f"… [{self.omitted} earlier cell{s} omitted] …", tokenizer))
        if self.uses_title and self.title is not None:
            blocks.insert(0, self.title)
        return join(blocks, "\n\n", tokenizer)


def choose(
    cells: Sequence[ContextCell], renderer: Renderer, room: int, *, steady: bool = False
) -> Window:
    """Fill `room` tokens with the cells nearest the end of `cells`, newest first. With
    `steady`, a cell other than the newest is shown whole or not at all (never without
    its outputs to squeeze it in), so that its text does not depend on the cells after
    it: the prompts of consecutive positions then share their beginning."""
    window = Window(len(cells))
    if len(cells) >= 2:
        window.title = renderer.title(cells[0])
    reserve = _MARKER_RESERVE + (window.title.tokens + 1 if window.title else 0)
    if reserve > room:
        window.title, reserve = None, _MARKER_RESERVE
    left = room - reserve
    for i in range(len(cells) - 1, -1, -1):
        if i == 0 and window.title is not None:
            left += window.title.tokens + 1  # cell 0 itself would replace its title
        block = renderer.fit(cells[i], left, first=not window.chosen, bare=not steady)
        if block is None:
            break
        window.chosen.append((i, block))
        left -= block.tokens + 1  # and the blank line between blocks
    return window


def steady(window: Window) -> None:
    """When earlier cells must go, let the window start at a multiple of `_WINDOW_STEP`
    (dropping up to that many cells more): as the cursor moves on, the start, and so
    the prompt's beginning, stays the same for several suggestions, and a local model
    re-reads only what changed instead of the whole prompt."""
    if window.lowest == 0:
        return  # nothing left out
    start = -(-window.lowest // _WINDOW_STEP) * _WINDOW_STEP
    while len(window.chosen) > 1 and window.chosen[-1][0] < start:
        window.chosen.pop()


__all__ = ["Window", "choose", "steady"]
