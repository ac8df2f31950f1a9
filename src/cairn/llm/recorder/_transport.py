"""Attempts: an `httpx2` transport that records every HTTP try an SDK makes.

The OpenAI and Anthropic SDKs (built on `httpx2`) retry inside one `create()` call; each
retry passes through `handle_async_request`, so each becomes its own attempt of the step
that is current in the calling task (a context variable set by the recording model).
Requests made outside a recorded step pass straight through.

The response body is teed as the SDK reads it, up to a byte budget, so a streamed answer
is recorded without being buffered whole; the attempt ends when the body is closed.

`HTTPRecordingTransport` is the same for any synchronous `httpx2` client that is not a
model (the bot's GitHub client): each request is a step of mode `http` with one attempt,
in the run current in the calling context or a run of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

import httpx2

from ._active import CURRENT_STEP, ActiveStep
from ._data import Attempt, ErrorInfo, now_ns


def _error_type(exc: BaseException) -> str:
    return type(exc).__name__


class _RecordingStream(httpx2.AsyncByteStream):
    """Passes the body through, keeping up to `budget` bytes, and ends the attempt."""

    def __init__(
        self, inner: Any, step: ActiveStep, attempt: Attempt, content_type: str, budget: int
    ) -> None:
        self._inner = inner
        self._step = step
        self._attempt = attempt
        self._content_type = content_type
        self._budget = budget
        self._kept: list[bytes] = []
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                self._attempt.body_bytes += len(chunk)
                if self._budget > 0:
                    self._kept.append(chunk[: self._budget])
                    self._budget -= len(chunk)
                yield chunk
        except BaseException as exc:
            self._end(exc)
            raise
        self._end(None)

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._end(None)

    def _end(self, exc: BaseException | None) -> None:
        if self._done:
            return
        self._done = True
        if exc is not None and not isinstance(exc, GeneratorExit):
            self._attempt.error = ErrorInfo(f"{exc}" or _error_type(exc), _error_type(exc))
        self._step.recorder.end_attempt(
            self._step, self._attempt, b"".join(self._kept), self._content_type
        )


class RecordingTransport(httpx2.AsyncBaseTransport):
    def __init__(self, inner: httpx2.AsyncBaseTransport, body_budget: int) -> None:
        self._inner = inner
        self._body_budget = body_budget

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        step = CURRENT_STEP.get()
        if step is None:
            return await self._inner.handle_async_request(request)
        try:
            body = request.content
        except httpx2.RequestNotRead:  # a streaming upload: not recorded
            body = b""
        attempt = step.recorder.start_attempt(
            step, request.method, str(request.url), dict(request.headers), body
        )
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException as exc:
            attempt.error = ErrorInfo(str(exc) or _error_type(exc), _error_type(exc), None, True)
            step.recorder.end_attempt(step, attempt, b"", "")
            raise
        attempt.first_byte_ns = now_ns()
        attempt.status_code = response.status_code
        attempt.response_headers = dict(response.headers)
        if response.status_code >= 400:
            retryable = response.status_code == 429 or response.status_code >= 500
            attempt.error = ErrorInfo(
                f"HTTP {response.status_code}", "http_status", response.status_code, retryable
            )
        step.first_byte(attempt.first_byte_ns)
        content_type = response.headers.get("content-type", "")
        response.stream = _RecordingStream(
            response.stream, step, attempt, content_type, self._body_budget
        )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class StepSource(Protocol):
    """What the HTTP transport needs of the recorder: a step per request, its attempts."""

    def start_http_step(
        self, provider: str, name: str, request: dict[str, Any], kind: str
    ) -> ActiveStep: ...

    def finish_http_step(
        self, active: ActiveStep, status_code: int | None, error: ErrorInfo | None
    ) -> None: ...


class _SyncRecordingStream(httpx2.SyncByteStream):
    """Passes the body through, keeping up to `budget` bytes; ends attempt and step."""

    def __init__(
        self,
        inner: Any,
        recorder: StepSource,
        step: ActiveStep,
        attempt: Attempt,
        content_type: str,
        budget: int,
    ) -> None:
        self._inner = inner
        self._recorder = recorder
        self._step = step
        self._attempt = attempt
        self._content_type = content_type
        self._budget = budget
        self._kept: list[bytes] = []
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._inner:
                self._attempt.body_bytes += len(chunk)
                if self._budget > 0:
                    self._kept.append(chunk[: self._budget])
                    self._budget -= len(chunk)
                yield chunk
        except BaseException as exc:
            self._end(exc)
            raise
        self._end(None)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._end(None)

    def _end(self, exc: BaseException | None) -> None:
        if self._done:
            return
        self._done = True
        if exc is not None and not isinstance(exc, GeneratorExit):
            self._attempt.error = ErrorInfo(f"{exc}" or _error_type(exc), _error_type(exc))
        step = self._step
        step.recorder.end_attempt(step, self._attempt, b"".join(self._kept), self._content_type)
        self._recorder.finish_http_step(step, self._attempt.status_code, self._attempt.error)


class HTTPRecordingTransport(httpx2.BaseTransport):
    """Records every request of a synchronous client as a step (mode `http`) of
    `provider` (e.g. "github") with one attempt: headers and bodies redacted and capped
    by the recorder like a model's."""

    def __init__(
        self,
        inner: httpx2.BaseTransport,
        recorder: StepSource,
        provider: str,
        kind: str,
        body_budget: int,
    ) -> None:
        self._inner = inner
        self._recorder = recorder
        self._provider = provider
        self._kind = kind
        self._body_budget = body_budget

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            body = request.content
        except httpx2.RequestNotRead:  # a streaming upload: not recorded
            body = b""
        url = str(request.url)
        step = self._recorder.start_http_step(
            self._provider, request.url.path, {"method": request.method, "url": url}, self._kind
        )
        attempt = step.recorder.start_attempt(
            step, request.method, url, dict(request.headers), body
        )
        try:
            response = self._inner.handle_request(request)
        except BaseException as exc:
            attempt.error = ErrorInfo(str(exc) or _error_type(exc), _error_type(exc), None, True)
            step.recorder.end_attempt(step, attempt, b"", "")
            self._recorder.finish_http_step(step, None, attempt.error)
            raise
        attempt.first_byte_ns = now_ns()
        attempt.status_code = response.status_code
        attempt.response_headers = dict(response.headers)
        if response.status_code >= 400:
            retryable = response.status_code in (403, 429) or response.status_code >= 500
            attempt.error = ErrorInfo(
                f"HTTP {response.status_code}", "http_status", response.status_code, retryable
            )
        step.first_byte(attempt.first_byte_ns)
        response.stream = _SyncRecordingStream(
            response.stream,
            self._recorder,
            step,
            attempt,
            response.headers.get("content-type", ""),
            self._body_budget,
        )
        return response

    def close(self) -> None:
        self._inner.close()
