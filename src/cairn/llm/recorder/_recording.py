"""`RecordingModel`: a `Model` whose every call — generate, stream, and the optional
abilities its inner model has (embed, prefill, score) — is recorded as a step.

It talks to the recorder through `StepRecorder`, so it does not depend on the recorder's
writer; `Recorder.wrap` builds one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from .._capabilities import (
    CanClose,
    CanEmbed,
    CanPrefill,
    CanScore,
    CanSwapHttpClient,
    HasContextWindow,
    HasSecrets,
)
from .._errors import ProviderError
from .._model import Model
from .._types import (
    Embeddings,
    ErrorEvent,
    Finish,
    Request,
    Response,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
    UsageEvent,
)
from ._active import CURRENT_STEP, ActiveStep
from ._data import ErrorInfo, Status, now_ns
from ._redact import Scrubber
from ._transport import RecordingTransport


class StepRecorder(Protocol):
    """What a RecordingModel needs of its recorder (`Recorder` is one)."""

    scrubber: Scrubber

    def start_step(
        self, model: Model, mode: str, request: Request | dict[str, Any], kind: str
    ) -> ActiveStep: ...

    def finish_step(
        self,
        active: ActiveStep,
        status: Status,
        *,
        response: Response | dict[str, Any] | None = None,
        error: ErrorInfo | None = None,
        stream: dict[str, int] | None = None,
        usage: Usage | None = None,
    ) -> bool: ...

    def transport(self) -> RecordingTransport: ...

    def flush(self, timeout: float | None = 30.0) -> None: ...


def _failure(exc: BaseException) -> tuple[Status, ErrorInfo]:
    """The status and error of a call that raised: cancelled calls are interrupted."""
    name = type(exc).__name__
    if isinstance(exc, ProviderError):
        return "error", ErrorInfo(str(exc), name, exc.status, exc.retryable)
    interrupted = isinstance(exc, KeyboardInterrupt | GeneratorExit) or name == "CancelledError"
    return ("interrupted" if interrupted else "error"), ErrorInfo(str(exc) or name, name)


class RecordingModel:
    """A Model that records each call as a step; otherwise it behaves as the model it wraps.

    An instance has exactly the optional abilities (`CanPrefill`, `CanScore`, `CanEmbed`,
    `HasContextWindow`, `CanClose`) of the model it wraps, and records each call of one."""

    def __new__(cls, inner: Model, recorder: StepRecorder, kind: str) -> RecordingModel:
        if cls is RecordingModel:
            cls = _recording_class(inner)
        return super().__new__(cls)

    def __init__(self, inner: Model, recorder: StepRecorder, kind: str) -> None:
        if isinstance(inner, CanSwapHttpClient):
            import httpx2

            client = httpx2.AsyncClient(transport=recorder.transport(), follow_redirects=True)
            inner = inner.with_http_client(client)
        if isinstance(inner, HasSecrets):
            recorder.scrubber.redactor.add_secret_values(inner.secret_values)
        if isinstance(inner, HasContextWindow):
            self.n_ctx = inner.n_ctx
        # Where an OpenAI-compatible model sends its requests (ModelEmbedder names it).
        self.base_url: str | None = getattr(inner, "base_url", None)
        self.inner = inner
        self.recorder = recorder
        self.kind = kind
        self.provider = inner.provider
        self.name = inner.name
        self.last_run_id: str | None = None  # the run of the latest call, for "recorded run X"

    async def generate(self, request: Request) -> Response:
        recorder = self.recorder
        active = recorder.start_step(self.inner, "generate", request, self.kind)
        self.last_run_id = active.run.id
        token = CURRENT_STEP.set(active)
        try:
            response = await self.inner.generate(request)
        except BaseException as exc:
            status, info = _failure(exc)
            recorder.finish_step(active, status, error=info)
            raise
        finally:
            CURRENT_STEP.reset(token)
        recorder.finish_step(active, "completed", response=response)
        return response

    async def stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        recorder = self.recorder
        active = recorder.start_step(self.inner, "stream", request, self.kind)
        self.last_run_id = active.run.id
        counts = {"events": 0, "text_deltas": 0, "tool_call_deltas": 0, "chars": 0}
        text: list[str] = []
        calls = []
        usage: Usage | None = None
        finish: Finish | None = None
        error: ErrorInfo | None = None
        events = self.inner.stream(request).__aiter__()
        try:
            while True:
                # The SDK sends its HTTP requests inside __anext__: mark this step current
                # only around it, so consumers that interleave streams stay apart.
                token = CURRENT_STEP.set(active)
                try:
                    event = await events.__anext__()
                except StopAsyncIteration:
                    break
                finally:
                    CURRENT_STEP.reset(token)
                counts["events"] += 1
                if isinstance(event, TextDelta):
                    if active.step.first_token_ns is None:
                        active.step.first_token_ns = now_ns()
                    counts["text_deltas"] += 1
                    counts["chars"] += len(event.text)
                    text.append(event.text)
                elif isinstance(event, ToolCallStart):
                    if active.step.first_token_ns is None:
                        active.step.first_token_ns = now_ns()
                elif isinstance(event, ToolCallDelta):
                    counts["tool_call_deltas"] += 1
                elif isinstance(event, ToolCallEnd):
                    calls.append(event.call)
                elif isinstance(event, UsageEvent):
                    usage = event.usage
                elif isinstance(event, Finish):
                    finish = event
                elif isinstance(event, ErrorEvent):
                    error = ErrorInfo(event.message, "ProviderError", event.status, event.retryable)
                yield event
        except BaseException as exc:
            status, info = _failure(exc)
            left = isinstance(exc, GeneratorExit)  # the consumer stopped reading: no error
            recorder.finish_step(
                active, status, error=None if left else info, stream=counts, usage=usage
            )
            raise
        finally:
            # Leaving early (or failing) closes the provider's stream and its connection.
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
        response = None
        if finish is not None:
            response = Response(
                text="".join(text),
                tool_calls=tuple(calls),
                finish_reason=finish.reason,
                usage=usage or Usage(),
                response_id=finish.response_id,
                model=finish.model,
            )
        recorder.finish_step(
            active,
            "error" if error is not None or finish is None else "completed",
            response=response,
            error=error,
            stream=counts,
            usage=usage,
        )


def _call_step(model: RecordingModel, mode: str, request: Request | dict[str, Any]) -> ActiveStep:
    active = model.recorder.start_step(model.inner, mode, request, model.kind)
    model.last_run_id = active.run.id
    return active


class _RecordsEmbed(RecordingModel):
    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """The provider's embed(), recorded as a step of mode "embed" (the texts are kept
        in the request, capped and redacted like any other part)."""
        assert isinstance(self.inner, CanEmbed)
        active = _call_step(self, "embed", {"model": self.name, "input": list(texts)})
        token = CURRENT_STEP.set(active)
        try:
            result = await self.inner.embed(texts)
        except BaseException as exc:
            status, info = _failure(exc)
            self.recorder.finish_step(active, status, error=info)
            raise
        finally:
            CURRENT_STEP.reset(token)
        dims = len(result.vectors[0]) if result.vectors else 0
        summary = {"model": result.model, "vectors": len(result.vectors), "dimensions": dims}
        self.recorder.finish_step(active, "completed", response=summary, usage=result.usage)
        return result


class _RecordsPrefill(RecordingModel):
    def prefill(self, request: Request) -> int:
        """The model's prefill, recorded as a step of mode "prefill" (tokens evaluated)."""
        assert isinstance(self.inner, CanPrefill)
        active = _call_step(self, "prefill", request)
        try:
            tokens = self.inner.prefill(request)
        except BaseException as exc:
            status, info = _failure(exc)
            self.recorder.finish_step(active, status, error=info)
            raise
        self.recorder.finish_step(active, "completed", response={"prefilled_tokens": tokens})
        return tokens


