"""The API's request and response bodies (pydantic: validated, and shown in /docs)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_MARKDOWN = 32 << 20  # characters in one request body's runbook


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    learning_logs: bool = Field(description="Executions are recorded in the learning log.")
    prefill: bool = Field(
        default=False,
        description="After each run, the next suggestion's prompt is read into the local model.",
    )


class ParseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    markdown: str = Field(max_length=MAX_MARKDOWN, description="The runbook's Markdown text.")


class OutputJSON(BaseModel):
    text: str
    exit_code: int | None
    ran_at: str | None
    duration: str | None
    mime: str


class CellJSON(BaseModel):
    kind: Literal["markup", "code"]
    language: str | None
    source: str
    attributes: dict[str, str]
    id: str | None = Field(description="The cell's `id` attribute (null when it has none).")
    name: str | None
    name_generated: bool | None
    interactive: bool | None
    line: int
    outputs: list[OutputJSON]


class FrontmatterJSON(BaseModel):
    format: str
    data: Any
    error: str | None
    raw: str


class DiagnosticJSON(BaseModel):
    line: int
    message: str


class NotebookJSON(BaseModel):
    """The stable JSON view of a notebook (`cairn notebook to-json`)."""

    model_config = ConfigDict(populate_by_name=True)
    schema_: int = Field(alias="schema", serialization_alias="schema")
    frontmatter: FrontmatterJSON | None
    cells: list[CellJSON]
    diagnostics: list[DiagnosticJSON] = Field(
        default_factory=list, description="What parsing warned about (line, message)."
    )


class CellEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index: int = Field(ge=0, description="Position in `cells` of the parsed notebook.")
    source: str = Field(max_length=MAX_MARKDOWN, description="The cell's new source.")


class SerializeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    markdown: str = Field(max_length=MAX_MARKDOWN)
    edits: list[CellEdit] = Field(
        default_factory=list,
        description="New sources by cell index; every other byte of the runbook is kept.",
    )


class SaveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    edits: list[CellEdit] = Field(
        description="New sources by cell index; every other byte of the runbook is kept."
    )


class SerializeResponse(BaseModel):
    markdown: str


class CellSummary(BaseModel):
    name: str
    id: str | None = Field(description="The cell's `id` attribute (null when it has none).")
    language: str
    first_command: str
    interactive: bool
    line: int = Field(description="1-based line of the cell's opening fence.")


class FileList(BaseModel):
    files: list[str] = Field(description="Runbooks (*.md) under the root, relative to it.")
    truncated: bool = Field(False, description="More files exist than were listed.")


class FileCells(BaseModel):
    path: str
    cells: list[CellSummary]


class SessionInfo(BaseModel):
    id: str
    path: str = Field(description="The runbook that started the session, relative to the root.")
    cwd: str
    created: str = Field(description="RFC 3339, UTC.")
    executions: int
    failures: int
    busy: bool = Field(description="A cell is running in this session now.")


class SessionList(BaseModel):
    sessions: list[SessionInfo]


# -- the execute WebSocket -------------------------------------------------------------


class ExecuteRequest(BaseModel):
    """The first message a client sends on /v1/execute."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, description="The runbook, relative to the server's root.")
    cell: str = Field(min_length=1, description="The cell's name or id.")
    session: str | None = Field(
        default=None, description="Run in this session (its env and cwd); a new one if absent."
    )
    interactive: bool | None = Field(
        default=None, description="PTY (true) or pipes (false); the cell decides if absent."
    )
    rows: int = Field(default=24, ge=1, le=10_000)
    cols: int = Field(default=80, ge=1, le=10_000)
    timeout: float | None = Field(
        default=None, gt=0, description="Seconds; the cell's own `timeout` attribute wins."
    )


class StdinMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["stdin"]
    data: str = Field(description="Base64 bytes for the cell's terminal.")


class ResizeMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["resize"]
    rows: int = Field(ge=1, le=10_000)
    cols: int = Field(ge=1, le=10_000)


class CancelMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["cancel"]


ClientMessage = Annotated[StdinMessage | ResizeMessage | CancelMessage, Field(discriminator="type")]
