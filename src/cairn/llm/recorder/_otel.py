"""OTLP/JSON export of one recorded run: the run, its steps and their attempts as spans
that follow the OpenTelemetry GenAI and HTTP semantic conventions.

`export_otel(tree)` builds the spans with the OpenTelemetry SDK (a private tracer
provider per export, never the global one) and returns the body an OTLP/HTTP collector
accepts with `Content-Type: application/json`. Ids derive from the run id, so exporting
the same run twice yields the same trace and span ids.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from google.protobuf.json_format import MessageToDict
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, Tracer, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from ... import __version__
from ._writer import RecorderError

SCOPE = "cairn.llm.recorder"
Attributes = dict[str, Any]

# Spans are built from records, not timed live: nothing the SDK would drop or truncate by
# default (or by OTEL_* limit variables in the environment) should change an export.
_NO_LIMITS = SpanLimits(
    max_attributes=SpanLimits.UNSET,
    max_events=SpanLimits.UNSET,
    max_links=SpanLimits.UNSET,
    max_span_attributes=SpanLimits.UNSET,
    max_event_attributes=SpanLimits.UNSET,
    max_link_attributes=SpanLimits.UNSET,
    max_attribute_length=SpanLimits.UNSET,
    max_span_attribute_length=SpanLimits.UNSET,
)
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_SECRET_QUERY = ("key", "token", "sig", "signature", "secret", "password", "credential")


def export_otel(tree: dict[str, Any], *, include_content: bool = False) -> dict[str, Any]:
    """The run `tree` (as `RecordStore.tree` returns it) as an OTLP/JSON
    `ExportTraceServiceRequest`: a run span → one span per step → one per attempt.

    Message contents (and the run's title, which is taken from the last user message)
    stay out unless `include_content`, as the GenAI conventions make content opt-in.
    Raises RecorderError when OTEL_SDK_DISABLED turns the SDK off.
    """
    run = tree["run"]
    ids = _RecordIds(str(run["id"]))
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        sampler=ALWAYS_ON,
        resource=_resource(run),
        shutdown_on_exit=False,
        id_generator=ids,
        span_limits=_NO_LIMITS,
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        tracer = provider.get_tracer(SCOPE, __version__)
        if not isinstance(tracer, Tracer):
            raise RecorderError("OTEL_SDK_DISABLED is set: unset it to export OpenTelemetry spans")
        _emit_run(tracer, ids, tree, include_content)
        spans = exporter.get_finished_spans()
    finally:
        provider.shutdown()
    return _otlp_json(_in_order(spans, ids.order))


# -- ids ---------------------------------------------------------------------------------


def trace_id_for(run_id: str) -> int:
    """The 128-bit trace id of a run's export: a hash of the run id."""
    return _hash_id(16, "trace", run_id)


def span_id_for(run_id: str, *path: object) -> int:
    """The 64-bit span id of a run (no path), a step ("step", seq) or an attempt
    ("attempt", step, seq)."""
    return _hash_id(8, "span", run_id, *path)


def _hash_id(size: int, *parts: object) -> int:
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=size).digest()
    return int.from_bytes(digest, "big") or 1  # an all-zero id is invalid


