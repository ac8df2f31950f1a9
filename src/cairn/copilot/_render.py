"""Cells rendered as counted Markdown pieces of a prompt: a code cell fenced, then each
stream it printed in a block labelled with the stream (shortened to its share of the
budget), then its exit code; the title of a runbook; fences longer than any backtick run
they hold. A piece carries its token count, so a prompt is planned by adding counts."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..kernel import render_text
from ._budget import MAX_CHARS_PER_TOKEN, MIN_PER_OUTPUT, shorten
from ._types import ContextCell

if TYPE_CHECKING:
    from ._tokens import Tokenizer

TITLE_TOKENS = 64  # the first markup cell (the title) is kept when it is this cheap
_BACKTICKS = re.compile(r"`{3,}")
_SURROGATES = re.compile("[\ud800-\udfff]")  # unpaired (JSON allows them); not encodable


@dataclass(frozen=True)
class Part:
    """A piece of the prompt and its token count. Pieces are counted once each and their
    counts added up (separators included) to plan the prompt; a whole text counts the same
    or a few tokens less, as tokens merge across the joins. The finished prompt is counted
    once more as a whole (`_prompt._finish`)."""

    text: str
    tokens: int
    cut: int = 0  # output streams shortened or left out


def clean(text: str) -> str:
    """Unpaired surrogates become U+FFFD: no model API or tokenizer can encode them."""
    return _SURROGATES.sub("\ufffd", text) if _SURROGATES.search(text) else text


def part(text: str, tokenizer: Tokenizer) -> Part:
    """`text` (cleaned) as a counted piece."""
    text = clean(text)  # every text of a prompt passes here
    return Part(text, tokenizer.count(text) if text else 0)


def join(parts: Sequence[Part], sep: str, tokenizer: Tokenizer) -> Part:
    """The non-empty pieces joined by `sep`, their counts and the separators' added up."""
    parts = [p for p in parts if p.text]
    glue = tokenizer.count(sep) * max(0, len(parts) - 1)
    return Part(
        sep.join(p.text for p in parts),
        sum(p.tokens for p in parts) + glue,
        sum(p.cut for p in parts),
    )


def _fence(text: str) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(3, longest + 1)


def fenced(info: str, body: str, tokenizer: Tokenizer) -> Part:
    """A fenced block; its fence is longer than any backtick run inside."""
    body = body.rstrip("\n")
    fence = _fence(body)
    pieces = [part(fence + info, tokenizer), part(body, tokenizer), part(fence, tokenizer)]
    return join(pieces, "\n", tokenizer)  # an empty body is left out: the fences touch


def _status(cell: ContextCell, printed: bool, omitted: bool) -> str:
    if cell.exit_code is None:
        return "(output omitted)" if omitted else ""
    if omitted:
        return f"exit code: {cell.exit_code} (output omitted)"
    return f"exit code: {cell.exit_code}" + ("" if printed else " (no output)")


class Renderer:
    """Renders cells into counted parts for one prompt (one tokenizer, one output cap)."""

    def __init__(self, tokenizer: Tokenizer, per_output: int) -> None:
        self.tokenizer = tokenizer
        self.per_output = per_output

    def block(self, cell: ContextCell, outputs: bool = True) -> Part:
        """A markup cell's text; a code cell fenced, then (when `outputs`) each stream it
        printed in a block labelled with the stream, then its exit code."""
        if cell.kind == "markup":
            return part(cell.source.strip(), self.tokenizer)
        pieces = [fenced(cell.language, cell.source, self.tokenizer)]
        printed = cut = 0
        for output in cell.outputs:
            text = render_text(output.text).rstrip("\n")  # cells built by hand may carry ANSI
            if not text or text.isspace():
                continue
            printed += 1
            if outputs:
                text, was_cut = shorten(text, self.per_output, self.tokenizer)
                cut += was_cut
                pieces.append(fenced(output.stream, text, self.tokenizer))
        pieces.append(part(_status(cell, printed > 0, printed > 0 and not outputs), self.tokenizer))
        block = join(pieces, "\n", self.tokenizer)
        return dataclasses.replace(block, cut=cut if outputs else printed)

    def squeezed(self, cell: ContextCell, room: int) -> Part | None:
        """The cell's source cut to fit `room`, outputs left out: for the cell nearest the
        cursor when it does not fit otherwise."""
        body_room = room - 12  # fences, language, status line
        if body_room < MIN_PER_OUTPUT:
            return None
        source, _ = shorten(cell.source.strip("\n"), body_room, self.tokenizer)
        block = self.block(dataclasses.replace(cell, source=source), outputs=False)
        return block if block.tokens <= room else None

    def fit(self, cell: ContextCell, room: int, first: bool, bare: bool = True) -> Part | None:
        """The fullest form of the cell that fits `room`: whole, without its outputs (if
        `bare`), or (the cell nearest the cursor only) cut."""
        if len(cell.source) <= room * MAX_CHARS_PER_TOKEN:  # else it surely does not fit
            whole = self.block(cell)
            if whole.tokens <= room:
                return whole
            if (bare or first) and cell.kind == "code" and cell.outputs:
                without = self.block(cell, outputs=False)
                if without.tokens <= room:
                    return without
        return self.squeezed(cell, room) if first else None

    def title(self, cell: ContextCell) -> Part | None:
        """The first markup cell, or its heading line, when cheap."""
        if cell.kind != "markup":
            return None
        limit = TITLE_TOKENS * MAX_CHARS_PER_TOKEN
        text = cell.source.strip()
        if len(text) <= limit:
            whole = part(text, self.tokenizer)
            if whole.tokens <= TITLE_TOKENS:
                return whole
        end = text.find("\n")
        first = text if end < 0 else text[:end]
        if not first.startswith("#") or len(first) > limit:
            return None
        heading = part(first, self.tokenizer)
        return heading if heading.tokens <= TITLE_TOKENS else None


__all__ = ["TITLE_TOKENS", "Part", "Renderer", "clean", "fenced", "join", "part"]
