"""One fixture, every backend: the conformance suite runs each test on each KV."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cairn.store import KV, MemoryKV, SQLiteKV, open_store


@dataclass
class Backend:
    """Opens KVs on one underlying store; `url` lets another process open it too."""

    name: str
    open: Callable[[], KV]
    url: str | None  # None: the store cannot be shared with another process
    opened: list[KV] = field(default_factory=list)

    def __call__(self) -> KV:
        kv = self.open()
        self.opened.append(kv)
        return kv


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "memory":
        root = MemoryKV()
        b = Backend("memory", lambda: MemoryKV(share=root), None)
    elif request.param == "sqlite":
        path = tmp_path / "store.db"
        b = Backend("sqlite", lambda: SQLiteKV(path), str(path))
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.create_database(f"conf_{uuid.uuid4().hex[:12]}")
        b = Backend("postgres", lambda: open_store(url), url)
    yield b
    for kv in b.opened:
        kv.close()


@pytest.fixture
def kv(backend: Backend) -> KV:
    return backend()
