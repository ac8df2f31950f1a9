"""Names a package's face exports but imports only on first use (PEP 562), so importing
the package stays cheap: `cairn run` must not pay for numpy, the model layer or the
store when it only emits learning events.

    _LAZY = {"Analyzer": "._analyze", "EvalMemory": "._eval:Memory"}
    __getattr__ = lazy.exports(__name__, _LAZY)

A table maps an exported name to the module that defines it (relative to the package),
or to `module:attribute` where the face names it differently. Hand-written rather than
`lazy_loader`: its `attach` maps names to submodules only (no aliases, no module outside
the package, like `..privacy`), and its stub mode needs `.pyi` files. This module sits
at the bottom of the layers and imports nothing of Cairn's.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` that imports the names of `table` on first
    use and keeps them in the package's namespace (the next access costs nothing)."""

    def __getattr__(name: str) -> Any:
        target = table.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = target.partition(":")
        value = getattr(importlib.import_module(module, package), attribute or name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
