"""The shapes the copilot's parts share: a notebook cell as context (with what it
printed when it ran), a learned example, and a suggested cell."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Stream = Literal["stdout", "stderr", "output"]  # "output": a PTY's merged stream


@dataclass(frozen=True)
class OutputPart:
    """Text a cell printed on one stream, and what was cut. The prompt renders it as a
    terminal would (ANSI escapes dropped, CR and BS applied) when it shows it."""

    stream: Stream
    text: str
    truncated: int = 0  # characters left out before this text reached us


@dataclass(frozen=True)
class ContextCell:
    """One notebook cell as the copilot sees it."""

    kind: Literal["code", "markup"]
    source: str
    language: str = ""
    id: str | None = None
    name: str = ""
    interactive: bool | None = None
    outputs: tuple[OutputPart, ...] = ()
    exit_code: int | None = None  # None: not run (or unknown)


@dataclass(frozen=True)
class Example:
    """A learned example: the context before a cell (as the retrieval query text) and
    the cell as it was actually run."""

    id: str
    query: str  # what retrieval matches on: the text of the cells just before
    cell: str  # the command(s) as run
    language: str = "sh"
    source: str = ""  # where it was learned: "<notebook path>#<cell id>" or a dataset file
    score: float = 0.0  # set by retrieval
    # Where it was learned, for adapting it elsewhere (`_adapt`): the runbook's title, the
    # prose before the cell, and the latest code cells before it (oldest first).
    title: str = ""
    prose: str = ""
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    """One suggested cell."""

    id: str
    kind: Literal["code", "markup"]
    source: str
    language: str = ""


@dataclass
class SuggestResult:
    trace_id: str
    model: str
    cells: list[Suggestion] = field(default_factory=list)
    latency_ms: int = 0
    raw: str = ""  # the model's reply before post-processing
    prompt_tokens: int = 0  # as the model counted them (0: it did not say)
    cached_tokens: int = 0  # of those, read from a cache (a local model's reused prefix)
    source: str = "model"  # the candidate source that proposed it (`_candidates.SOURCES`)
    sources: tuple[str, ...] = ()  # every source that proposed it
    confidence: float = 0.0  # the ranker's chance that it is exactly right
