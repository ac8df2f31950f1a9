"""The one suggestion pipeline: candidates from learned examples (adapted), from what
followed alike commands, from the runbook and from the model — merged, ranked, distinct —
with a real example store, the hash embedder and the real `openai` SDK against the fake
server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cairn.copilot import ContextCell, Example
from cairn.copilot._examples import ExampleIndex
from cairn.copilot._pipeline import next_cells
from cairn.copilot._suggest import SuggestError
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
THEN = Example(
    "status-after-restart",
    "Payments API is down\nWatch it come back.",
    "kubectl --context prod -n payments rollout status deploy/payments-api\n",
    title="Payments API is down",
    prose="Watch it come back.",
    commands=("kubectl --context prod -n payments rollout restart deploy/payments-api",),
)


def md(text: str) -> ContextCell:
    return ContextCell("markup", text)


def sh(text: str) -> ContextCell:
    return ContextCell("code", text, "sh")


@pytest.fixture
def memory() -> ExampleIndex:
    index = ExampleIndex(MemoryKV(), HashEmbedder(256))
    index.add([LEARNED, THEN])
    return index


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.close()


def _model(fake: FakeOpenAI) -> OpenAIModel:
    return OpenAIModel("gpt-test", base_url=fake.base_url, api_key="sk-test-pipeline-0123")


SEARCH = [
    md("# Search indexer is down\n"),
    sh("kubectl --context prod -n search get pods -l app=search-indexer"),
    md("Restart the deployment.\n"),
]


def test_a_learned_example_is_adapted_to_this_runbook_and_ranked_first(
    memory: ExampleIndex,
) -> None:
    outcome = run_sync(next_cells(None, SEARCH, len(SEARCH), memory=memory, n=3))
    best = outcome.results[0]
    assert best.cells[0].source == (
        "kubectl --context prod -n search rollout restart deploy/search-indexer\n"
    )
    assert best.source == "example"
    assert 0.0 < best.confidence < 1.0
    texts = [r.cells[0].source for r in outcome.results]
    assert len(texts) == len(set(texts))  # distinct candidates only
    assert "payments" not in best.cells[0].source


def test_what_followed_an_alike_command_is_a_sequence_candidate(memory: ExampleIndex) -> None:
    cells = [*SEARCH, sh("kubectl --context prod -n search rollout restart deploy/search-indexer")]
    outcome = run_sync(next_cells(None, cells, len(cells), memory=memory, n=5))
    sequence = [r for r in outcome.ranked if "sequence" in r.candidate.sources]
    assert [r.candidate.text for r in sequence] == [
        "kubectl --context prod -n search rollout status deploy/search-indexer\n"
    ]


def test_the_models_cell_joins_the_candidates_and_agreeing_sources_merge(
    fake: FakeOpenAI, memory: ExampleIndex
) -> None:
    same = "kubectl --context prod -n search rollout restart deploy/search-indexer"
    fake.script.append(Behaviour(text=f"```sh\n{same}\n```"))
    outcome = run_sync(next_cells(_model(fake), SEARCH, len(SEARCH), memory=memory, n=2))
    assert outcome.model_text == same + "\n"
    top = outcome.ranked[0].candidate
    # Found by its prose, as what follows `get pods`, and written by the model: one.
    assert top.sources == {"example", "sequence", "model"} and top.support == 3
    # The model saw the adapted example, not the payments one it was learned from.
    prompt = "\n".join(m["content"] for m in fake.seen[0].body["messages"])
    assert "deploy/search-indexer" in prompt and "payments-api" not in prompt


def test_a_failing_model_still_leaves_the_other_candidates(
    fake: FakeOpenAI, memory: ExampleIndex
) -> None:
    fake.script.append(Behaviour(kind="status", status=400))
    outcome = run_sync(next_cells(_model(fake), SEARCH, len(SEARCH), memory=memory))
    assert outcome.model_error and outcome.model_text is None
    assert outcome.results[0].source == "example"


def test_nothing_learned_and_no_model_is_a_clear_error() -> None:
    empty = ExampleIndex(MemoryKV(), HashEmbedder(64))
    cells = [md("# New runbook\n")]
    with pytest.raises(SuggestError, match="nothing to suggest"):
        run_sync(next_cells(None, cells, len(cells), memory=empty))


def test_without_memory_or_runbook_cells_it_is_the_model_alone(fake: FakeOpenAI) -> None:
    fake.script.append(Behaviour(text="```sh\ndf -h\n```"))
    outcome = run_sync(next_cells(_model(fake), SEARCH, len(SEARCH), runbook=False))
    assert [r.candidate.text for r in outcome.ranked] == ["df -h\n"]
    assert outcome.results[0].source == "model"