class _RecordIds(IdGenerator):
    """Ids from the record a span stands for; `path` is set before each span starts."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.path: tuple[object, ...] = ()
        self.order: list[int] = []  # span ids in the order spans were started

    def generate_trace_id(self) -> int:
        return trace_id_for(self.run_id)

    def generate_span_id(self) -> int:
        span_id = span_id_for(self.run_id, *self.path)
        self.order.append(span_id)
        return span_id


# -- spans -------------------------------------------------------------------------------


def _emit_run(tracer: Tracer, ids: _RecordIds, tree: dict[str, Any], content: bool) -> None:
    run = tree["run"]
    steps: list[dict[str, Any]] = tree.get("steps") or []
    start = int(run["started_ns"])
    ids.path = ()
    span = tracer.start_span(
        _run_name(run, content),
        kind=SpanKind.INTERNAL,
        attributes=_run_attributes(run, steps, content),
        links=_run_links(run, tree.get("children") or []),
        start_time=start,
    )
    _set_outcome(span, run)
    # OTLP needs an end time: a run still in progress ends at the last time anything in
    # it was recorded, and a step or attempt still open ends where its parent ends.
    end = _end_ns(run, start, _last_known_ns(start, _all_records(steps)))
    parent = trace.set_span_in_context(span)
    for step in steps:
        _emit_step(tracer, ids, parent, step, end, content)
    span.end(end_time=end)


def _emit_step(
    tracer: Tracer,
    ids: _RecordIds,
    parent: Context,
    step: dict[str, Any],
    parent_end: int,
    content: bool,
) -> None:
    attempts: list[dict[str, Any]] = step.get("attempt_records") or []
    start = int(step["started_ns"])
    ids.path = ("step", step.get("seq"))
    span = tracer.start_span(
        f"{_operation(step)} {step.get('request_model') or ''}".rstrip(),
        context=parent,
        kind=SpanKind.CLIENT,
        attributes=_step_attributes(step, content),
        start_time=start,
    )
    _add_events(span, step)
    _set_outcome(span, step)
    end = _end_ns(step, start, parent_end)
    context = trace.set_span_in_context(span)
    for attempt in attempts:
        _emit_attempt(tracer, ids, context, attempt, end)
    span.end(end_time=end)


def _emit_attempt(
    tracer: Tracer, ids: _RecordIds, parent: Context, attempt: dict[str, Any], parent_end: int
) -> None:
    start = int(attempt["started_ns"])
    ids.path = ("attempt", attempt.get("step"), attempt.get("seq"))
    method = str(attempt.get("method") or "HTTP").upper()
    span = tracer.start_span(
        method,
        context=parent,
        kind=SpanKind.CLIENT,
        attributes=_attempt_attributes(attempt, method),
        start_time=start,
    )
    _add_events(span, attempt)
    error = attempt.get("error") or {}
    code = attempt.get("status_code")
    failed_status = code is not None and int(code) >= 400
    if error or failed_status:
        # HTTP conventions: a 4xx/5xx response's error.type is its status code; a try
        # that got no such response names what went wrong instead.
        kind = str(code) if failed_status else str(error.get("type") or "error")
        span.set_attribute("error.type", kind)
        span.set_status(Status(StatusCode.ERROR, str(error.get("message") or f"HTTP {code}")))
    span.end(end_time=_end_ns(attempt, start, parent_end))


def _run_name(run: dict[str, Any], content: bool) -> str:
    kind = str(run.get("kind") or "other")
    if kind == "agent_turn":
        return f"invoke_agent {_agent_name(run)}"
    title = " ".join(str(run.get("title") or "").split())[:60]
    return f"{kind} {title}" if content and title else kind


def _agent_name(run: dict[str, Any]) -> str:
    return str((run.get("attrs") or {}).get("agent") or "cairn")


def _set_outcome(span: trace.Span, record: dict[str, Any]) -> None:
    """ERROR status and `error.type` for a failed or interrupted run or step; success
    leaves the status unset, as the conventions ask of instrumentation."""
    status = record.get("status")
    if status not in ("error", "interrupted"):
        return
    error = record.get("error") or {}
    span.set_attribute("error.type", str(error.get("type") or status))
    span.set_status(Status(StatusCode.ERROR, str(error.get("message") or status)))


def _add_events(span: trace.Span, record: dict[str, Any]) -> None:
    for key, name in (
        ("first_byte_ns", "cairn.first_byte"),
        ("first_token_ns", "cairn.first_token"),
    ):
        if record.get(key) is not None:
            span.add_event(name, timestamp=int(record[key]))


def _run_links(run: dict[str, Any], children: Sequence[dict[str, Any]]) -> list[Link]:
    """Links to the root spans of the parent and child runs (each its own trace), which
    resolve when those runs are exported too."""
    links = []
    if run.get("parent_id"):
        links.append(_run_link(str(run["parent_id"]), "parent_run"))
    links.extend(_run_link(str(child["id"]), "child_run") for child in children)
    return links


def _run_link(run_id: str, relation: str) -> Link:
    context = SpanContext(
        trace_id_for(run_id),
        span_id_for(run_id),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return Link(context, {"cairn.link": relation, "cairn.run.id": run_id})


# -- attributes --------------------------------------------------------------------------


def _resource(run: dict[str, Any]) -> Resource:
    owner = run.get("owner") or {}
    return Resource(
        _present(
            {
                "service.name": "cairn",
                "service.version": __version__,
                "host.name": owner.get("host"),
                "process.pid": owner.get("pid"),
            }
        )
    )


def _run_attributes(
    run: dict[str, Any], steps: Sequence[dict[str, Any]], content: bool
) -> Attributes:
    summary = run.get("summary") or {}
    attributes: Attributes = {
        "cairn.run.id": run.get("id"),
        "cairn.run.kind": run.get("kind"),
        "cairn.run.status": run.get("status"),
        "cairn.run.parent_id": run.get("parent_id"),
        "cairn.run.steps": len(steps),
        "cairn.cost_usd": summary.get("cost_usd"),
        "gen_ai.usage.input_tokens": summary.get("input_tokens"),
        "gen_ai.usage.output_tokens": summary.get("output_tokens"),
    }
    if content:
        attributes["cairn.run.title"] = run.get("title") or None
    if run.get("kind") == "agent_turn":
        attributes["gen_ai.operation.name"] = "invoke_agent"
        attributes["gen_ai.agent.name"] = _agent_name(run)
        providers = {step.get("provider") for step in steps}
        if len(providers) == 1:
            attributes["gen_ai.provider.name"] = providers.pop()
    for key, value in (run.get("attrs") or {}).items():
        attributes[f"cairn.run.attrs.{key}"] = str(value)
    return _present(attributes)


def _operation(step: dict[str, Any]) -> str:
    """The GenAI operation name: local models complete text, the others chat."""
    if step.get("mode") == "embed":
        return "embeddings"
    return "text_completion" if step.get("provider") == "local" else "chat"


def _step_attributes(step: dict[str, Any], content: bool) -> Attributes:
    request = _dict(step.get("request"))
    response = _dict(step.get("response"))
    usage = _dict(step.get("usage"))
    attempts = step.get("attempt_records") or []
    provider = step.get("provider")
    attributes: Attributes = {
        "gen_ai.operation.name": _operation(step),
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,  # the name before gen_ai.provider.name, still widely read
        "gen_ai.request.model": step.get("request_model"),
        "gen_ai.response.model": step.get("response_model") or response.get("model"),
        "gen_ai.response.id": response.get("response_id"),
        "gen_ai.response.finish_reasons": _list(step.get("finish_reason")),
        "gen_ai.usage.input_tokens": usage.get("input_tokens"),
        "gen_ai.usage.output_tokens": usage.get("output_tokens"),
        "gen_ai.usage.cache_read.input_tokens": usage.get("cache_read_tokens") or None,
        "gen_ai.usage.cache_creation.input_tokens": usage.get("cache_write_tokens") or None,
        "gen_ai.response.time_to_first_chunk": _seconds(step, "first_token_ns"),
        "gen_ai.embeddings.dimension.count": response.get("dimensions"),
        "gen_ai.request.stream": step.get("mode") == "stream" or None,
        "cairn.step.seq": step.get("seq"),
        "cairn.step.mode": step.get("mode"),
        "cairn.step.status": step.get("status"),
        "cairn.step.attempts": step.get("attempts"),
        "cairn.cost_usd": step.get("cost_usd"),
        "cairn.time_to_first_byte": _seconds(step, "first_byte_ns"),
        "cairn.tool_call.names": [str(c.get("name")) for c in step.get("tool_calls") or []],
        **_options(_dict(request.get("options"))),
        **_error_details(step),
        **_server(str(attempts[-1].get("url") or "") if attempts else ""),
        **{f"cairn.stream.{k}": v for k, v in _dict(step.get("stream")).items()},
    }
    if content:
        attributes.update(_content(request, response, step))
    return _present(attributes)


def _options(options: dict[str, Any]) -> Attributes:
    return {
        "gen_ai.request.temperature": options.get("temperature"),
        "gen_ai.request.max_tokens": options.get("max_tokens"),
        "gen_ai.request.seed": options.get("seed"),
        "gen_ai.request.stop_sequences": [str(s) for s in options.get("stop") or []],
    }


def _error_details(record: dict[str, Any]) -> Attributes:
    error = record.get("error") or {}
    return {
        "cairn.error.provider_status": error.get("provider_status"),
        "cairn.error.retryable": error.get("retryable") if error else None,
    }


def _attempt_attributes(attempt: dict[str, Any], method: str) -> Attributes:
    url = str(attempt.get("url") or "")
    seq = int(attempt.get("seq") or 1)
    return _present(
        {
            "http.request.method": method,
            "url.full": _safe_url(url) or None,
            **_server(url),
            "http.response.status_code": attempt.get("status_code"),
            "http.request.resend_count": seq - 1 if seq > 1 else None,
            "http.response.body.size": attempt.get("body_bytes") or None,
            "cairn.attempt.seq": seq,
            "cairn.time_to_first_byte": _seconds(attempt, "first_byte_ns"),
            **_error_details(attempt),
        }
    )


def _server(url: str) -> Attributes:
    parts = urlsplit(url)
    port = parts.port if parts.port is not None else {"https": 443, "http": 80}.get(parts.scheme)
    return {"server.address": parts.hostname, "server.port": port}


def _safe_url(url: str) -> str:
    """The URL with credentials in its user info or query replaced, as the HTTP
    conventions require of `url.full`."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        parts = parts._replace(netloc="REDACTED:REDACTED@" + parts.netloc.rsplit("@", 1)[1])
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(_is_secret(k) for k, _ in query):
        redacted = [(k, "REDACTED" if _is_secret(k) else v) for k, v in query]
        parts = parts._replace(query=urlencode(redacted, safe="/:"))
    return urlunsplit(parts)


