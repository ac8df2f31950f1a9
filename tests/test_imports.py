"""The import rules of ARCHITECTURE.md, checked on the source as written (in the spirit of
Gaby's `importtest`): a package's face is its `__init__`, so nothing outside a package
imports its `_private` modules; and a layer imports only the layers below it.

Both rules read every `import`, every `from … import` (relative ones resolved) and every
string that names a `cairn.…` module (the targets of lazy imports), in `src/` and
`bench/`. There is no exceptions list: a new violation fails here, with its file and
line."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

# Bottom up, as ARCHITECTURE.md lists them; a package may import only those before it.
# `cairn.errors` (the one exception base) and `cairn.config` sit below every layer.
LAYERS = [
    "errors",
    "lazy",
    "config",
    "privacy",
    "store",
    "notebook",
    "kernel",
    "learnlog",
    "index",
    "llm",
    "copilot",
    "agent",
    "bot",
    "server",
    "cli",
]

_MODULE_NAME = re.compile(r"\bcairn(?:\.[A-Za-z_]\w*)+")


def _module_of(path: Path) -> tuple[str, bool]:
    """The dotted name of a source file, and whether it is a package's `__init__`."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, dotted target) for every import and every `cairn.…` module named in text."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"
        # A string that is a module's whole name is an import target (docstrings and
        # messages that mention a package are not).
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _MODULE_NAME.fullmatch(node.value)
        ):
            yield node.lineno, node.value


def _sources() -> Iterator[tuple[Path, str, bool]]:
    for path in sorted(SRC.rglob("*.py")):
        yield (path, *_module_of(path))
    for path in sorted((ROOT / "bench").glob("*.py")):
        # A bench script is outside every package: it sees public faces only.
        yield path, f"bench.{path.stem}", False


def _private_owner(target: str) -> str | None:
    """The package whose `_private` part `target` reaches into, or None if it is public."""
    parts = target.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not (part.startswith("__") and part.endswith("__")):
            return ".".join(parts[:i])
    return None


def private_imports() -> list[str]:
    found = []
    for path, module, is_package in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, target in _imported(tree, module, is_package):
            if not target.startswith("cairn."):
                continue
            owner = _private_owner(target)
            if owner is None or module == owner or module.startswith(owner + "."):
                continue
            found.append(f"{path.relative_to(ROOT)}:{line}: {module} imports {target}")
    return sorted(set(found))


def upward_imports() -> list[str]:
    found = []
    for path, module, is_package in _sources():
        parts = module.split(".")
        if parts[0] != "cairn" or len(parts) < 2:
            continue
        layer = "cli" if parts[1] == "__main__" else parts[1]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, target in _imported(tree, module, is_package):
            target_parts = target.split(".")
            if target_parts[0] != "cairn" or len(target_parts) < 2:
                continue
            other = target_parts[1]
            if other == layer or other not in LAYERS:  # `cairn.toml` in a message
                continue
            if LAYERS.index(other) > LAYERS.index(layer):
                found.append(f"{path.relative_to(ROOT)}:{line}: {module} imports {target}")
    return sorted(set(found))


def test_every_package_of_src_has_a_place_in_the_layers() -> None:
    packages = {
        p.name for p in (SRC / "cairn").iterdir() if p.is_dir() and (p / "__init__.py").exists()
    }
    modules = {p.stem for p in (SRC / "cairn").glob("*.py") if not p.stem.startswith("__")}
    assert packages | modules <= set(LAYERS), sorted((packages | modules) - set(LAYERS))


def test_nothing_outside_a_package_imports_its_private_modules() -> None:
    found = private_imports()
    assert not found, f"{len(found)} private imports:\n" + "\n".join(found)


def test_imports_go_only_downward() -> None:
    found = upward_imports()
    assert not found, f"{len(found)} upward imports:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from cairn.llm._config import open_model", "cairn.llm._config.open_model"),
        ("from ..llm._local import DEFAULT_MODEL_FILE", "cairn.llm._local.DEFAULT_MODEL_FILE"),
        ("import cairn.learnlog._reader", "cairn.learnlog._reader"),
        ("MODULES = {'x': 'cairn.copilot._learn'}", "cairn.copilot._learn"),
    ],
)
def test_the_checker_sees_each_way_of_reaching_a_private_module(source: str, expected: str) -> None:
    """The rule cannot pass by not looking: every spelling of an import is read."""
    seen = [t for _, t in _imported(ast.parse(source), "cairn.copilot._tokens", False)]
    assert expected in seen
    assert _private_owner(expected) is not None


def test_the_checker_allows_a_package_its_own_private_modules_and_its_subpackages() -> None:
    assert _private_owner("cairn.llm.open_model") is None
    assert _private_owner("cairn.llm.recorder._transport") == "cairn.llm.recorder"
    assert _private_owner("cairn.llm.__version__") is None
