"""Learning-log events for the copilot's tests: times relative to `T0`, an `EventLog`
directory written through `cairn.learnlog.LearningLog`, and the events people cause
(`suggestion`, `accepted`, `ran`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cairn.learnlog import (
    CellExecuted,
    Event,
    LearningLog,
    SuggestedCell,
    SuggestionAccepted,
    SuggestionGenerated,
    log_paths,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    """An event time `seconds` after T0, as the learning log writes times."""
    moment = T0 + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventLog:
    """A learning-log directory written through `cairn.learnlog.LearningLog`."""

    def __init__(self, directory: Path, *, max_file_bytes: int = 64 << 20) -> None:
        self.directory = directory
        self.max_file_bytes = max_file_bytes

    def write(self, *events: Event) -> None:
        with LearningLog(self.directory, fsync=False, max_file_bytes=self.max_file_bytes) as log:
            for event in events:
                log.emit(event)

    def append_raw(self, data: bytes) -> None:
        """Bytes at the end of the current file, as a damaged or dying writer leaves them."""
        with open(log_paths(self.directory)[-1], "ab") as f:
            f.write(data)

    def encode(self, event: Event) -> bytes:
        """The line the writer would append for `event`."""
        with LearningLog(self.directory, fsync=False) as log:
            return log.encode(event)

    def files(self) -> list[Path]:
        return log_paths(self.directory)


def suggestion(
    trace_id: str,
    *cells: tuple[str, str],
    model: str = "model-a",
    t: float = 0.0,
    path: str | None = None,
    markup: str = "",
) -> SuggestionGenerated:
    suggested = [SuggestedCell(id=cell_id, source=source) for cell_id, source in cells]
    if markup:
        suggested.insert(0, SuggestedCell(id=f"{trace_id}-md", kind="markup", source=markup))
    return SuggestionGenerated(
        time=at(t),
        session_id="S-suggest",
        trace_id=trace_id,
        model=model,
        notebook_path=path,
        cells=suggested,
    )


def accepted(trace_id: str, cell_id: str, *, t: float = 1.0) -> SuggestionAccepted:
    return SuggestionAccepted(time=at(t), session_id="S-ui", trace_id=trace_id, cell_id=cell_id)


def ran(
    cell_id: str,
    source: str,
    *,
    t: float,
    exit_code: int = 0,
    session: str | None = "S1",
    path: str | None = None,
    name: str = "",
    stdout: str = "",
    timed_out: bool = False,
    cancelled: bool = False,
) -> CellExecuted:
    return CellExecuted(
        time=at(t),
        session_id=session,
        notebook_path=path,
        known_id=cell_id,
        known_name=name,
        language="sh",
        program="bash",
        source=source,
        exit_code=exit_code,
        stdout=stdout,
        timed_out=timed_out,
        cancelled=cancelled,
    )
