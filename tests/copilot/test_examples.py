"""Learned examples: stored once by id, embedded in batches, found above a score threshold
with maximal marginal relevance; damaged entries left out; the embedder they were made
with kept. One test retrieves examples learned from real runbooks with the local model."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from cairn.copilot import Example
from cairn.copilot._examples import (
    ExampleError,
    ExampleIndex,
    choose_embedder,
    mmr,
    open_examples,
    recorded_embedder,
)
from cairn.copilot._learn import RERUN_WINDOW, Learner
from cairn.index import Embedder, HashEmbedder, LocalEmbedder
from cairn.llm import open_embedder
from cairn.store import KV, open_store, ordered

from ._events import T0, EventLog, ran


class CountingEmbedder:
    """The hashed-words embedder, counting the texts it is asked to embed."""

    def __init__(self, dims: int = 64) -> None:
        self.inner = HashEmbedder(dims)
        self.batches: list[int] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dims(self) -> int:
        return self.inner.dims

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.batches.append(len(texts))
        return self.inner.embed(texts)


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[KV]:
    store = open_store(tmp_path / "cairn.db")
    yield store
    store.close()


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def index(kv: KV, embedder: CountingEmbedder) -> ExampleIndex:
    return ExampleIndex(kv, embedder, batch_size=2)


def ex(id_: str, query: str, cell: str = "true\n") -> Example:
    return Example(id_, query, cell, "sh", f"book.md#{id_}")


# -- storing ----------------------------------------------------------------------------


def test_examples_are_stored_once_by_id_and_embedded_in_batches(
    index: ExampleIndex, embedder: CountingEmbedder
) -> None:
    added = index.add([ex(f"E{i}", f"query number {i}") for i in range(5)] + [ex("E0", "other")])
    assert added == 5 and len(index) == 5
    assert embedder.batches == [2, 2, 1]
    assert index.get("E0") == ex("E0", "query number 0")  # the first of equal ids won
    assert [e.id for e in index] == ["E0", "E1", "E2", "E3", "E4"]
    assert "E3" in index and "E9" not in index and index.get("E9") is None

    assert index.add([ex("E1", "query number 1"), ex("E5", "a new one")]) == 1
    assert embedder.batches[-1] == 1  # only the new one was embedded


def test_an_example_whose_vector_was_lost_is_repaired_by_the_next_add(
    index: ExampleIndex,
) -> None:
    index.add([ex("E1", "restart the web tier")])
    index.vectors.delete("E1")  # as a crash between the example and its vector leaves it
    assert len(index) == 0 and index.search("restart the web tier", threshold=0.0) == []
    assert index.add([ex("E1", "restart the web tier")]) == 1
    assert [e.id for e in index.search("restart the web tier")] == ["E1"]


def test_examples_survive_reopening_the_store(tmp_path: Path) -> None:
    with open_store(tmp_path / "a.db") as kv:
        ExampleIndex(kv, HashEmbedder(64)).add([ex("E1", "rotate the logs of the api")])
    with open_store(tmp_path / "a.db") as kv:
        found = ExampleIndex(kv, HashEmbedder(64)).search("rotate the api logs")
        assert [e.id for e in found] == ["E1"] and found[0].score > 0.5


# -- searching --------------------------------------------------------------------------


def test_search_keeps_only_examples_above_the_threshold(index: ExampleIndex) -> None:
    index.add(
        [
            ex("NGINX", "nginx returns 502 after the deploy"),
            ex("DISK", "the disk of the database server is full"),
        ]
    )
    found = index.search("nginx 502 after a deploy", threshold=0.35)
    assert [e.id for e in found] == ["NGINX"]
    assert 0.35 <= found[0].score <= 1.0 + 1e-6
    assert index.search("nginx 502 after a deploy", threshold=0.99) == []
    assert index.search("completely unrelated words here") == []
    everything = index.search("nginx 502 after a deploy", threshold=-1.0, k=5)
    assert [e.id for e in everything] == ["NGINX", "DISK"]
    assert everything[0].score > everything[1].score


def test_search_takes_a_different_example_over_a_near_duplicate(kv: KV) -> None:
    index = ExampleIndex(kv, HashEmbedder(64))
    index.add(
        [
            ex("RESTART", "nginx 502 after deploy", "systemctl restart nginx\n"),
            ex("SUDO-RESTART", "nginx 502 after deploy", "sudo systemctl restart nginx\n"),
            ex("LOGS", "check upstream logs", "journalctl -u app -n 50\n"),
        ]
    )
    query = "nginx 502 after deploy check upstream logs"
    by_relevance = index.search(query, k=2, mmr_lambda=1.0)
    assert {e.id for e in by_relevance} == {"RESTART", "SUDO-RESTART"}
    diverse = index.search(query, k=2, mmr_lambda=0.7)
    assert diverse[0].id in {"RESTART", "SUDO-RESTART"} and diverse[1].id == "LOGS"
    assert len(index.search(query, k=3)) == 3


def test_an_empty_index_or_query_embeds_nothing(
    index: ExampleIndex, embedder: CountingEmbedder
) -> None:
    assert index.search("anything") == []
    index.add([ex("E1", "anything at all")])
    calls = len(embedder.batches)
    assert index.search("   ") == [] and index.search("anything", k=0) == []
    assert len(embedder.batches) == calls


def test_mmr_trades_relevance_for_novelty() -> None:
    relevance = [0.9, 0.88, 0.6]
    similarity = np.array([[1.0, 0.99, 0.1], [0.99, 1.0, 0.1], [0.1, 0.1, 1.0]], dtype=np.float32)
    assert mmr(relevance, similarity, 3, 1.0) == [0, 1, 2]
    assert mmr(relevance, similarity, 2, 0.5) == [0, 2]
    assert mmr(relevance, similarity, 10, 0.5) == [0, 2, 1]  # never more than there are
    assert mmr([0.5, 0.5], np.eye(2, dtype=np.float32), 2, 1.0) == [0, 1]  # ties: in order
    assert mmr([], np.zeros((0, 0), dtype=np.float32), 3, 0.7) == []


# -- damaged entries --------------------------------------------------------------------


@pytest.mark.parametrize("damage", [b"{oops", b'{"query": "no id"}', b"[1]", b"\xff"])
def test_a_damaged_example_is_left_out_of_search_and_iteration(
    kv: KV, index: ExampleIndex, damage: bytes
) -> None:
    index.add([ex("GOOD", "restart the queue worker"), ex("BAD", "restart the queue workers")])
    kv.set(ordered.encode("copilot.example", index.name, "BAD"), damage)
    assert [e.id for e in index.search("restart the queue worker", k=3)] == ["GOOD"]
    assert [e.id for e in index] == ["GOOD"]
    with pytest.raises(ExampleError, match="damaged"):
        index.get("BAD")


# -- which embedder ---------------------------------------------------------------------


def test_the_embedder_that_made_the_examples_is_kept(kv: KV) -> None:
    assert recorded_embedder(kv) is None
    assert choose_embedder(kv).name == LocalEmbedder.name  # the default; not loaded yet
    ExampleIndex(kv, HashEmbedder(48)).add([ex("E1", "page the on-call engineer")])
    assert recorded_embedder(kv) == "hash-48"
    chosen = choose_embedder(kv)
    assert (chosen.name, chosen.dims) == ("hash-48", 48)
    with pytest.raises(ExampleError, match="--embedder hash"):
        choose_embedder(kv, "local")


def test_open_examples_without_create_makes_no_store_and_loads_no_model(
    tmp_path: Path,
) -> None:
    path = tmp_path / "none.db"
    assert open_examples(str(path), create=False) is None
    assert not path.exists()
    with open_store(path):
        pass  # a store without examples
    assert open_examples(str(path), create=False) is None

    made = open_examples(str(path), embedder="hash")
    assert made is not None
    made.add([ex("E1", "drain the node before the upgrade")])
    made.close()
    again = open_examples(str(path), create=False)
    assert again is not None and again.embedder.name == "hash-384"
    assert [e.id for e in again.search("drain the node")] == ["E1"]
    again.close()


# -- retrieval quality with the local model ---------------------------------------------

RUNBOOKS = {
    "disk": ("The root filesystem is almost full. Find what takes the space.", "du -xh /"),
    "pods": ("List the pods of the web namespace that keep crashing.", "kubectl get pods -n web"),
    "cert": ("Check when the TLS certificate of the site expires.", "openssl x509 -enddate"),
    "pg": ("Postgres is slow. Show the queries running right now.", "psql -c 'table act'"),
    "dns": ("Resolve the service name from inside the cluster to check DNS.", "nslookup api"),
    "mem": ("The box is swapping. Which processes use the most memory?", "ps aux --sort=-rss"),
    "nginx": ("Reload nginx after changing its configuration.", "nginx -t && nginx -s reload"),
    "ports": ("What is listening on port 8080?", "ss -ltnp sport = :8080"),
}
# The same needs, worded as someone else would put them.
PROBES = {
    "disk": "No space left on device on /. Find the big directories.",
    "pods": "Some pods in the web namespace are in a crash loop; show them.",
    "cert": "When does our SSL cert run out?",
    "pg": "The database is slow: list the active queries.",
    "dns": "Test name resolution of a service from within kubernetes.",
    "mem": "Out of memory: find the biggest processes.",
    "nginx": "I edited the nginx config, apply it.",
    "ports": "Which process has port 8080 open?",
}


@pytest.fixture(scope="module")
def local_embedder() -> Embedder:
    embedder = open_embedder("local")
    embedder.embed(["load the model once for this module"])
    return embedder


@pytest.mark.slow
def test_examples_learned_from_runbooks_come_back_for_a_paraphrase(
    tmp_path: Path, local_embedder: Embedder
) -> None:
    events = EventLog(tmp_path / "logs")
    for i, (name, (need, command)) in enumerate(RUNBOOKS.items()):
        book = tmp_path / f"{name}.md"
        cell = f'```sh {{"name":"{name}"}}\n{command}\n```\n'
        book.write_text(f"# Runbook {i}\n\n{need}\n\n{cell}")  # the title gives nothing away
        events.write(ran(f"ID-{name}", command, t=i, session=f"S{i}", path=str(book), name=name))
    with open_store(tmp_path / "cairn.db") as kv:
        index = ExampleIndex(kv, local_embedder)
        later = T0 + timedelta(seconds=RERUN_WINDOW + 60)
        counts = Learner(kv, events.directory, index, clock=lambda: later).run()
        assert counts.learned == len(RUNBOOKS)

        for name, probe in PROBES.items():
            found = index.search(probe, k=3)
            assert found, f"nothing found for {probe!r}"
            assert found[0].cell == RUNBOOKS[name][1] + "\n", (probe, found)
            assert found[0].source.endswith(f"{name}.md#ID-{name}")
        for unrelated in ("Bake a chocolate cake for the party.", "The history of Rome."):
            assert index.search(unrelated) == [], unrelated
