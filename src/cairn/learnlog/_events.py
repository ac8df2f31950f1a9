"""Learning events: the typed, versioned records of what people ran and were suggested.

These shapes are a contract with every reader of the learning log (the copilot's
analyzer, other tools, other versions of Cairn). Changing a field is a schema change:
bump SCHEMA_VERSION and regenerate the golden schema (tests/learnlog/schema.json);
the contract test fails otherwise.

Events are frozen stdlib dataclasses so that emitting one costs no more than building a
dict: pydantic (30 ms to import) validates them and produces their JSON Schema only in
`cairn learnlog schema` and in the tests, which validate every event written.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from ..notebook import new_ulid

# 2: `suggestion.generated` says which candidate source proposed the suggestion and how
# confident the ranker was (`source`, `sources`, `confidence`).
SCHEMA_VERSION = 2
# Bounds on what one event carries of a cell's output (head and tail are kept).
MAX_OUTPUT_CHARS = 64 * 1024


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True)
class Event:
    """Fields every learning event carries."""

    TYPE: ClassVar[str] = ""
    schema: int = SCHEMA_VERSION
    event_id: str = field(default_factory=new_ulid)
    time: str = field(default_factory=_now)  # RFC 3339, UTC, milliseconds
    session_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"type": self.TYPE}
        data.update(dataclasses.asdict(self))
        return data


@dataclass(frozen=True, kw_only=True)
class SessionStarted(Event):
    TYPE: ClassVar[str] = "session.started"
    type: Literal["session.started"] = "session.started"
    notebook_path: str | None = None
    notebook_id: str | None = None
    cwd: str = ""
    client: str = "cli"  # "cli" or "server"


@dataclass(frozen=True, kw_only=True)
class SessionEnded(Event):
    TYPE: ClassVar[str] = "session.ended"
    type: Literal["session.ended"] = "session.ended"
    cells_run: int = 0
    failures: int = 0
    duration_ms: int = 0


@dataclass(frozen=True, kw_only=True)
class CellStarted(Event):
    TYPE: ClassVar[str] = "cell.started"
    type: Literal["cell.started"] = "cell.started"
    notebook_path: str | None = None
    notebook_id: str | None = None
    known_id: str = ""
    known_name: str = ""
    language: str = ""
    program: str = ""
    interactive: bool = True
    cwd: str = ""


@dataclass(frozen=True, kw_only=True)
class CellExecuted(Event):
    """A cell finished: what ran, where, how it ended, and what it printed (bounded)."""

    TYPE: ClassVar[str] = "cell.executed"
    type: Literal["cell.executed"] = "cell.executed"
    notebook_path: str | None = None
    notebook_id: str | None = None
    known_id: str = ""
    known_name: str = ""
    language: str = ""
    program: str = ""
    source: str = ""
    interactive: bool = True
    cwd: str = ""
    exit_code: int = 0
    duration_ms: int = 0
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: int = 0  # characters left out of `stdout` (plus bytes the kernel dropped)
    stderr_truncated: int = 0
    env_changed: list[str] = field(default_factory=list)  # names only, never values
    timed_out: bool = False
    cancelled: bool = False


@dataclass(frozen=True, kw_only=True)
class SuggestedCell:
    id: str
    kind: Literal["code", "markup"] = "code"
    language: str = ""
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class SuggestionGenerated(Event):
    TYPE: ClassVar[str] = "suggestion.generated"
    type: Literal["suggestion.generated"] = "suggestion.generated"
    trace_id: str = ""
    model: str = ""
    notebook_path: str | None = None
    after_cell_id: str | None = None
    cells: list[SuggestedCell] = field(default_factory=list)
    latency_ms: int = 0
    # Since schema 2 (events written before carry none of these):
    source: str = ""  # the candidate source that proposed it: example, sequence, runbook, model
    sources: list[str] = field(default_factory=list)  # every source that proposed it
    confidence: float | None = None  # the ranker's chance that it is exactly right


@dataclass(frozen=True, kw_only=True)
class SuggestionShown(Event):
    TYPE: ClassVar[str] = "suggestion.shown"
    type: Literal["suggestion.shown"] = "suggestion.shown"
    trace_id: str = ""
    cell_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class SuggestionAccepted(Event):
    TYPE: ClassVar[str] = "suggestion.accepted"
    type: Literal["suggestion.accepted"] = "suggestion.accepted"
    trace_id: str = ""
    cell_id: str = ""


@dataclass(frozen=True, kw_only=True)
class SuggestionRejected(Event):
    TYPE: ClassVar[str] = "suggestion.rejected"
    type: Literal["suggestion.rejected"] = "suggestion.rejected"
    trace_id: str = ""
    cell_ids: list[str] = field(default_factory=list)
    reason: str = ""


EVENT_TYPES: tuple[type[Event], ...] = (
    SessionStarted,
    SessionEnded,
    CellStarted,
    CellExecuted,
    SuggestionGenerated,
    SuggestionShown,
    SuggestionAccepted,
    SuggestionRejected,
)
EVENTS_BY_TYPE = {cls.TYPE: cls for cls in EVENT_TYPES}


def bound_text(text: str, limit: int = MAX_OUTPUT_CHARS) -> tuple[str, int]:
    """Keep the head and tail of `text` within `limit` characters; return what was cut."""
    if len(text) <= limit:
        return text, 0
    half = limit // 2
    cut = len(text) - 2 * half
    return f"{text[:half]}\n[… {cut} characters left out …]\n{text[-half:]}", cut


def json_schema() -> dict[str, Any]:
    """The JSON Schema of every event (pydantic, imported only here)."""
    from pydantic import TypeAdapter

    return {
        "schema_version": SCHEMA_VERSION,
        "events": {cls.TYPE: TypeAdapter(cls).json_schema() for cls in EVENT_TYPES},
    }


def validate(data: dict[str, Any]) -> Event:
    """Validate one decoded event against its schema; ValueError when it does not fit."""
    from pydantic import TypeAdapter, ValidationError

    cls = EVENTS_BY_TYPE.get(str(data.get("type")))
    if cls is None:
        raise ValueError(f"unknown event type {data.get('type')!r}")
    try:
        event: Event = TypeAdapter(cls).validate_python(data, strict=False)
    except ValidationError as exc:
        raise ValueError(str(exc)) from None
    return event
