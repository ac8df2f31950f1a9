"""Run the real `cairn` console script as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

CAIRN = str(Path(sys.executable).with_name("cairn"))


def run_cairn(
    *args: str, cwd: Path | None = None, timeout: float = 60, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CAIRN_DEBUG"}
    return subprocess.run(
        [CAIRN, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin if stdin is not None else "",
        env=env,
    )


@pytest.fixture
def cairn() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cairn


@pytest.fixture
def runbook(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(text: str, name: str = "README.md") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
