"""The OTLP/JSON export: one trace per run, spans run → step → attempt, GenAI and HTTP
semantic-convention attributes, and content only on request."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from google.protobuf.json_format import ParseDict
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from cairn.llm.recorder import RecorderError
from cairn.llm.recorder._otel import export_otel, span_id_for, trace_id_for

from . import sample_tree as st

INTERNAL, CLIENT = 1, 3  # OTLP SpanKind values
ERROR = 2  # OTLP StatusCode.STATUS_CODE_ERROR


def _spans(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        span
        for resource_spans in data["resourceSpans"]
        for scope_spans in resource_spans["scopeSpans"]
        for span in scope_spans["spans"]
    ]


def _value(value: dict[str, Any]) -> Any:
    """An OTLP AnyValue as a Python value."""
    (kind, inner), *_ = value.items()
    if kind == "intValue":
        return int(inner)
    if kind == "arrayValue":
        return [_value(v) for v in inner.get("values", [])]
    return inner


def _attrs(record: dict[str, Any]) -> dict[str, Any]:
    return {a["key"]: _value(a["value"]) for a in record.get("attributes", [])}


def _named(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [s for s in _spans(data) if s["name"] == name]


def _one(data: dict[str, Any], name: str) -> dict[str, Any]:
    (span,) = _named(data, name)
    return span


def test_all_spans_share_one_trace_id_derived_from_the_run() -> None:
    data = export_otel(st.retried_run())
    trace_ids = {span["traceId"] for span in _spans(data)}
    assert trace_ids == {f"{trace_id_for('R'):032x}"}
    assert export_otel(st.retried_run()) == data  # a re-export is identical
    other = st.retried_run()
    other["run"]["id"] = "R2"
    assert {s["traceId"] for s in _spans(export_otel(other))} != trace_ids


def test_spans_nest_run_then_steps_then_attempts() -> None:
    spans = _spans(export_otel(st.retried_run()))
    assert [s["name"] for s in spans] == [
        "prompt",
        "chat gpt-4o-mini",
        "POST",
        "POST",
        "POST",
        "text_completion gemma3-270m",
    ]
    run, chat, a1, a2, a3, local = spans
    assert "parentSpanId" not in run
    assert run["spanId"] == f"{span_id_for('R'):016x}"
    assert chat["parentSpanId"] == local["parentSpanId"] == run["spanId"]
    assert a1["parentSpanId"] == a2["parentSpanId"] == a3["parentSpanId"] == chat["spanId"]
    assert len({s["spanId"] for s in spans}) == len(spans)
    assert all(len(s["spanId"]) == 16 for s in spans)


def test_step_span_follows_the_genai_conventions() -> None:
    chat = _one(export_otel(st.retried_run()), "chat gpt-4o-mini")
    attrs = _attrs(chat)
    assert chat["kind"] == CLIENT
    assert {k: v for k, v in attrs.items() if k.startswith("gen_ai.")} == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": "chatcmpl-abc",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 30,
        "gen_ai.usage.cache_read.input_tokens": 64,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 256,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ["END"],
        "gen_ai.request.stream": True,
        "gen_ai.response.time_to_first_chunk": pytest.approx(0.7),
    }
    assert attrs["cairn.cost_usd"] == pytest.approx(0.00012)
    assert attrs["cairn.time_to_first_byte"] == pytest.approx(0.6)
    assert attrs["server.address"] == "api.openai.com"
    assert [(e["name"], e["timeUnixNano"]) for e in chat["events"]] == [
        ("cairn.first_byte", str(st.at(600))),
        ("cairn.first_token", str(st.at(700))),
    ]
    assert chat["status"] == {}  # success leaves the status unset


def test_local_step_is_a_text_completion_without_http_children() -> None:
    data = export_otel(st.retried_run())
    local = _one(data, "text_completion gemma3-270m")
    attrs = _attrs(local)
    assert attrs["gen_ai.operation.name"] == "text_completion"
    assert attrs["gen_ai.provider.name"] == "local"
    assert "gen_ai.response.time_to_first_chunk" not in attrs  # generate(): no first token
    assert "server.address" not in attrs
    assert not [s for s in _spans(data) if s.get("parentSpanId") == local["spanId"]]


def test_attempt_spans_carry_http_attributes_and_failures() -> None:
    attempts = _named(export_otel(st.retried_run()), "POST")
    attrs = [_attrs(a) for a in attempts]
    assert [a["http.response.status_code"] for a in attrs] == [429, 500, 200]
    assert [a.get("error.type") for a in attrs] == ["429", "500", None]
    assert [a.get("http.request.resend_count") for a in attrs] == [None, 1, 2]
    assert [a["status"].get("code") for a in attempts] == [ERROR, ERROR, None]
    assert attempts[0]["status"]["message"] == "rate limited, retry after 1s"
    assert all(a["kind"] == CLIENT for a in attempts)
    assert all(a["http.request.method"] == "POST" for a in attrs)
    assert all(a["url.full"] == st.URL for a in attrs)
    assert attrs[2]["server.port"] == 443
    assert attrs[2]["http.response.body.size"] == 2048
    assert attrs[2]["cairn.time_to_first_byte"] == pytest.approx(0.1)
    assert attempts[2]["events"] == [{"name": "cairn.first_byte", "timeUnixNano": str(st.at(600))}]


def test_times_are_nanosecond_strings_from_the_records() -> None:
    run, chat, a1, *_ = _spans(export_otel(st.retried_run()))
    assert (run["startTimeUnixNano"], run["endTimeUnixNano"]) == (str(st.T0), str(st.at(2000)))
    assert (chat["startTimeUnixNano"], chat["endTimeUnixNano"]) == (str(st.T0), str(st.at(1000)))
    assert (a1["startTimeUnixNano"], a1["endTimeUnixNano"]) == (str(st.T0), str(st.at(100)))


def test_failed_step_has_error_status_and_error_type() -> None:
    data = export_otel(st.error_run())
    run, step, attempt = _spans(data)
    assert step["name"] == "chat claude-3-5-haiku-latest"
    assert step["status"] == {"code": ERROR, "message": "max_tokens: must be at most 8192"}
    assert _attrs(step)["error.type"] == "ProviderError"
    assert _attrs(step)["cairn.error.provider_status"] == 400
    assert _attrs(step)["cairn.error.retryable"] is False
    assert _attrs(attempt)["error.type"] == "400"
    assert run["status"]["code"] == ERROR
    assert _attrs(run)["cairn.run.status"] == "error"


def test_open_spans_end_at_the_last_recorded_time() -> None:
    data = export_otel(st.in_progress_run())
    run, step1, attempt1, step2, attempt2, step3 = _spans(data)
    last = str(st.at(900))  # step 3 started last; nothing was recorded after it
    assert run["endTimeUnixNano"] == last
    assert step1["endTimeUnixNano"] == str(st.at(400))  # finished steps keep their end
    assert step2["endTimeUnixNano"] == attempt2["endTimeUnixNano"] == last
    assert step3["startTimeUnixNano"] == step3["endTimeUnixNano"] == last
    assert all(int(s["endTimeUnixNano"]) >= int(s["startTimeUnixNano"]) for s in _spans(data))
    assert step2["status"] == {} and _attrs(step2)["cairn.step.status"] == "in_progress"
    assert attempt1["parentSpanId"] == step1["spanId"]


def test_agent_turn_is_an_invoke_agent_span() -> None:
    run = _spans(export_otel(st.in_progress_run()))[0]
    attrs = _attrs(run)
    assert run["name"] == "invoke_agent cairn"
    assert run["kind"] == INTERNAL
    assert attrs["gen_ai.operation.name"] == "invoke_agent"
    assert attrs["gen_ai.agent.name"] == "cairn"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["cairn.run.kind"] == "agent_turn"
    assert attrs["cairn.run.id"] == "R"


def test_output_parses_back_into_an_export_request() -> None:
    data = json.loads(json.dumps(export_otel(st.retried_run())))
    # OTLP/JSON ids are hex; the plain protobuf JSON mapping that ParseDict reads wants
    # base64, so translate them back first.
    proto_json = copy.deepcopy(data)
    for span in _spans(proto_json):
        for key in ("traceId", "spanId", "parentSpanId"):
            if key in span:
                span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    request = ParseDict(proto_json, ExportTraceServiceRequest())
    (resource_spans,) = request.resource_spans
    (scope_spans,) = resource_spans.scope_spans
    assert scope_spans.scope.name == "cairn.llm.recorder"
    assert len(scope_spans.spans) == 6
    first = scope_spans.spans[0]
    assert first.trace_id == bytes.fromhex(_spans(data)[0]["traceId"])
    assert first.start_time_unix_nano == st.T0
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert resource["service.name"] == "cairn"
    assert resource["host.name"] == "build-host"


def test_message_content_stays_out_by_default() -> None:
    text = json.dumps(export_otel(st.retried_run()))
    for content in (st.QUESTION, st.ANSWER, st.SYSTEM, "summarize"):
        assert content not in text
    assert "gen_ai.input.messages" not in text
    assert "gen_ai.output.messages" not in text
    assert _spans(export_otel(st.retried_run()))[0]["name"] == "prompt"


def test_include_content_adds_the_genai_message_attributes() -> None:
    data = export_otel(st.retried_run(), include_content=True)
    attrs = _attrs(_one(data, "chat gpt-4o-mini"))
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": st.SYSTEM}]},
        {"role": "user", "parts": [{"type": "text", "content": st.QUESTION}]},
    ]
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": st.ANSWER}],
            "finish_reason": "stop",
        }
    ]
    run = _spans(data)[0]
    assert run["name"] == f"prompt {st.QUESTION}"
    assert _attrs(run)["cairn.run.title"] == st.QUESTION


def test_tool_calls_and_results_become_message_parts() -> None:
    tree = st.retried_run()
    step = tree["steps"][0]
    call = {"id": "call_1", "name": "df", "arguments": '{"path": "/"}'}
    step["request"]["messages"] += [
        {"role": "assistant", "content": "", "tool_calls": [call], "tool_call_id": None},
        {"role": "tool", "content": "97% used", "tool_calls": [], "tool_call_id": "call_1"},
    ]
    step["request"]["tools"] = [{"name": "df", "description": "disk usage", "parameters": {}}]
    step["tool_calls"] = [call]
    attrs = _attrs(_one(export_otel(tree, include_content=True), "chat gpt-4o-mini"))
    messages = json.loads(attrs["gen_ai.input.messages"])
    tool_call = {"type": "tool_call", "id": "call_1", "name": "df", "arguments": {"path": "/"}}
    assert messages[2:] == [
        {"role": "assistant", "parts": [tool_call]},
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "call_1", "response": "97% used"}],
        },
    ]
    assert json.loads(attrs["gen_ai.tool.definitions"])[0]["name"] == "df"
    assert json.loads(attrs["gen_ai.output.messages"])[0]["parts"][1] == tool_call
    assert attrs["cairn.tool_call.names"] == ["df"]
    plain = _attrs(_one(export_otel(tree), "chat gpt-4o-mini"))
    assert "gen_ai.tool.definitions" not in plain and "97% used" not in json.dumps(plain)


def test_parent_and_child_runs_are_linked() -> None:
    (run,) = _spans(export_otel(st.family_run()))
    links = {_attrs(link)["cairn.run.id"]: link for link in run["links"]}
    assert set(links) == {"P", "C0", "C1"}
    for run_id, link in links.items():
        assert link["traceId"] == f"{trace_id_for(run_id):032x}"
        assert link["spanId"] == f"{span_id_for(run_id):016x}"
    assert _attrs(links["P"])["cairn.link"] == "parent_run"
    assert _attrs(run)["cairn.run.attrs.job"] == "triage"


def test_run_without_steps_is_a_single_span() -> None:
    (run,) = _spans(export_otel(st.empty_run("in_progress", end_ms=None)))
    assert run["startTimeUnixNano"] == run["endTimeUnixNano"] == str(st.T0)
    assert _attrs(run)["cairn.run.steps"] == 0


def test_credentials_in_urls_are_redacted() -> None:
    tree = st.retried_run()
    tree["steps"][0]["attempt_records"][0]["url"] = "https://u:pw@llm.example/v1?api_key=s3cr3t&x=1"
    text = json.dumps(export_otel(tree))
    assert "s3cr3t" not in text and "pw@" not in text
    url = _attrs(_named(export_otel(tree), "POST")[0])["url.full"]
    assert url == "https://REDACTED:REDACTED@llm.example/v1?api_key=REDACTED&x=1"


def test_export_leaves_the_global_tracer_provider_alone() -> None:
    before = trace.get_tracer_provider()
    export_otel(st.retried_run())
    assert trace.get_tracer_provider() is before


def test_disabled_sdk_is_reported_not_exported_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    with pytest.raises(RecorderError, match="OTEL_SDK_DISABLED"):
        export_otel(st.retried_run())
