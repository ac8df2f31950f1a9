"""The debug recorder: every model call as a run → step → attempt, in a `cairn.store`.

    config = load_config(cairn.config.load(config_dir))   # the files, read once
    model = open_recorded(spec, config, kind="prompt", enabled=debug_flag)

`open_recorded()` is how every front end opens a model for use: `open_model` and then
`record()`, which returns a recording wrapper unless `--no-debug`, `CAIRN_RECORD=0`, a
project's `.cairn.toml` or the global cairn.toml switches recording off (then the model
itself: no wrapper, no cost). Recording is on by default.
`cairn debug runs/show/export` read what was recorded.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from typing import TYPE_CHECKING, Any

from ... import lazy
from ._active import ActiveRun, ActiveStep, current_run_id
from ._data import KINDS, PRIORITY, STATUSES, Attempt, ErrorInfo, Run, Step, now_ns, supersedes
from ._prices import DEFAULT_PRICES, Price, PriceTable
from ._recorder import Recorder
from ._recording import RecordingModel
from ._redact import Scrubber
from ._settings import DebugSettings, load_settings
from ._store import RecordStore, Write
from ._writer import RecorderError, Retention

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ...config import ConfigFiles
    from .._config import LLMConfig
    from .._model import Model
    from ._otel import export_otel
    from ._show import render_run, render_runs_table

# What reads the records for people (tables, OpenTelemetry export) loads on first use.
_LAZY = {"export_otel": "._otel", "render_run": "._show", "render_runs_table": "._show"}


__getattr__ = lazy.exports(__name__, _LAZY)


_SHARED: dict[str, Recorder] = {}
_SHARED_LOCK = threading.Lock()


def open_record_store(settings: DebugSettings) -> RecordStore:
    """The store that settings name (SQLite at `<config dir>/debug.db` by default)."""
    from ...store import open_store

    # Debug records need no fsync per commit: WAL with synchronous=NORMAL.
    return RecordStore(open_store(settings.store, durable=False))


def open_recorder(settings: DebugSettings) -> Recorder:
    """A new recorder over the settings' store (the caller closes it)."""
    from ._redact import DEFAULT_PART_CAP

    part_cap = int(settings.max_part_kb * 1024) if settings.max_part_kb else DEFAULT_PART_CAP
    return Recorder(
        open_record_store(settings),
        scrubber=Scrubber(part_cap=part_cap),
        prices=PriceTable(settings.prices),
        retention=Retention(settings.max_age_days, settings.max_size_mb),
        close_store=True,
    )


def shared_recorder(settings: DebugSettings) -> Recorder:
    """The process's recorder for the settings' store; flushed and closed at exit."""
    with _SHARED_LOCK:
        recorder = _SHARED.get(settings.store)
        if recorder is None:
            recorder = _SHARED[settings.store] = open_recorder(settings)
        return recorder


@atexit.register
def close_shared() -> None:
    """Flush and close every shared recorder (also run at exit)."""
    with _SHARED_LOCK:
        recorders = list(_SHARED.values())
        _SHARED.clear()
    for recorder in recorders:
        # A failure was reported by the command's own flush; exit must not fail here.
        with contextlib.suppress(RecorderError):
            recorder.close()


def record(
    model: Model,
    *,
    kind: str = "prompt",
    enabled: bool | None = None,
    files: ConfigFiles | None = None,
    recorder: Recorder | None = None,
) -> Model:
    """`model` itself when recording is off; a recording wrapper when it is on.

    `enabled` is the call site's switch (`--debug`: True, `--no-debug`: False, None: ask
    the environment and the configuration `files`, by default those of the default
    config dir). With `recorder`, always record into it.
    """
    if recorder is None:
        if enabled is False:
            return model
        if files is None:
            from ...config import load
            from ...store import default_config_dir

            files = load(default_config_dir())
        settings = load_settings(files, flag=enabled)
        if not settings.record:
            return model
        recorder = shared_recorder(settings)
    return recorder.wrap(model, kind=kind)


def recorded_http(provider: str, files: ConfigFiles, *, kind: str = "bot_job") -> Any:
    """A recording `httpx2` transport for a client that is not a model (the bot's GitHub
    client), or None when recording is switched off by the same settings as model calls."""
    settings = load_settings(files)
    if not settings.record:
        return None
    return shared_recorder(settings).http_transport(provider, kind=kind)


def open_recorded(
    spec: str | None,
    config: LLMConfig,
    *,
    kind: str,
    enabled: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> Model:
    """A model opened for use: `open_model(spec, config)`, recorded as the settings of
    the same configuration files say (on unless switched off). A config read from no
    files (`LLMConfig()`) has nowhere configured to record into, and the model is
    returned as it is."""
    from .._config import open_model

    model = open_model(spec, config, env)
    if config.files is None:
        return model
    return record(model, kind=kind, enabled=enabled, files=config.files)


__all__ = [
    "DEFAULT_PRICES",
    "KINDS",
    "PRIORITY",
    "STATUSES",
    "ActiveRun",
    "ActiveStep",
    "Attempt",
    "DebugSettings",
    "ErrorInfo",
    "Price",
    "PriceTable",
    "RecordStore",
    "Recorder",
    "RecorderError",
    "RecordingModel",
    "Retention",
    "Run",
    "Scrubber",
    "Step",
    "Write",
    "close_shared",
    "current_run_id",
    "export_otel",
    "load_settings",
    "now_ns",
    "open_record_store",
    "open_recorded",
    "open_recorder",
    "record",
    "recorded_http",
    "render_run",
    "render_runs_table",
    "shared_recorder",
    "supersedes",
]
