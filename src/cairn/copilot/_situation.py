"""Where the cursor is in a runbook, as the copilot's candidates and ranking read it: the
runbook's title, the prose just before the cursor (what the operator is about to do),
the code cells before it with what they printed, and the words of all of that.

Learned examples keep the same parts of the place they were learned at (`Example.title`,
`.prose`, `.commands`), so that an example can be compared with, and adapted to, the
place a suggestion is asked for. The retrieval query is the title and the prose: in the
bundled eval it finds the right earlier step more often than the commands do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from ._types import ContextCell, Example

MAX_COMMANDS = 4  # code cells kept, the latest
MAX_OUTPUT_CHARS = 4000  # of each cell's output, its tail (what was printed last)
MAX_QUERY_CHARS = 400  # the query is embedded on every suggestion: ~100 word pieces

# A word of a command or an output: names, paths, numbers, ids (`lf-prod-eu1`,
# `billing-cron-29919000`, `release/2026.11`, `10.0.3.17`, `4f9c2e1`).
WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/:@]*[A-Za-z0-9_]|[A-Za-z0-9_]")


def words(text: str) -> list[str]:
    """The words of `text` in order (see WORD)."""
    return WORD.findall(text)


@dataclass(frozen=True)
class Situation:
    """A position in a runbook: what precedes the cell to suggest."""

    title: str
    prose: str  # the markup between the last code cell and the cursor
    commands: tuple[str, ...]  # the latest code cells' sources, oldest first
    outputs: tuple[str, ...]  # what each of `commands` printed ("" when not run)
    context: str  # every cell before the cursor, prose and code and outputs

    @property
    def query(self) -> str:
        """What examples are retrieved with (and learned under): the title and prose, or
        the last command where there is neither (commands run outside a notebook)."""
        return query_of(self.title, self.prose) or self.last_command[-MAX_QUERY_CHARS:]

    @property
    def last_command(self) -> str:
        return self.commands[-1] if self.commands else ""

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Every word that occurs before the cursor, and the parts of its paths."""
        found = words(self.context)
        return frozenset([*found, *(part for w in found if "/" in w for part in w.split("/"))])


def query_of(title: str, prose: str) -> str:
    text = prose.strip() if title and title in prose else f"{title}\n{prose}".strip()
    return text[-MAX_QUERY_CHARS:]


def _output_text(cell: ContextCell) -> str:
    text = "\n".join(part.text for part in cell.outputs)
    return text[-MAX_OUTPUT_CHARS:]


def situation(cells: Sequence[ContextCell], cursor: int) -> Situation:
    """The situation before `cells[cursor]` (`cursor` is clamped to the notebook)."""
    before = list(cells[: max(0, min(cursor, len(cells)))])
    title = ""
    for cell in before:
        if cell.kind == "markup" and cell.source.strip():
            title = cell.source.strip().split("\n", 1)[0].lstrip("#").strip()
            break
    prose: list[str] = []
    for cell in reversed(before):
        if cell.kind == "code" and cell.source.strip():
            break
        if cell.kind == "markup" and cell.source.strip():
            prose.append(cell.source.strip())
    code = [c for c in before if c.kind == "code" and c.source.strip()][-MAX_COMMANDS:]
    context = "\n".join(
        part for c in before for part in (c.source, _output_text(c) if c.kind == "code" else "")
    )
    return Situation(
        title=title,
        prose="\n\n".join(reversed(prose)),
        commands=tuple(c.source.strip("\n") for c in code),
        outputs=tuple(_output_text(c) for c in code),
        context=context,
    )


def example_at(
    cells: Sequence[ContextCell], index: int, *, id: str, source: str, cell: str | None = None
) -> Example:
    """The example that cell `index` (or `cell`, the command as it ran there) teaches."""
    here = situation(cells, index)
    text = cells[index].source if cell is None else cell
    return Example(
        id=id,
        query=here.query,
        cell=text,
        language=cells[index].language or "sh" if index < len(cells) else "sh",
        source=source,
        title=here.title,
        prose=here.prose,
        commands=here.commands,
    )
