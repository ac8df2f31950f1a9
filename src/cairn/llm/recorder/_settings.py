"""When to record and where: the `[debug]` table of cairn.toml, a project's `.cairn.toml`,
the `CAIRN_RECORD` environment variable and a command's `--debug` flag.

The most specific switch wins: `--debug` (call site), then `CAIRN_RECORD=1|0`, then the
nearest `.cairn.toml` above the working directory (project), then
`<config dir>/cairn.toml` (global); recording is ON when none says anything: every
model call is recorded unless a switch turns it off (retention keeps the store small).

    [debug]
    record = false                          # switch recording off
    store = "postgresql://cairn@db/cairn"   # default: <config dir>/debug.db (SQLite)
    max_age_days = 30                       # retention; pinned runs are always kept
    max_size_mb = 256
    max_part_kb = 64                        # cap per recorded header/body part
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...config import ConfigFileError, ConfigFiles
from .._config import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class DebugSettings:
    record: bool = True
    decided_by: str = "default"  # which switch decided `record`, for `cairn debug status`
    store: str = ""  # a store URL or path
    max_age_days: float | None = 30.0
    max_size_mb: float | None = 256.0
    max_part_kb: float = 64.0
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)


def _debug(files: ConfigFiles, project: bool) -> dict[str, Any]:
    try:
        table = files.project_table("debug") if project else files.table("debug")
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from None
    return table or {}


def _flag(path: Path, table: dict[str, Any]) -> bool | None:
    value = table.get("record")
    if value is None or isinstance(value, bool):
        return value
    raise ConfigError(f"{path}: [debug] record must be true or false, not {value!r}")


def _number(path: Path, table: dict[str, Any], key: str, default: float | None) -> float | None:
    value = table.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{path}: [debug] {key} must be a non-negative number")
    return float(value)


def load_settings(
    files: ConfigFiles,
    *,
    flag: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> DebugSettings:
    """The recorder's settings from the configuration files as read once
    (`cairn.config.load`); ConfigError for ill-typed values."""
    env = os.environ if env is None else env
    global_path = files.path
    table = _debug(files, project=False)
    record, decided_by = True, "default"
    if (value := _flag(global_path, table)) is not None:
        record, decided_by = value, f"global ({global_path})"
    if files.project_path is not None:
        project_table = _debug(files, project=True)
        if (value := _flag(files.project_path, project_table)) is not None:
            record, decided_by = value, f"project ({files.project_path})"
    raw = env.get("CAIRN_RECORD")
    if raw is not None:
        if raw.strip().lower() in _TRUE:
            record, decided_by = True, "CAIRN_RECORD"
        elif raw.strip().lower() in _FALSE:
            record, decided_by = False, "CAIRN_RECORD"
        else:
            raise ConfigError(f"CAIRN_RECORD={raw!r}: use 1 or 0")
    if flag is not None:
        record, decided_by = flag, "--debug" if flag else "--no-debug"
    store = table.get("store") or str(files.dir / "debug.db")
    if not isinstance(store, str):
        raise ConfigError(f"{global_path}: [debug] store must be a path or URL string")
    prices = table.get("prices", {})
    if not isinstance(prices, dict) or not all(isinstance(v, dict) for v in prices.values()):
        raise ConfigError(f"{global_path}: [debug.prices] entries must be tables")
    part_kb = _number(global_path, table, "max_part_kb", 64.0)
    return DebugSettings(
        record=record,
        decided_by=decided_by,
        store=store,
        max_age_days=_number(global_path, table, "max_age_days", 30.0),
        max_size_mb=_number(global_path, table, "max_size_mb", 256.0),
        max_part_kb=64.0 if part_kb is None else part_kb,
        prices=prices,
    )
