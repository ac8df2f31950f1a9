"""The copilot's passes over the learning log read it with `learnlog.LogReader` (given
the event types a pass wants, it decodes only those), each as a `learnlog.LogConsumer`
(its lock, its stored offset, fenced commits); this module keeps what they share."""

from __future__ import annotations

from datetime import datetime

from ..learnlog import LogReader, decode_head, decode_line, top_level_string
from ..learnlog import ScanEvent as Event


def seconds_between(start: str, end: str) -> float | None:
    """Seconds from one event time (RFC 3339) to another; None if either is unreadable."""
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return None


__all__ = [
    "Event",
    "LogReader",
    "decode_head",
    "decode_line",
    "seconds_between",
    "top_level_string",
]
