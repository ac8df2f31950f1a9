"""The GitHub tracker: a REST client on the project's one HTTP stack (httpx2), the
incremental mirror sync, a loopback fake GitHub server speaking the real REST API, and
a reader of Go `httprr` traces that seeds it.

- `_client`, `_sync`: `GitHub` (a `cairn.bot.Tracker`) and its sync
- `_fake`: `FakeGitHub`, the fake server (tests, demos, `cairn bot fake-github`)
- `_httprr`: reading `httprr trace v1` files into the fake's data

Names are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

# name → module, or module:attribute. One line per exported name, sorted; the module
# must exist when the line is committed.
_LAZY: dict[str, str] = {}

__all__ = [*_LAZY]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module_name, __name__), attr or name)
    globals()[name] = value
    return value
