"""Cairn's configuration files, read in one place: `<config dir>/cairn.toml` (global)
and a project's `.cairn.toml` (the nearest one above the working directory).

A front end reads them once per command or server, with `load`, and passes the
resulting `ConfigFiles` down; each layer that is configured by a table of them (`[llm]`,
`[debug]`, `[bot]`) takes its table from that object, so the files are read once, and a
missing file, an unreadable one and invalid TOML mean the same everywhere. This module
sits below every layer and imports only `cairn.errors`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CairnError

FILE = "cairn.toml"
PROJECT_FILE = ".cairn.toml"


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
    return _table_of(read_toml(path), path, name)


def _table_of(data: dict[str, Any] | None, path: Path | None, name: str) -> dict[str, Any] | None:
    if data is None:
        return None
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigFileError(f"{path}: [{name}] must be a table")
    return table


@dataclass(frozen=True)
class ConfigFiles:
    """The configuration files as read once: the global `cairn.toml` of `dir` and the
    project's `.cairn.toml`, if any (`None` data: that file does not exist)."""

    dir: Path
    data: dict[str, Any] | None = None
    project_path: Path | None = None
    project_data: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        """The global file's path (it may not exist)."""
        return self.dir / FILE

    def table(self, name: str) -> dict[str, Any] | None:
        """The global file's `[name]` table: None when the file does not exist, {} when it
        has no such table; ConfigFileError when it is not a table."""
        return _table_of(self.data, self.path, name)

    def project_table(self, name: str) -> dict[str, Any] | None:
        """The project file's `[name]` table (None: no project file)."""
        return _table_of(self.project_data, self.project_path, name)


def project_file(start: Path) -> Path | None:
    """The nearest `.cairn.toml` in `start` or a directory above it."""
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def load(config_dir: Path, *, project_dir: Path | None = None) -> ConfigFiles:
    """Read the configuration files once: `<config_dir>/cairn.toml`, and the nearest
    `.cairn.toml` above `project_dir` (the working directory by default) unless it is
    that same file. ConfigFileError when one cannot be read or is not TOML."""
    config_dir = Path(config_dir)
    data = read_toml(config_dir / FILE)
    project = project_file(project_dir or Path.cwd())
    if project is not None and project.resolve() == (config_dir / FILE).resolve():
        project = None
    project_data = read_toml(project) if project is not None else None
    return ConfigFiles(config_dir, data, project, project_data)
