"""Embedders: one contract for all three, then what each one does on its own."""

from __future__ import annotations

import socket
from collections.abc import Callable

import numpy as np
import pytest

from cairn.index import Embedder, EmbeddingError, HashEmbedder, LocalEmbedder
from cairn.llm import ModelEmbedder, OpenAIModel, open_embedder

from ..llm.fake_openai import Behaviour, FakeOpenAI
from .conftest import API_KEY


def _client(
    fake: FakeOpenAI | str,
    model: str = "m",
    *,
    key: str = API_KEY,
    retries: int = 3,
    batch: int = 128,
) -> ModelEmbedder:
    """The remote embedder as `open_embedder("openai")` builds it, with test-sized knobs."""
    url = fake if isinstance(fake, str) else fake.base_url
    return ModelEmbedder(
        OpenAIModel(model, base_url=url, api_key=key, max_retries=retries), batch_size=batch
    )


def _requests(fake: FakeOpenAI) -> list[dict[str, object]]:
    return [seen.body for seen in fake.seen]


TEXTS = [
    "The database is locked; restart the server to release it.",
    "Restart the database server when it is locked.",
    "Bake the bread at 220 degrees for forty minutes.",
]


@pytest.fixture(params=["hash", "local", "openai"])
def embedder(
    request: pytest.FixtureRequest,
    local_embedder: LocalEmbedder,
    embeddings_server: FakeOpenAI,
) -> Embedder:
    if request.param == "hash":
        return HashEmbedder(384)
    if request.param == "local":
        return local_embedder
    return _client(embeddings_server, "fake-model", batch=2)


def test_every_embedder_gives_one_unit_float32_row_per_text(embedder: Embedder) -> None:
    vectors = embedder.embed(TEXTS)
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, embedder.dims)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_every_embedder_ranks_texts_sharing_words_above_unrelated_ones(
    embedder: Embedder,
) -> None:
    a, b, c = embedder.embed(TEXTS)
    assert float(a @ b) > float(a @ c) + 0.1


def test_every_embedder_is_deterministic_and_batch_independent(embedder: Embedder) -> None:
    together = embedder.embed(TEXTS)
    alone = np.vstack([embedder.embed([text]) for text in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_local_model_loads_offline_with_384_dims_and_knows_meaning(
    local_embedder: LocalEmbedder,
) -> None:
    import os

    vectors = local_embedder.embed(
        [
            "How do I reboot the machine?",
            "Steps to restart the computer",  # no word in common with the first
            "Our quarterly revenue grew by five percent",
        ]
    )
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert vectors.shape == (3, 384)
    assert float(vectors[0] @ vectors[1]) > 0.5 > float(vectors[0] @ vectors[2])


def test_local_model_from_a_missing_directory_is_an_embedding_error(tmp_path: object) -> None:
    embedder = LocalEmbedder(path=f"{tmp_path}/no-model-here")
    with pytest.raises(EmbeddingError, match="cannot load the local embedding model"):
        embedder.embed(["hello"])


def test_hash_embedder_of_text_without_words_is_the_zero_vector() -> None:
    vectors = HashEmbedder(16).embed(["...", "word"])
    assert not vectors[0].any() and vectors[1].any()


def test_openai_client_posts_batches_with_bearer_key(embeddings_server: FakeOpenAI) -> None:
    client = _client(embeddings_server, "nomic", batch=2)
    vectors = client.embed(["one", "two", "three", "four", "five"])
    assert vectors.shape == (5, 64)
    assert [len(r["input"]) for r in _requests(embeddings_server)] == [2, 2, 1]  # type: ignore[arg-type]
    assert all(r["model"] == "nomic" for r in _requests(embeddings_server))
    assert all(s.headers["authorization"] == f"Bearer {API_KEY}" for s in embeddings_server.seen)
    np.testing.assert_allclose(
        vectors, HashEmbedder(64).embed(["one", "two", "three", "four", "five"]), atol=1e-6
    )


def test_openai_client_waits_as_long_as_retry_after_says_then_succeeds(
    embeddings_server: FakeOpenAI,
) -> None:
    embeddings_server.script.append(
        Behaviour(kind="status", status=429, headers={"Retry-After": "1"})
    )
    vectors = _client(embeddings_server).embed(["hello world"])
    assert vectors.shape == (1, 64)
    times = [s.time for s in embeddings_server.seen]
    assert len(times) == 2 and times[1] - times[0] >= 0.95


def test_openai_client_retries_server_errors_with_growing_backoff(
    embeddings_server: FakeOpenAI,
) -> None:
    embeddings_server.script.extend(
        [Behaviour(kind="status", status=503), Behaviour(kind="status", status=500)]
    )
    assert _client(embeddings_server).embed(["hello"]).shape == (1, 64)
    gaps = np.diff([s.time for s in embeddings_server.seen])
    assert len(embeddings_server.seen) == 3
    assert gaps[1] > gaps[0] > 0  # the SDK's exponential backoff


def test_openai_client_gives_up_after_max_retries_with_one_line(
    embeddings_server: FakeOpenAI,
) -> None:
    embeddings_server.script.extend([Behaviour(kind="status", status=502)] * 5)
    with pytest.raises(EmbeddingError, match=r"answered 502") as caught:
        _client(embeddings_server, retries=2).embed(["hello"])
    assert len(embeddings_server.seen) == 3 and "\n" not in str(caught.value)


def test_a_refused_input_is_one_line_naming_the_servers_reason(
    embeddings_server: FakeOpenAI,
) -> None:
    with pytest.raises(EmbeddingError, match=r"400.*too long for this model") as caught:
        _client(embeddings_server).embed(["fine", "POISON pill"])
    assert len(embeddings_server.seen) == 1 and "\n" not in str(caught.value)


def test_openai_client_wrong_key_is_one_actionable_line(embeddings_server: FakeOpenAI) -> None:
    with pytest.raises(EmbeddingError) as caught:
        _client(embeddings_server, key="wrong").embed(["hello"])
    message = str(caught.value)
    assert "401" in message and "Incorrect API key" in message
    assert "CAIRN_EMBEDDINGS_API_KEY" in message
    assert "\n" not in message
    assert len(embeddings_server.seen) == 1  # not retried


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_server_is_an_embedding_error_naming_the_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    with pytest.raises(EmbeddingError) as caught:
        _client(url, retries=0).embed(["hello"])
    message = str(caught.value)
    assert f"{url}/embeddings" in message and "cannot reach" in message
    assert "\n" not in message


def test_open_embedder_reads_the_server_from_the_environment(
    embeddings_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_EMBEDDINGS_URL", embeddings_server.base_url)
    monkeypatch.setenv("CAIRN_EMBEDDINGS_MODEL", "from-env")
    monkeypatch.setenv("CAIRN_EMBEDDINGS_API_KEY", API_KEY)
    embedder = open_embedder("openai")
    assert embedder.name == "openai:from-env"
    assert embedder.embed(["x y"]).shape == (1, 64)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: open_embedder("word2vec"), "unknown embedder 'word2vec'"),
        (lambda: HashEmbedder(0), "dims >= 1"),
    ],
)
def test_bad_embedder_choices_are_embedding_errors(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(EmbeddingError, match=message):
        make()