class _RecordsScore(RecordingModel):
    def score(self, request: Request, continuations: Sequence[str]) -> list[float]:
        """The model's score, recorded as a step of mode "score" (continuations and their
        log-probabilities)."""
        assert isinstance(self.inner, CanScore)
        active = _call_step(self, "score", request)
        try:
            scores = self.inner.score(request, continuations)
        except BaseException as exc:
            status, info = _failure(exc)
            self.recorder.finish_step(active, status, error=info)
            raise
        response = {"continuations": list(continuations), "scores": list(scores)}
        self.recorder.finish_step(active, "completed", response=response)
        return scores


class _Closes(RecordingModel):
    async def aclose(self) -> None:
        """Close the wrapped model's connections."""
        assert isinstance(self.inner, CanClose)
        await self.inner.aclose()


_ABILITIES: tuple[tuple[type, type[RecordingModel]], ...] = (
    (CanEmbed, _RecordsEmbed),
    (CanPrefill, _RecordsPrefill),
    (CanScore, _RecordsScore),
    (CanClose, _Closes),
)
_CLASSES: dict[tuple[type[RecordingModel], ...], type[RecordingModel]] = {}


def _recording_class(inner: Model) -> type[RecordingModel]:
    """RecordingModel with a recorded method for each optional ability `inner` has."""
    bases = tuple(mixin for ability, mixin in _ABILITIES if isinstance(inner, ability))
    if not bases:
        return RecordingModel
    cls = _CLASSES.get(bases)
    if cls is None:
        cls = _CLASSES[bases] = type("RecordingModel", bases, {"__module__": __name__})
    return cls
