"""`cairn.lazy`: every name a package's face exports resolves, lazily exported or not,
and a lazy one is imported on first use only."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import cairn


def _packages() -> list[str]:
    names = ["cairn"]
    for info in pkgutil.walk_packages(cairn.__path__, "cairn."):
        if info.ispkg and not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


@pytest.mark.parametrize("package", _packages())
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    missing = [name for name in getattr(module, "__all__", []) if not hasattr(module, name)]
    assert missing == []


def test_a_lazy_name_is_imported_on_first_use_and_kept() -> None:
    code = (
        "import sys, cairn.copilot as c\n"
        "assert 'cairn.copilot._eval' not in sys.modules\n"
        "memory = c.EvalMemory\n"
        "assert 'cairn.copilot._eval' in sys.modules and 'EvalMemory' in vars(c)\n"
        "assert memory is sys.modules['cairn.copilot._eval'].Memory\n"
        "try:\n    c.no_such_name\nexcept AttributeError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "module 'cairn.copilot' has no attribute 'no_such_name'" in out.stdout
