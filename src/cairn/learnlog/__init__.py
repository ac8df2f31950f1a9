"""The learning log: typed, versioned events of what people ran and were suggested,
written durably as JSON lines under `<config dir>/logs/` for the copilot to learn from.

It is not the console log. It runs at a fixed level that users cannot turn down by
accident (only `--no-learning-logs` switches it off), secrets are redacted before
anything reaches disk (by `cairn.privacy`, the one redaction choke point), and `emit`
returns only once the event is on disk.

The one way in is `emit(event)`: every learning event in Cairn goes through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import lazy
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
    flush,
)
from ._record import cell_executed, cell_started, session_ended, session_started
from ._session import SessionEvents

if TYPE_CHECKING:
    from ..privacy import Redactor, redact
    from ._consumer import LogConsumer
    from ._lines import ScanEvent, decode_head, decode_line, top_level_string
    from ._reader import LogReader, Offset, ReadCounts, log_paths, read_events
    from ._runme import RunmeImport, import_runme, scan_runme
    from ._writer import SegmentWriter

# Readers, the redactor and the Runme importer load on first use: `cairn run` only
# emits, and every millisecond of its start-up counts.
_LAZY = {
    "LogConsumer": "._consumer",
    "ScanEvent": "._lines",
    "decode_head": "._lines",
    "decode_line": "._lines",
    "top_level_string": "._lines",
    "LogReader": "._reader",
    "Offset": "._reader",
    "ReadCounts": "._reader",
    "log_paths": "._reader",
    "read_events": "._reader",
    "Redactor": "..privacy",
    "redact": "..privacy",
    "RunmeImport": "._runme",
    "import_runme": "._runme",
    "scan_runme": "._runme",
    "SegmentWriter": "._writer",
}


__getattr__ = lazy.exports(__name__, _LAZY)


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
    "LogConsumer",
    "LogReader",
    "LogStats",
    "Offset",
    "ReadCounts",
    "Redactor",
    "RunmeImport",
    "ScanEvent",
    "SegmentWriter",
    "SessionEnded",
    "SessionEvents",
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
    "decode_head",
    "decode_line",
    "emit",
    "flush",
    "import_runme",
    "json_schema",
    "log_paths",
    "read_events",
    "redact",
    "scan_runme",
    "session_ended",
    "session_started",
    "top_level_string",
    "validate",
]
