"""Reading learning-log lines cheaply: `decode_line` (a whole line, with orjson),
`decode_head` (the fields before a given one: what a cell's output would cost is not
paid) and `top_level_string` (one string field, without decoding the line). A pass that
wants a few event types hands them to `LogReader` as its `readers`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

import orjson

Event = dict[str, Any]
ScanEvent = Event  # as `cairn.learnlog` exports it (its `Event` is the typed event base)
LineReader = Callable[[bytes], Event | None]


_SHORT_LINE = 2048  # bytes: a line this short is decoded whole (measured: cheaper than a cut)


def decode_line(line: bytes) -> Event:
    """A learning-log line as an event; ValueError when it is not a JSON object with a type.

    orjson, not `json`: decoding is most of what a pass costs, and orjson decodes the
    bytes as they are (no `str` first) several times faster."""
    event = orjson.loads(line)  # JSONDecodeError is a ValueError; so is invalid UTF-8
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise ValueError("not an event")
    return event


def decode_head(line: bytes, stop: bytes, needs: Collection[str]) -> Event:
    """The fields of a canonical line before the top-level field `stop` (`b'"stdout":'`),
    decoded without the rest: what a cell's output would cost is not paid. Falls back to
    the whole line when the fields in `needs` are not all before `stop`, and decodes a
    short line whole at once (cutting it costs more than decoding what it holds)."""
    if len(line) <= _SHORT_LINE:
        return decode_line(line)
    cut = line.find(b"," + stop)
    if cut > 0:
        try:
            head = decode_line(line[:cut] + b"}")
        except ValueError:
            pass
        else:
            if all(key in head for key in needs):
                return head
    return decode_line(line)


_FIELD_PATTERNS: dict[bytes, re.Pattern[bytes]] = {}


def top_level_string(line: bytes, key: bytes) -> str | None:
    """The value of a top-level string field of a canonical line without nested objects,
    read without decoding the line; None when absent or escaped.

    `key` is the field name with its quotes and colon and the value's opening quote
    (`b'"known_id":"'`). In JSON a quote inside a string is always escaped, so `,` + key
    can only be the field itself.
    """
    pattern = _FIELD_PATTERNS.get(key)
    if pattern is None:
        pattern = _FIELD_PATTERNS[key] = re.compile(b"," + re.escape(key) + rb'([^"\\]*)"')
    # One C-level search: this runs for nearly every execution in the log.
    found = pattern.search(line)
    if found is None:
        return None  # absent, or escaped (the value has a backslash)
    try:
        return found.group(1).decode()
    except UnicodeDecodeError:
        return None


__all__ = [
    "Event",
    "LineReader",
    "ScanEvent",
    "decode_head",
    "decode_line",
    "top_level_string",
]
