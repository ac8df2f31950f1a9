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

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol

import httpx2

from ._active import CURRENT_STEP, ActiveStep
from ._data import Attempt, ErrorInfo, now_ns


def _error_type(exc: BaseException) -> str:
    return type(exc).__name__


class _Tee:
    """A response body on its way to the client: counted, its first `budget` bytes kept,
    and the attempt ended once (`on_end` then runs: a plain client's step ends too)."""

    def __init__(
        self,
        step: ActiveStep,
        attempt: Attempt,
        content_type: str,
        budget: int,
        on_end: Callable[[], None] | None = None,
    ) -> None:
        self.step = step
        self.attempt = attempt
        self.content_type = content_type
        self.budget = budget
        self.on_end = on_end
        self.kept: list[bytes] = []
        self.done = False

    def feed(self, chunk: bytes) -> bytes:
        self.attempt.body_bytes += len(chunk)
        if self.budget > 0:
            self.kept.append(chunk[: self.budget])
            self.budget -= len(chunk)
        return chunk

    def end(self, exc: BaseException | None) -> None:
        if self.done:
            return
        self.done = True
        if exc is not None and not isinstance(exc, GeneratorExit):
            self.attempt.error = ErrorInfo(f"{exc}" or _error_type(exc), _error_type(exc))
        self.step.recorder.end_attempt(
            self.step, self.attempt, b"".join(self.kept), self.content_type
        )
        if self.on_end is not None:
            self.on_end()


class _RecordingStream(httpx2.AsyncByteStream):
    """Passes the body through the tee (an SDK's async client)."""

    def __init__(self, inner: Any, tee: _Tee) -> None:
        self._inner = inner
        self._tee = tee

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield self._tee.feed(chunk)
        except BaseException as exc:
            self._tee.end(exc)
            raise
        self._tee.end(None)

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._tee.end(None)


class _SyncRecordingStream(httpx2.SyncByteStream):
    """Passes the body through the tee (a synchronous client)."""

    def __init__(self, inner: Any, tee: _Tee) -> None:
        self._inner = inner
        self._tee = tee

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._inner:
                yield self._tee.feed(chunk)
        except BaseException as exc:
            self._tee.end(exc)
            raise
        self._tee.end(None)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._tee.end(None)


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
            response.stream, _Tee(step, attempt, content_type, self._body_budget)
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

        def end_step() -> None:
            self._recorder.finish_http_step(step, attempt.status_code, attempt.error)

        tee = _Tee(
            step, attempt, response.headers.get("content-type", ""), self._body_budget, end_step
        )
        response.stream = _SyncRecordingStream(response.stream, tee)
        return response

    def close(self) -> None:
        self._inner.close()
