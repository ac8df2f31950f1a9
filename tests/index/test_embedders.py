"""Embedders: one contract for all three, then what each one does on its own."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import numpy as np
import pytest

from cairn.index import (
    Embedder,
    EmbeddingError,
    HashEmbedder,
    LocalEmbedder,
    OpenAIEmbedder,
    open_embedder,
)

from .conftest import API_KEY, FakeEmbeddingsServer, Reply

TEXTS = [
    "The database is locked; restart the server to release it.",
    "Restart the database server when it is locked.",
    "Bake the bread at 220 degrees for forty minutes.",
]


@pytest.fixture(params=["hash", "local", "openai"])
def embedder(
    request: pytest.FixtureRequest,
    local_embedder: LocalEmbedder,
    embeddings_server: FakeEmbeddingsServer,
) -> Embedder:
    if request.param == "hash":
        return HashEmbedder(384)
    if request.param == "local":
        return local_embedder
    return OpenAIEmbedder(embeddings_server.url, "fake-model", api_key=API_KEY, batch_size=2)


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


def test_openai_client_posts_batches_with_bearer_key(
    embeddings_server: FakeEmbeddingsServer,
) -> None:
    client = OpenAIEmbedder(embeddings_server.url, "nomic", api_key=API_KEY, batch_size=2)
    vectors = client.embed(["one", "two", "three", "four", "five"])
    assert vectors.shape == (5, 64)
    assert [len(r["input"]) for r in embeddings_server.requests] == [2, 2, 1]
    assert all(r["model"] == "nomic" for r in embeddings_server.requests)
    np.testing.assert_allclose(
        vectors, HashEmbedder(64).embed(["one", "two", "three", "four", "five"]), atol=1e-6
    )


def test_openai_client_waits_as_long_as_retry_after_says_then_succeeds(
    embeddings_server: FakeEmbeddingsServer,
) -> None:
    embeddings_server.script.append(Reply(429, {"Retry-After": "1"}))
    client = OpenAIEmbedder(embeddings_server.url, "m", api_key=API_KEY, backoff=0.01)
    vectors = client.embed(["hello world"])
    assert vectors.shape == (1, 64)
    assert len(embeddings_server.requests) == 2
    assert embeddings_server.times[1] - embeddings_server.times[0] >= 0.95


def test_openai_client_retries_server_errors_with_backoff(
    embeddings_server: FakeEmbeddingsServer,
) -> None:
    embeddings_server.script.extend([Reply(503), Reply(500)])
    client = OpenAIEmbedder(embeddings_server.url, "m", api_key=API_KEY, backoff=0.05)
    assert client.embed(["hello"]).shape == (1, 64)
    gaps = np.diff(embeddings_server.times)
    assert len(embeddings_server.requests) == 3
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # doubling backoff


def test_openai_client_gives_up_after_max_retries(embeddings_server: FakeEmbeddingsServer) -> None:
    embeddings_server.script.extend([Reply(502)] * 5)
    client = OpenAIEmbedder(
        embeddings_server.url, "m", api_key=API_KEY, max_retries=2, backoff=0.01
    )
    with pytest.raises(EmbeddingError, match=r"502 .* after 3 attempts"):
        client.embed(["hello"])
    assert len(embeddings_server.requests) == 3


def test_openai_client_refuses_a_retry_after_longer_than_it_waits(
    embeddings_server: FakeEmbeddingsServer,
) -> None:
    embeddings_server.script.append(Reply(429, {"Retry-After": "3600"}))
    client = OpenAIEmbedder(embeddings_server.url, "m", api_key=API_KEY, max_wait=5)
    started = time.monotonic()
    with pytest.raises(EmbeddingError, match="retry after 3600 s"):
        client.embed(["hello"])
    assert time.monotonic() - started < 2


def test_openai_client_wrong_key_is_one_actionable_line(
    embeddings_server: FakeEmbeddingsServer,
) -> None:
    client = OpenAIEmbedder(embeddings_server.url, "m", api_key="wrong")
    with pytest.raises(EmbeddingError) as caught:
        client.embed(["hello"])
    message = str(caught.value)
    assert "401" in message and "Incorrect API key" in message and "API key" in message
    assert "\n" not in message
    assert len(embeddings_server.requests) == 1  # not retried


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_server_is_an_embedding_error_naming_the_url() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    client = OpenAIEmbedder(url, "m", api_key=API_KEY)
    started = time.monotonic()
    with pytest.raises(EmbeddingError) as caught:
        client.embed(["hello"])
    message = str(caught.value)
    assert f"{url}/embeddings" in message and "cannot reach" in message
    assert "\n" not in message
    assert time.monotonic() - started < 5


def test_open_embedder_reads_the_server_from_the_environment(
    embeddings_server: FakeEmbeddingsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_EMBEDDINGS_URL", embeddings_server.url)
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
