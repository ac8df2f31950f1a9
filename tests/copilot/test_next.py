"""The suggestion use case both front ends call (`prepare_next`, `suggest_next`): the
prompt a prefill evaluates is the one the suggestion sends, a timeout is a type, and a
memory that fails costs the examples, not the suggestion. A real example store (hash
embedder) and the real `openai` SDK against the fake server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cairn.copilot import (
    ContextCell,
    Example,
    SuggestError,
    SuggestTimeout,
    prepare_next,
    suggest_next,
)
from cairn.copilot._examples import ExampleIndex
from cairn.copilot._pipeline import next_cells
from cairn.index import HashEmbedder
from cairn.llm import OpenAIModel, run_sync
from cairn.store import MemoryKV

from ..llm.fake_openai import Behaviour, FakeOpenAI

LEARNED = Example(
    "restart-payments",
    "Payments API is down\nRestart the deployment.",
    "kubectl --context prod -n payments rollout restart deploy/payments-api\n",
    title="Payments API is down",
    prose="Restart the deployment.",
    commands=("kubectl --context prod -n payments get pods -l app=payments-api",),
)
SEARCH = [
    ContextCell("markup", "# Search indexer is down\n"),
    ContextCell("code", "kubectl --context prod -n search get pods -l app=search-indexer", "sh"),
    ContextCell("markup", "Restart the deployment.\n"),
]
PROSE_ONLY = [ContextCell("markup", "# A new runbook\n\nWhat first?\n")]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.close()


@pytest.fixture
def memory() -> ExampleIndex:
    index = ExampleIndex(MemoryKV(), HashEmbedder(256))
    index.add([LEARNED])
    return index


def _model(fake: FakeOpenAI) -> OpenAIModel:
    return OpenAIModel("gpt-test", base_url=fake.base_url, api_key="sk-test-next-0123456789")


def _sent(fake: FakeOpenAI) -> list[object]:
    return [s.body["messages"] for s in fake.seen if s.path.endswith("/chat/completions")]


def test_the_prepared_prompt_is_the_one_the_pipeline_would_send(
    fake: FakeOpenAI, memory: ExampleIndex
) -> None:
    """What a prefill evaluates ahead (`prepare_next`) is exactly what the suggestion
    then sends, adapted examples included."""
    model = _model(fake)
    fake.script.extend([Behaviour(text="```sh\nls\n```"), Behaviour(text="```sh\nls\n```")])
    prepared = prepare_next(model, SEARCH, len(SEARCH), memory=memory)
    assert [e.id for e in prepared.found] == ["restart-payments"]
    shown = str(prepared.prompt.request.messages)
    assert "deploy/search-indexer" in shown and "payments-api" not in shown  # adapted
    run_sync(suggest_next(prepared))
    run_sync(next_cells(model, SEARCH, len(SEARCH), memory=memory))  # builds its own
    ours, pipelines = _sent(fake)
    assert ours == pipelines


def test_a_model_that_runs_out_of_time_is_a_suggest_timeout(fake: FakeOpenAI) -> None:
    fake.script.append(Behaviour(text="```sh\nls\n```", first_token_delay=3.0))
    prepared = prepare_next(_model(fake), PROSE_ONLY, 1)
    with pytest.raises(SuggestTimeout, match=r"did not answer within 0\.3s"):
        run_sync(suggest_next(prepared, timeout=0.3))


def test_a_model_that_fails_otherwise_is_not_a_timeout(fake: FakeOpenAI) -> None:
    fake.script.append(Behaviour(text="I would rather not."))
    prepared = prepare_next(_model(fake), PROSE_ONLY, 1)
    with pytest.raises(SuggestError, match="without a code cell") as raised:
        run_sync(suggest_next(prepared))
    assert not isinstance(raised.value, SuggestTimeout)


def test_a_timeout_with_other_candidates_left_is_reported_typed(
    fake: FakeOpenAI, memory: ExampleIndex
) -> None:
    fake.script.append(Behaviour(text="```sh\nls\n```", first_token_delay=3.0))
    prepared = prepare_next(_model(fake), SEARCH, len(SEARCH), memory=memory)
    suggested = run_sync(suggest_next(prepared, n=3, timeout=0.3))
    assert isinstance(suggested.model_failure, SuggestTimeout)
    assert suggested.results[0].source == "example"


class _BrokenMemory:
    def search(self, query: str, *, k: int = 3) -> list[Example]:
        raise OSError("the store went away")

    def following(self, command: str, *, k: int = 8) -> list[Example]:
        return []


def test_a_memory_that_fails_costs_the_examples_not_the_suggestion(fake: FakeOpenAI) -> None:
    fake.script.append(Behaviour(text="```sh\nkubectl rollout restart deploy/search-indexer\n```"))
    prepared = prepare_next(_model(fake), SEARCH, len(SEARCH), memory=_BrokenMemory())
    assert prepared.found == []
    assert prepared.warnings == ("left out learned examples (OSError: the store went away)",)
    suggested = run_sync(suggest_next(prepared))
    assert suggested.results[0].cells[0].source.startswith("kubectl rollout restart")


def test_a_cursor_outside_the_cells_is_refused(fake: FakeOpenAI) -> None:
    with pytest.raises(SuggestError, match="outside the notebook"):
        prepare_next(_model(fake), SEARCH, 9)
