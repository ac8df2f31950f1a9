"""The learning log: typed, versioned events of what people ran and were suggested,
written durably as JSON lines under `<config dir>/logs/` for the copilot to learn from.

It is not the console log. It runs at a fixed level that users cannot turn down by
accident (only `--no-learning-logs` switches it off), secrets are redacted before
anything reaches disk, and `emit` returns only once the event is on disk.

The one way in is `emit(event)`: every learning event in Cairn goes through it.
"""

from __future__ import annotations

from ._events import (
    EVENT_TYPES,
    EVENTS_BY_TYPE,
    MAX_OUTPUT_CHARS,
    SCHEMA_VERSION,
    CellExecuted,
    CellStarted,
    Event,
    SessionEnded,
    SessionStarted,
    SuggestedCell,
    SuggestionAccepted,
    SuggestionGenerated,
    SuggestionRejected,
    SuggestionShown,
    bound_text,
    json_schema,
    validate,
)
from ._log import (
    LearningLog,
    LearningLogError,
    LogStats,
    add_secret_values,
    configure,
    current,
    emit,
)
from ._reader import LogReader, Offset, ReadCounts, log_paths, read_events
from ._record import cell_executed, cell_started
from ._redact import Redactor, redact
from ._runme import RunmeImport, import_runme, scan_runme

__all__ = [
    "EVENTS_BY_TYPE",
    "EVENT_TYPES",
    "MAX_OUTPUT_CHARS",
    "SCHEMA_VERSION",
    "CellExecuted",
    "CellStarted",
    "Event",
    "LearningLog",
    "LearningLogError",
    "LogReader",
    "LogStats",
    "Offset",
    "ReadCounts",
    "Redactor",
    "RunmeImport",
    "SessionEnded",
    "SessionStarted",
    "SuggestedCell",
    "SuggestionAccepted",
    "SuggestionGenerated",
    "SuggestionRejected",
    "SuggestionShown",
    "add_secret_values",
    "bound_text",
    "cell_executed",
    "cell_started",
    "configure",
    "current",
    "emit",
    "import_runme",
    "json_schema",
    "log_paths",
    "read_events",
    "redact",
    "scan_runme",
    "validate",
]
