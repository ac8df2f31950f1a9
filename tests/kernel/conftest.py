"""Fixtures for kernel tests: a session with a small, known environment and short waits."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.kernel import Session


@pytest.fixture
def clean_env() -> dict[str, str]:
    """Only what cells need, so env diffs in tests are exact."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/"),
        "LANG": "C.UTF-8",
    }


@pytest.fixture
def session(tmp_path: Path, clean_env: dict[str, str]) -> Iterator[Session]:
    """A session rooted in `tmp_path`; grace and linger are short to keep tests fast."""
    with Session(cwd=tmp_path, env=clean_env, grace=0.3, linger=0.3) as s:
        yield s
