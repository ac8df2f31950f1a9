"""What the recorder stores for a run, a step and an attempt: their records as JSON-ready
dicts, every part redacted and capped by the `Scrubber` on the way. Runs in the
recorder's writer thread, so a model call never pays for it."""

from __future__ import annotations

import dataclasses
from typing import Any

from .._types import Request, Response
from ._data import Attempt, ErrorInfo, Run, Step
from ._redact import Scrubber


def _normal(value: Request | Response | dict[str, Any]) -> dict[str, Any]:
    return value if isinstance(value, dict) else dataclasses.asdict(value)


class Serializer:
    """Records of runs, steps and attempts, redacted and capped by `scrubber`."""

    def __init__(self, scrubber: Scrubber) -> None:
        self.scrubber = scrubber

    def error(self, error: ErrorInfo | None) -> dict[str, Any] | None:
        if error is None:
            return None
        return dataclasses.asdict(error) | {"message": self.scrubber.data(error.message)}

    def run(self, run: Run) -> dict[str, Any]:
        record = run.to_dict()
        record["title"] = self.scrubber.data(run.title)
        record["attrs"] = self.scrubber.data(run.attrs)
        record["error"] = self.error(run.error)
        return record

    def step(
        self,
        step: Step,
        request: Request | dict[str, Any],
        response: Response | dict[str, Any] | None,
    ) -> dict[str, Any]:
        record = dataclasses.asdict(dataclasses.replace(step, error=None))
        record["request"] = self.scrubber.data(_normal(request))
        if response is not None:
            record["response"] = self.scrubber.data(_normal(response))
        record["error"] = self.error(step.error)
        return record

    def attempt(self, attempt: Attempt, body: bytes, content_type: str) -> dict[str, Any]:
        s = self.scrubber
        record = dataclasses.asdict(dataclasses.replace(attempt, error=None))
        record["url"] = s.url(attempt.url)
        record["request_headers"] = s.headers(attempt.request_headers)
        record["request_body"] = s.body(attempt.request_body, "application/json")
        record["response_headers"] = s.headers(attempt.response_headers)
        record["response_body"] = s.body(body, content_type)
        record["error"] = self.error(attempt.error)
        return record
