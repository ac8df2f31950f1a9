"""The agent's records in the debug recorder: each tool execution and each speculative
model call becomes a step of the turn's run (modes `tool` and `speculation`), next to
the model calls, so `cairn debug show` tells a claimed guess from a wasted one."""

from __future__ import annotations

from typing import Any

from ..llm.recorder import Recorder


class RecorderTracer:
    """A `Tracer` writing into `recorder` (the run is the one active around the turn)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def tool(self, record: dict[str, Any]) -> None:
        keys = ("arguments", "source", "speculative")
        request: dict[str, Any] = {k: record[k] for k in keys if k in record}
        self.recorder.add_event_step(
            "tool", str(record.get("tool")), request, record, seconds=record.get("seconds", 0.0)
        )

    def speculation(self, record: dict[str, Any]) -> None:
        self.recorder.add_event_step(
            "speculation", "next model call", {}, record, seconds=record.get("seconds", 0.0)
        )
