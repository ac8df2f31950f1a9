"""Shared test settings: hypothesis profiles (CI runs the full example counts), and a
throwaway PostgreSQL server for the store's tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from .llm.fake_openai import FakeOpenAI
from .pgserver import PostgresServer, PostgresServerError

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# -- a real PostgreSQL server for the store's tests ------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole test session; tests keep apart by database."""
    try:
        server = PostgresServer.launch()
    except PostgresServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.teardown()


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """The wire-format fake of OpenAI on 127.0.0.1 (`tests/llm/fake_openai.py`)."""
    server = FakeOpenAI()
    yield server
    server.close()
