"""The copilot's passes over the learning log read it with `learnlog.LogScan` (fast,
decoding only the event types a pass wants), each as a `learnlog.LogConsumer` (its lock,
its stored offset, fenced commits); this module keeps what they share on top."""

from __future__ import annotations

from datetime import datetime

from ..learnlog import LogScan, decode_head, decode_line, top_level_string
from ..learnlog import ScanEvent as Event


def seconds_between(start: str, end: str) -> float | None:
    """Seconds from one event time (RFC 3339) to another; None if either is unreadable."""
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return None


__all__ = [
    "Event",
    "LogScan",
    "decode_head",
    "decode_line",
    "seconds_between",
    "top_level_string",
]
