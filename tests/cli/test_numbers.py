"""Every numeric option is checked where it is parsed: NaN, infinities, negative and
absurdly large values are usage errors (exit 2) that name the option and the range,
never an internal error further down; so are bad `timeout` attributes of cells."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

Cairn = Callable[..., subprocess.CompletedProcess[str]]
HUGE = "99999999999999999999"

# (command and arguments before the option, option, bad values)
CASES: list[tuple[tuple[str, ...], str, tuple[str, ...]]] = [
    (("run", "a"), "--output-limit", ("nan", "inf", "-inf", "-1", "0", "1e300")),
    (("run", "a"), "--timeout", (HUGE, "nan", "inf", "-1", "0", "169h")),
    (("suggest", "book.md"), "--timeout", ("nan", "inf", "0", HUGE)),
    (("suggest", "book.md"), "--accept", ("0", HUGE)),
    (("suggest", "book.md"), "--n", ("0", HUGE)),
    (("debug", "runs"), "--limit", ("0", HUGE)),
    (("debug", "prune"), "--max-age-days", ("nan", "inf", "-1", "1e300")),
    (("debug", "prune"), "--max-size-mb", ("nan", "inf", "-1", "1e300")),
    (("eval", "dataset"), "--limit", ("0", HUGE)),
    (("index", "add", "book.md"), "--batch-size", ("0", HUGE)),
    (("index", "search", "query"), "--k", ("0", "-3", HUGE)),
    (("learn",), "--interval", ("nan", "inf", "0", "1e300")),
    (("logs", "tail"), "-n", ("-1", HUGE)),
    (("prompt", "hi"), "--max-tokens", ("0", "-5", HUGE)),
    (("prompt", "hi"), "--temperature", ("nan", "inf", "-1", "3")),
    (("serve",), "--port", ("-1", "70000")),
    (("serve",), "--max-executions", ("0", HUGE)),
    (("serve",), "--max-body-mb", ("0", HUGE)),
]


@pytest.mark.parametrize(
    ("before", "option", "value"),
    [(before, option, value) for before, option, values in CASES for value in values],
    ids=lambda part: " ".join(part) if isinstance(part, tuple) else str(part),
)
def test_a_bad_number_is_a_usage_error_naming_the_option_and_its_range(
    cairn: Cairn, tmp_path: Path, before: tuple[str, ...], option: str, value: str
) -> None:
    (tmp_path / "book.md").write_text('```sh {"name":"a"}\necho a\n```\n')
    (tmp_path / "README.md").write_text('```sh {"name":"a"}\necho a\n```\n')
    (tmp_path / "dataset").mkdir()
    # `--opt=-1`: a separate "-1" would read as an option to an optional-value option.
    given = [f"{option}={value}"] if option.startswith("--") else [option, value]
    result = cairn("--config-dir", str(tmp_path / "cfg"), *before, *given, cwd=tmp_path)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"Error: Invalid value for '{option}'"), result.stderr
    assert "<=" in error or "at most" in error, error  # the accepted range is stated
    assert not (tmp_path / "cfg" / "logs").exists()  # nothing ran, nothing was logged


@pytest.mark.parametrize("value", ["soon", "-1", "0", HUGE, "200h", "1" * 400])
def test_a_bad_timeout_attribute_stops_the_run_before_any_cell_runs(
    cairn: Cairn, runbook: Callable[[str], Path], tmp_path: Path, value: str
) -> None:
    marker = tmp_path / "first-ran"
    path = runbook(
        f'```sh {{"name":"first","interactive":"false"}}\ntouch {marker}\n```\n\n'
        f'```sh {{"name":"slow","timeout":"{value}"}}\nsleep 1\n```\n'
    )
    result = cairn("run", "--all", "--file", str(path), "--config-dir", str(tmp_path / "cfg"))
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "cell 'slow' at line 5" in lines[0] and "invalid timeout" in lines[0]
    assert not marker.exists()
    logged = "".join(p.read_text() for p in (tmp_path / "cfg").glob("logs/*.jsonl"))
    assert "session.started" not in logged  # no session half-recorded


def test_a_timeout_of_a_week_is_accepted_and_does_not_overflow(
    cairn: Cairn, runbook: Callable[[str], Path], tmp_path: Path
) -> None:
    path = runbook('```sh {"name":"a","interactive":"false"}\necho fine\n```\n')
    result = cairn(
        "run", "a", "--timeout", "168h", "--file", str(path), "--config-dir", str(tmp_path / "c")
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "fine\n"
