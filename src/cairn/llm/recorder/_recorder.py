"""The recorder: runs, steps and attempts captured around any `Model`, written in the
background so a recorded call costs well under a millisecond more than an unrecorded one.

    recorder = Recorder(RecordStore(kv))
    model = recorder.wrap(open_model("openai:gpt-4o-mini"), kind="prompt")
    with recorder.run("agent_turn", title="fix the disk"):
        await model.generate(request)        # one step, one attempt per HTTP try

A call outside `recorder.run(...)` gets a run of its own (the wrapper's kind). Steps
finish exactly once: the first finisher wins (a lock per step), and the store refuses to
move a status backwards, so a sweep in another process cannot undo a completion.

This module owns the lifecycle (runs, steps, attempts and who finishes them); writes go
through the background writer (`_writer`: group commit, retention), which serializes
every record (`_serialize`: redaction and caps) off the model call's path and never lets
a storage failure break a model call: the failure is kept and reported by `flush()`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from typing import Any, Literal

from ...notebook import new_ulid
from .._model import Model
from .._types import (
    Request,
    Response,
    Usage,
)
from ._active import RUN, ActiveRun, ActiveStep
from ._data import Attempt, ErrorInfo, Owner, Run, Status, Step, now_ns, supersedes
from ._prices import PriceTable
from ._recording import RecordingModel
from ._redact import Scrubber
from ._serialize import Serializer
from ._store import RecordStore
from ._transport import HTTPRecordingTransport, RecordingTransport
from ._writer import BackgroundWriter, Retention

log = logging.getLogger("cairn.llm.recorder")


def _usage(usage: Usage) -> dict[str, int]:
    return dataclasses.asdict(usage)


def _title(request: Request | dict[str, Any]) -> str:
    if isinstance(request, dict):
        return ""
    for message in reversed(request.messages):
        if message.role == "user" and message.content.strip():
            return " ".join(message.content.split())[:80]
    return ""


class Recorder:
    """Records model calls into a RecordStore. Thread-safe; one per process is typical."""

    def __init__(
        self,
        store: RecordStore,
        *,
        scrubber: Scrubber | None = None,
        prices: PriceTable | None = None,
        retention: Retention | None = None,
        close_store: bool = False,
    ) -> None:
        self.store = store
        self.scrubber = scrubber or Scrubber()
        self.prices = prices or PriceTable()
        self.retention = retention or Retention()
        self._owner = Owner.current()
        self._finished_runs = 0
        self._writer = BackgroundWriter(
            store, Serializer(self.scrubber), self.retention, close_store=close_store
        )

    # -- runs ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def run(
        self, kind: str, *, title: str = "", attrs: dict[str, str] | None = None
    ) -> Iterator[ActiveRun]:
        """Record the model calls inside the block as one run (nested runs get a parent)."""
        active = self._open_run(kind, title, attrs or {}, implicit=False)
        token = RUN.set(active)
        status: Status = "completed"
        error: ErrorInfo | None = None
        try:
            yield active
        except (KeyboardInterrupt, GeneratorExit):
            status = "interrupted"
            raise
        except BaseException as exc:
            if type(exc).__name__ == "CancelledError":
                status = "interrupted"
            else:
                name = type(exc).__name__
                status, error = "error", ErrorInfo(str(exc) or name, name)
            raise
        finally:
            with contextlib.suppress(ValueError):  # reset from another context: nothing to undo
                RUN.reset(token)
            self._close_run(active, status, error)

    def _open_run(self, kind: str, title: str, attrs: dict[str, str], implicit: bool) -> ActiveRun:
        parent = RUN.get()
        run = Run(
            id=new_ulid(),
            kind=kind,
            started_ns=now_ns(),
            owner=self._owner,
            parent_id=parent.id if parent is not None else None,
            title=title,
            attrs=dict(attrs),
        )
        active = ActiveRun(self, run, implicit)
        self._put_run(active)
        return active

    def _close_run(self, active: ActiveRun, status: Status, error: ErrorInfo | None) -> None:
        with active.lock:
            run = active.run
            if not supersedes(status, run.status):
                return
            if status == "completed" and run.summary.has_error and active.implicit:
                status = "error"
            run.status, run.ended_ns, run.error = status, now_ns(), error
        self._put_run(active)
        self._finished_runs += 1
        if self._finished_runs % max(1, self.retention.every_runs) == 0:
            self._writer.housekeeping()

    def _put_run(self, active: ActiveRun) -> None:
        with active.lock:
            run = active.run
            snapshot = dataclasses.replace(run, summary=dataclasses.replace(run.summary))
        self._writer.put("run", snapshot)

    # -- steps -------------------------------------------------------------------------------

    def start_step(
        self, model: Model, mode: str, request: Request | dict[str, Any], kind: str
    ) -> ActiveStep:
        return self._start_step(model.provider, model.name, mode, request, kind)

    def start_http_step(
        self, provider: str, name: str, request: dict[str, Any], kind: str
    ) -> ActiveStep:
        """A step for one HTTP request of a client that is not a model (mode `http`)."""
        return self._start_step(provider, name, "http", request, kind)

    def finish_http_step(
        self, active: ActiveStep, status_code: int | None, error: ErrorInfo | None
    ) -> None:
        ok = status_code is not None and status_code < 400
        self.finish_step(
            active,
            "completed" if ok else "error",
            response={"status_code": status_code},
            error=None if ok else error,
        )

    def add_event_step(
        self,
        mode: Literal["tool", "speculation"],
        name: str,
        request: dict[str, Any],
        response: dict[str, Any],
        *,
        seconds: float = 0.0,
        kind: str = "agent_turn",
    ) -> None:
        """Record something that happened inside a run without a model call of its own (an
        agent's tool execution, a speculative model call's outcome) as a finished step
        that took `seconds`."""
        active = self._start_step("agent", name, mode, request, kind)
        active.step.started_ns -= int(seconds * 1e9)
        self.finish_step(active, "completed", response=response)

    def _start_step(
        self, provider: str, name: str, mode: str, request: Request | dict[str, Any], kind: str
    ) -> ActiveStep:
        run = RUN.get()
        if run is None or run.recorder is not self:
            run = self._open_run(kind, _title(request), {}, implicit=True)
        with run.lock:
            run.steps += 1
            run.open_steps += 1
            seq = run.steps
            if not run.run.title:
                run.run.title = _title(request)
        step = Step(
            run_id=run.id,
            seq=seq,
            mode=mode,  # type: ignore[arg-type]
            provider=provider,
            request_model=name,
            started_ns=now_ns(),
        )
        active = ActiveStep(self, run, step, request)
        self._writer.put("step", (dataclasses.replace(step), request, None))
        return active

    def finish_step(
        self,
        active: ActiveStep,
        status: Status,
        *,
        response: Response | dict[str, Any] | None = None,
        error: ErrorInfo | None = None,
        stream: dict[str, int] | None = None,
        usage: Usage | None = None,
    ) -> bool:
        """Finish a step; True for the call that took effect, False for later ones."""
        with active.lock:
            if active.done:
                return False
            active.done = True
            step = active.step
            step.status, step.ended_ns, step.error, step.stream = status, now_ns(), error, stream
            if isinstance(response, dict):  # embed(): a summary, not a Response
                active.response = response
                step.response_model = response.get("model")
            elif response is not None:
                active.response = response
                step.response_model = response.model
                step.finish_reason = response.finish_reason
                step.tool_calls = [dataclasses.asdict(c) for c in response.tool_calls]
                usage = usage or response.usage
            if usage is not None:
                step.usage = _usage(usage)
                model = step.response_model or step.request_model
                step.cost_usd = self.prices.cost(step.provider, model, step.usage)
            snapshot = dataclasses.replace(step)
        run = active.run
        with run.lock:
            run.open_steps -= 1
            run.run.summary.add_step(dataclasses.asdict(snapshot))
            run.run.summary.attempts += snapshot.attempts
            last = run.implicit and run.open_steps == 0
        self._writer.put("step", (snapshot, active.request, active.response))
        if last:
            self._close_run(run, "error" if status == "error" else status, error)
        else:
            self._put_run(run)
        return True

    # -- attempts (called by the recording transport) -------------------------------------

    def start_attempt(
        self, active: ActiveStep, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> Attempt:
        with active.lock:
            active.step.attempts += 1
            seq = active.step.attempts
        attempt = Attempt(active.step.run_id, active.step.seq, seq, method, url, now_ns())
        attempt.request_headers = headers
        attempt.request_body = body.decode("utf-8", errors="replace")
        return attempt

    def end_attempt(
        self, active: ActiveStep, attempt: Attempt, body: bytes, content_type: str
    ) -> None:
        attempt.ended_ns = now_ns()
        self._writer.put("attempt", (attempt, body, content_type))

    # -- wrapping --------------------------------------------------------------------------

    def wrap(self, model: Model, *, kind: str = "prompt") -> RecordingModel:
        return RecordingModel(model, self, kind)

    def http_transport(self, provider: str, *, kind: str = "bot_job") -> HTTPRecordingTransport:
        """A recording transport for a synchronous `httpx2.Client` that is not a model's
        (the bot's GitHub client): every request a step of `provider`, mode `http`."""
        import httpx2

        return HTTPRecordingTransport(
            httpx2.HTTPTransport(), self, provider, kind, self.scrubber.part_cap * 4
        )

    def transport(self) -> RecordingTransport:
        """A recording transport over a fresh connection pool (one per wrapped model)."""
        import httpx2

        limits = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)
        return RecordingTransport(
            httpx2.AsyncHTTPTransport(limits=limits), self.scrubber.part_cap * 4
        )

    # -- the writer ------------------------------------------------------------------------

    def flush(self, timeout: float | None = 30.0) -> None:
        """Wait until everything recorded so far is in the store; RecorderError if writing
        failed since the last flush."""
        self._writer.flush(timeout)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
