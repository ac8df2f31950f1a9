"""Options every command takes (config dir, console log, learning log) and what they set.

They may be given before the command (`cairn --config-dir X run …`) or after it
(`cairn run --config-dir X …`); the later one wins. The config dir comes from
`--config-dir`, else `CAIRN_CONFIG_DIR`, else `~/.cairn`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import click

from ..config import ConfigFiles
from ..privacy import default_redactor, tighten

if TYPE_CHECKING:
    from ..store import KV

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Settings:
    config_dir: Path | None = None
    log_level: str = "warning"
    log_format: str = "text"
    learning_logs: bool = True
    _files: ConfigFiles | None = field(default=None, repr=False)

    def resolved_config_dir(self) -> Path:
        """The config dir; if it exists, it is made the owner's alone (an older Cairn or a
        loose umask may have left it readable by others). Cairn creates it 0700."""
        path = self.config_dir or Path(os.environ.get("CAIRN_CONFIG_DIR") or Path.home() / ".cairn")
        with contextlib.suppress(OSError):  # not ours to change: use it as it is
            tighten(path)
            tighten(path / "cairn.toml")
        return path

    def config_files(self) -> ConfigFiles:
        """The configuration files (`cairn.toml`, the project's `.cairn.toml`), read once
        per command and passed down to every layer that is configured by them."""
        config_dir = self.resolved_config_dir()
        if self._files is None or self._files.dir != config_dir:
            from ..config import load

            self._files = load(config_dir)
        return self._files

    def child_env(self) -> dict[str, str] | None:
        """The environment of the commands Cairn runs (cells): ours, with the config dir
        given by --config-dir, so a `cairn` inside a cell uses the same one (None: ours
        as it is)."""
        if self.config_dir is None:
            return None
        return {**os.environ, "CAIRN_CONFIG_DIR": str(self.config_dir)}

    def open_learning_log(self) -> bool:
        """Open the learning log for this command (a clear error if it cannot be
        written); whether executions are to be recorded."""
        if not self.learning_logs:
            return False
        from .. import learnlog

        try:
            learnlog.configure(self.resolved_config_dir(), enabled=True)
        except learnlog.LearningLogError as exc:
            raise click.ClickException(f"{exc}") from None
        return True


_SETTINGS = Settings()


def settings() -> Settings:
    return _SETTINGS


# Console log lines pass the same redaction as everything Cairn persists: a message may
# quote a command, an output or a URL.
class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        return json.dumps(
            {
                "level": record.levelname.lower(),
                "logger": record.name,
                "msg": default_redactor().redact(message),
            }
        )


class _TextFormatter(logging.Formatter):
    COLOURS: ClassVar[dict[str, str]] = {
        "DEBUG": "2",
        "INFO": "36",
        "WARNING": "33",
        "ERROR": "31",
        "CRITICAL": "1;31",
    }

    def __init__(self, colour: bool) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        text = default_redactor().redact(super().format(record))
        code = self.COLOURS.get(record.levelname)
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour and code else text


def _configure_console() -> None:
    handler = logging.StreamHandler(sys.stderr)
    if _SETTINGS.log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter(colour=sys.stderr.isatty()))
    root = logging.getLogger("cairn")
    root.handlers[:] = [handler]
    root.setLevel(_SETTINGS.log_level.upper())
    root.propagate = False


def _set(attr: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None or value is False:
            return
        setattr(_SETTINGS, attr, value)
        if attr in ("log_level", "log_format"):
            _configure_console()

    return callback


def common_options(fn: F) -> F:
    """Add --config-dir, --log-level, --log-format and --no-learning-logs to a command."""
    decorators = [
        click.option(
            "--config-dir",
            type=click.Path(path_type=Path, file_okay=False),
            expose_value=False,
            callback=_set("config_dir"),
            help="Where Cairn keeps its state (default: $CAIRN_CONFIG_DIR or ~/.cairn).",
        ),
        click.option(
            "--log-level",
            type=click.Choice(["debug", "info", "warning", "error"]),
            expose_value=False,
            callback=_set("log_level"),
            help="Console log level (the learning log is not affected).",
        ),
        click.option(
            "--log-format",
            type=click.Choice(["text", "json"]),
            expose_value=False,
            callback=_set("log_format"),
            help="Console log format.",
        ),
        click.option(
            "--no-learning-logs",
            is_flag=True,
            expose_value=False,
            callback=lambda ctx, param, value: (
                setattr(_SETTINGS, "learning_logs", False) if value else None
            ),
            help="Do not record executions in the learning log.",
        ),
    ]
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


# The store a command works on: `--store URL`, else the config dir's cairn.db.
store_option = click.option(
    "--store",
    "store_url",
    metavar="URL",
    help="A SQLite file or postgresql:// URL (default: the config dir's cairn.db).",
)


@contextlib.contextmanager
def opened_store(url: str | None, *, read_only: bool = False) -> Iterator[KV]:
    """The store at `url` (default: the config dir's), closed afterwards. Read-only
    commands refuse a `--store` that does not exist rather than create an empty one."""
    from ..store import open_store

    config_dir = settings().resolved_config_dir()
    kv = open_store(url, must_exist=read_only and url is not None, config_dir=config_dir)
    try:
        yield kv
    finally:
        kv.close()