def _is_secret(name: str) -> bool:
    return any(word in name.lower() for word in _SECRET_QUERY)


def _seconds(record: dict[str, Any], key: str) -> float | None:
    at, start = record.get(key), record.get("started_ns")
    return None if at is None or start is None else (int(at) - int(start)) / 1e9


# -- content (opt-in) --------------------------------------------------------------------


def _content(request: dict[str, Any], response: dict[str, Any], step: dict[str, Any]) -> Attributes:
    """The GenAI content attributes, as JSON strings in the conventions' message schema."""
    attributes: Attributes = {}
    messages = request.get("messages")
    if isinstance(messages, list):
        attributes["gen_ai.input.messages"] = _json([_input_message(m) for m in messages])
    elif isinstance(request.get("prompt"), str):
        attributes["gen_ai.input.messages"] = _json([_message("user", request["prompt"])])
    tools = request.get("tools")
    if isinstance(tools, list) and tools:
        attributes["gen_ai.tool.definitions"] = _json([_tool(t) for t in tools])
    if "text" in response or step.get("tool_calls"):
        output = _message("assistant", str(response.get("text") or ""), step.get("tool_calls"))
        output["finish_reason"] = step.get("finish_reason") or "unknown"
        attributes["gen_ai.output.messages"] = _json([output])
    return attributes


