"""Candidates for the next cell, each with where it came from.

A 270M base model is a poor writer but the team's own commands are often close to what
comes next, so the suggestion is chosen among candidates from several sources (`_rank`
orders them):

- `example`: learned examples found by the meaning of the title and prose, adapted to
  this runbook (`_adapt`: names, values printed earlier, time windows);
- `sequence`: what the team ran right after a command like the last one here, adapted;
- `runbook`: an earlier cell of this runbook, as it is (a check re-run after a fix);
- `model`: the model's own cell, written with the adapted examples in its prompt.

Equal candidates (after whitespace normalisation) are merged: the merged one remembers
every source and origin that proposed it, and how many did (`support`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ._adapt import adapt
from ._edits import normalize
from ._situation import Situation
from ._types import Example

SOURCES = ("example", "sequence", "runbook", "model")
RUNBOOK_CELLS = 3  # the latest cells of this runbook offered again


@dataclass
class Candidate:
    """One possible next cell."""

    text: str
    source: str  # the first source that proposed it (see SOURCES)
    sources: set[str] = field(default_factory=set)
    origins: list[str] = field(default_factory=list)  # example ids, cell names
    similarity: float = 0.0  # the best retrieval similarity among its proposals
    foreign: int = 0  # names in it that this runbook never mentions
    support: int = 0  # proposals merged into it
    rank: int = 99  # best position among its source's proposals (0: first)


class Candidates:
    """Candidates merged by their normalised text, in the order first proposed."""

    def __init__(self) -> None:
        self._by_text: dict[str, Candidate] = {}

    def add(
        self,
        text: str,
        source: str,
        *,
        origin: str = "",
        similarity: float = 0.0,
        foreign: int = 0,
        rank: int = 0,
    ) -> None:
        key = normalize(text)
        if not key:
            return
        found = self._by_text.get(key)
        if found is None:
            found = self._by_text[key] = Candidate(
                text if text.endswith("\n") else text + "\n", source, foreign=foreign
            )
        found.sources.add(source)
        if origin:
            found.origins.append(origin)
        found.similarity = max(found.similarity, similarity)
        found.foreign = min(found.foreign, foreign) if found.support else foreign
        found.support += 1
        found.rank = min(found.rank, rank)

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self._by_text.values())

    def __len__(self) -> int:
        return len(self._by_text)

    def all(self) -> list[Candidate]:
        return list(self._by_text.values())


def from_examples(
    into: Candidates, here: Situation, examples: Sequence[Example], source: str
) -> list[Example]:
    """Add `examples` adapted to `here`; returns them adapted (for the model's prompt)."""
    adapted: list[Example] = []
    for rank, example in enumerate(examples):
        result = adapt(example, here)
        into.add(
            result.text,
            source,
            origin=example.id,
            similarity=example.score,
            foreign=result.foreign,
            rank=rank,
        )
        adapted.append(_with_cell(example, result.text))
    return adapted


def from_runbook(into: Candidates, here: Situation) -> None:
    """Add the latest cells of this runbook, newest first."""
    for rank, command in enumerate(reversed(here.commands[-RUNBOOK_CELLS:])):
        into.add(command, "runbook", rank=rank)


def _with_cell(example: Example, cell: str) -> Example:
    from dataclasses import replace

    return replace(example, cell=cell if cell.endswith("\n") else cell + "\n")
