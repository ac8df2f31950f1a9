"""Console log lines (text and JSON) pass the same redaction as what Cairn persists."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from cairn.cli._settings import _JsonFormatter, _TextFormatter


def _record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError("connect postgres://app:Tr0ub4dor&3x@db/app failed")
        except RuntimeError:
            exc_info = sys.exc_info()
    return logging.LogRecord("cairn.x", logging.WARNING, __file__, 1, message, args, exc_info)


@pytest.mark.parametrize("formatter", [_TextFormatter(colour=False), _JsonFormatter()])
def test_secrets_in_log_messages_and_tracebacks_are_redacted(
    formatter: logging.Formatter,
) -> None:
    line = formatter.format(_record("ran %r", "export GITHUB_TOKEN=ghp_R7tYb2Kq9LmN4pX8sV1wZ3cD"))
    assert "ghp_R7tYb2Kq9LmN4pX8sV1wZ3cD" not in line
    assert "[REDACTED:github]" in line
    with_traceback = formatter.format(_record("failed", exc=True))
    assert "Tr0ub4dor&3x" not in with_traceback
    assert "RuntimeError" in with_traceback
    if isinstance(formatter, _JsonFormatter):
        assert json.loads(with_traceback)["level"] == "warning"
