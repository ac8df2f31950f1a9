"""Cairn's configuration files, read in one place: `<config dir>/cairn.toml` (global)
and a project's `.cairn.toml`.

Each layer that is configured by a table of them (`[llm]`, `[debug]`) reads it through
`read_table`, so a missing file, an unreadable one and invalid TOML mean the same
everywhere. This module sits below every layer and imports only `cairn.errors`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import CairnError

FILE = "cairn.toml"


class ConfigFileError(CairnError):
    """A configuration file cannot be read, is not TOML, or a table is not a table."""


def read_toml(path: Path) -> dict[str, Any] | None:
    """The parsed file at `path`; None when it does not exist."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path}: invalid TOML: {exc}") from None


def read_table(path: Path, name: str) -> dict[str, Any] | None:
    """The `[name]` table of the file at `path`: None when the file does not exist, {}
    when it has no such table."""
    data = read_toml(path)
    if data is None:
        return None
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigFileError(f"{path}: [{name}] must be a table")
    return table
