"""Fixtures for cairn.index: a store on disk, a fake OpenAI-compatible embeddings server
that speaks the real wire protocol over a real socket, and a counting embedder."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from cairn.index import HashEmbedder, LocalEmbedder
from cairn.store import SQLiteKV

API_KEY = "sk-test-key"


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[SQLiteKV]:
    store = SQLiteKV(tmp_path / "store.db")
    yield store
    store.close()


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass
class FakeEmbeddingsServer:
    """POST /v1/embeddings answered with hashed-words vectors (as HashEmbedder would).

    `script` holds replies sent, in order, before normal service resumes; inputs that
    contain "POISON" are refused with 400, as a server refuses an over-long input.
    """

    url: str
    script: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    embedder: HashEmbedder = field(default_factory=lambda: HashEmbedder(64))


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        fake: FakeEmbeddingsServer = self.server.fake
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        fake.requests.append(payload)
        fake.times.append(time.monotonic())
        if self.path != "/v1/embeddings":
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            self._send(401, {"error": {"message": "Incorrect API key provided"}})
            return
        if fake.script:
            reply = fake.script.pop(0)
            self._send(
                reply.status, reply.body or {"error": {"message": "try later"}}, reply.headers
            )
            return
        inputs = payload["input"]
        if any("POISON" in text for text in inputs):
            self._send(400, {"error": {"message": "input is too long for this model"}})
            return
        vectors = fake.embedder.embed(inputs)
        data = [
            {"object": "embedding", "index": i, "embedding": vector.tolist()}
            for i, vector in enumerate(vectors)
        ]
        data.reverse()  # the protocol orders by "index", not by position
        self._send(200, {"object": "list", "model": payload["model"], "data": data})


@pytest.fixture
def embeddings_server() -> Iterator[FakeEmbeddingsServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    fake = FakeEmbeddingsServer(url=f"http://127.0.0.1:{httpd.server_address[1]}/v1")
    httpd.fake = fake  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield fake
    httpd.shutdown()
    httpd.server_close()
    thread.join()


class CountingEmbedder:
    """A real embedder (hashed words) that counts the texts it was asked to embed."""

    def __init__(self, dims: int = 64) -> None:
        self.inner = HashEmbedder(dims)
        self.calls = 0
        self.texts: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dims(self) -> int:
        return self.inner.dims

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.calls += 1
        self.texts.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="session")
def local_embedder() -> LocalEmbedder:
    return LocalEmbedder()


def clustered(n: int, dims: int, *, clusters: int, seed: int) -> NDArray[np.float32]:
    """Random vectors around `clusters` centres, each cluster spread in a few directions
    of its own (as real embeddings are), plus a little noise in all of them."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dims)).astype(np.float32)
    axes = rng.standard_normal((clusters, 8, dims)).astype(np.float32) * 0.35
    which = rng.integers(0, clusters, n)
    spread = np.einsum("nk,nkd->nd", rng.standard_normal((n, 8)).astype(np.float32), axes[which])
    noise = rng.standard_normal((n, dims)).astype(np.float32) * 0.05
    return (centres[which] + spread + noise).astype(np.float32)