def _input_message(message: Any) -> dict[str, Any]:
    message = _dict(message)
    role = str(message.get("role") or "user")
    content = str(message.get("content") or "")
    if role == "tool":
        part = {
            "type": "tool_call_response",
            "id": message.get("tool_call_id"),
            "response": content,
        }
        return {"role": role, "parts": [part]}
    return _message(role, content, message.get("tool_calls"))


def _message(role: str, text: str, calls: Iterable[Any] | None = None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "content": text}] if text else []
    for call in calls or []:
        call = _dict(call)
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": call.get("name"),
                "arguments": _maybe_json(call.get("arguments")),
            }
        )
    return {"role": role, "parts": parts}


def _tool(tool: Any) -> dict[str, Any]:
    tool = _dict(tool)
    return {
        "type": "function",
        "name": tool.get("name"),
        "description": tool.get("description"),
        "parameters": tool.get("parameters"),
    }


def _maybe_json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# -- plumbing ----------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[str]:
    return [str(value)] if value is not None else []


def _present(attributes: Attributes) -> Attributes:
    """Only the attributes with a value: OpenTelemetry rejects None and empty lists add
    nothing."""
    return {k: v for k, v in attributes.items() if v is not None and v != []}


def _all_records(steps: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    records = list(steps)
    for step in steps:
        records.extend(step.get("attempt_records") or [])
    return records


def _end_ns(record: dict[str, Any], start: int, open_end: int) -> int:
    """When `record` ended, or `open_end` while it is still open; never before `start`."""
    ended = record.get("ended_ns")
    return max(start, open_end if ended is None else int(ended))


def _last_known_ns(start: int, records: Iterable[dict[str, Any]]) -> int:
    """The latest time any of `records` saw, or `start`."""
    keys = ("started_ns", "first_byte_ns", "first_token_ns", "ended_ns")
    times = [int(r[k]) for r in records for k in keys if r.get(k) is not None]
    return max([start, *times])


def _in_order(spans: Sequence[ReadableSpan], order: list[int]) -> list[ReadableSpan]:
    """Spans as they were started (run, step, its attempts, next step…), not as they
    ended, so the JSON reads top down."""
    rank = {span_id: i for i, span_id in enumerate(order)}
    return sorted(spans, key=lambda s: rank.get(s.context.span_id if s.context else 0, 0))


def _otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """The protobuf JSON mapping of the request, with OTLP's one deviation that matters
    here: trace and span ids are hex strings, not base64 (enums are integers too)."""
    data: dict[str, Any] = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    for resource_spans in data.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                _hex_ids(span)
                for link in span.get("links", []):
                    _hex_ids(link)
    return data


def _hex_ids(record: dict[str, Any]) -> None:
    for key in _ID_FIELDS:
        if key in record:
            record[key] = base64.b64decode(record[key]).hex()
