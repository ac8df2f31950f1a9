"""One exception base: every error class Cairn defines derives from `cairn.errors.CairnError`
(so the CLI's one `except CairnError` turns each into one line), checked on the source."""

from __future__ import annotations

import ast
import builtins
import subprocess
import sys
from pathlib import Path

from cairn.copilot import CopilotError
from cairn.errors import CairnError
from cairn.index import IndexingError
from cairn.kernel import KernelError
from cairn.learnlog import LearningLogError
from cairn.llm import LLMError
from cairn.notebook import NotebookError
from cairn.server import ApiError, ServerError
from cairn.store import StoreError

SRC = Path(__file__).resolve().parents[1] / "src"
_BUILTIN_EXCEPTIONS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def test_every_packages_base_exception_is_a_cairn_error() -> None:
    bases = [
        StoreError,
        NotebookError,
        KernelError,
        LearningLogError,
        IndexingError,
        LLMError,
        CopilotError,
        ServerError,
        ApiError,
    ]
    assert [b for b in bases if not issubclass(b, CairnError)] == []


def test_no_public_error_class_derives_from_a_builtin_exception_alone() -> None:
    """A new package's base cannot forget CairnError: each public exception class has a
    base that is not a builtin exception (private ones steer control flow inside a module)."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
                continue
            names = [b.id for b in node.bases if isinstance(b, ast.Name)]
            if names and all(n in _BUILTIN_EXCEPTIONS for n in names) and node.name != "CairnError":
                found.append(
                    f"{path.relative_to(SRC)}:{node.lineno}: {node.name}({', '.join(names)})"
                )
    assert found == []


def test_the_cli_turns_an_error_of_any_package_into_one_line(tmp_path: Path) -> None:
    """An index error (a store that does not exist) ends in one line and exit 2, no traceback."""
    missing = tmp_path / "nope.db"
    result = subprocess.run(
        [sys.executable, "-m", "cairn", "index", "search", "disk", "--store", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cairn: error:"), result.stderr
    assert "Traceback" not in result.stderr
