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


def _backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if name == "memory":
        root = MemoryKV()
        return Backend("memory", lambda: MemoryKV(share=root), None)
    if name == "sqlite":
        path = tmp_path / "store.db"
        return Backend("sqlite", lambda: SQLiteKV(path), str(path))
    server = request.getfixturevalue("postgres_server")
    url = server.create_database(f"conf_{uuid.uuid4().hex[:12]}")
    return Backend("postgres", lambda: open_store(url), url)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    b = _backend(request.param, request, tmp_path)
    yield b
    for kv in b.opened:
        kv.close()


@pytest.fixture(params=["sqlite", "postgres"])
def shared_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """The backends another process can open too (the memory one lives in one process,
    so tests of several processes do not run on it rather than pass without testing)."""
    b = _backend(request.param, request, tmp_path)
    assert b.url is not None
    yield b
    for kv in b.opened:
        kv.close()


@pytest.fixture
def kv(backend: Backend) -> KV:
    return backend()
