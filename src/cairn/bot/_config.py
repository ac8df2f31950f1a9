"""The bot's settings: the `[bot]` table of `cairn.toml` (read once by `cairn.config`).
Projects, the API, how often to poll, which jobs need approval, and the related-issues
job's knobs live here, not in code; the comment fixer's rules (`[[bot.commentfix]]`) are
parsed by the fixer itself.

    [bot]
    projects = ["owner/repo"]
    api = "https://api.github.com"     # a GitHub Enterprise or the fake's URL
    every = "2m"                       # `cairn bot run` polling interval
    approve = ["commentfix"]           # jobs whose actions wait for a person's approval

    [bot.related]
    threshold = 0.82                   # else the calibrated value for the index's model
    window_days = 7                    # only issues created this recently
    max_results = 10
    skip_title_prefix = ["[release]"]
    skip_title_suffix = []
    skip_body_contains = ["<!-- no related -->"]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..config import ConfigFileError, ConfigFiles
from ._errors import ConfigError

DEFAULT_API = "https://api.github.com"
JOBS = ("related", "commentfix")
_PROJECT = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


@dataclass(frozen=True)
class RelatedSettings:
    threshold: float | None = None
    window_days: float = 7.0
    max_results: int = 10
    skip_title_prefix: tuple[str, ...] = ()
    skip_title_suffix: tuple[str, ...] = ()
    skip_body_contains: tuple[str, ...] = ()


@dataclass(frozen=True)
class BotSettings:
    projects: tuple[str, ...] = ()
    api: str = DEFAULT_API
    every_s: float = 120.0
    approve: frozenset[str] = frozenset()
    related: RelatedSettings = field(default_factory=RelatedSettings)
    commentfix: tuple[dict[str, Any], ...] = ()  # raw rules, for the fixer to parse


def check_project(name: str) -> str:
    """`owner/repo`, or ConfigError saying what a project name looks like."""
    if not _PROJECT.match(name):
        raise ConfigError(f"{name!r} is not a project: name it owner/repo")
    return name


def parse_duration(text: str | float | int) -> float:
    """Seconds from `90`, `90s`, `2m` or `1h`; ConfigError otherwise."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        match = _DURATION.match(str(text))
        if match is None:
            raise ConfigError(f"{text!r} is not a duration: use e.g. 90s, 2m or 1h")
        seconds = float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]
    if seconds <= 0:
        raise ConfigError(f"{text!r}: a duration must be positive")
    return seconds


def _strings(where: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(value)


def _number(where: str, value: Any, default: float, low: float, high: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"{where} must be a number from {low} to {high}")
    return float(value)


def bot_settings(files: ConfigFiles) -> BotSettings:
    """The `[bot]` table as settings (defaults where it says nothing); ConfigError, naming
    the file and the key, for anything malformed."""
    try:
        table = files.table("bot") or {}
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from None
    where = f"{files.path}: [bot]"
    try:
        projects = tuple(check_project(p) for p in _strings("projects", table.get("projects")))
        every_s = parse_duration(table.get("every", 120))
    except ConfigError as exc:
        raise ConfigError(f"{where} {exc}") from None
    api = table.get("api", DEFAULT_API)
    if not isinstance(api, str) or not api.startswith(("http://", "https://")):
        raise ConfigError(f"{where} api must be an http(s) URL")
    approve = frozenset(_strings(f"{where} approve", table.get("approve")))
    unknown = sorted(approve - set(JOBS))
    if unknown:
        raise ConfigError(f"{where} approve: unknown job {unknown[0]!r}; jobs: {', '.join(JOBS)}")
    related = table.get("related", {})
    if not isinstance(related, dict):
        raise ConfigError(f"{where} related must be a table ([bot.related])")
    r = f"{files.path}: [bot.related]"
    threshold = related.get("threshold")
    rules = table.get("commentfix", [])
    if not isinstance(rules, list) or not all(isinstance(rule, dict) for rule in rules):
        raise ConfigError(f"{where} commentfix must be an array of tables ([[bot.commentfix]])")
    return BotSettings(
        projects=projects,
        api=api.rstrip("/"),
        every_s=every_s,
        approve=approve,
        related=RelatedSettings(
            threshold=None if threshold is None else _number(f"{r} threshold", threshold, 0, -1, 1),
            window_days=_number(f"{r} window_days", related.get("window_days"), 7.0, 0, 36500),
            max_results=int(_number(f"{r} max_results", related.get("max_results"), 10, 1, 100)),
            skip_title_prefix=_strings(f"{r} skip_title_prefix", related.get("skip_title_prefix")),
            skip_title_suffix=_strings(f"{r} skip_title_suffix", related.get("skip_title_suffix")),
            skip_body_contains=_strings(
                f"{r} skip_body_contains", related.get("skip_body_contains")
            ),
        ),
        commentfix=tuple(rules),
    )
