"""Session files in Runme's format: outputs written into fences, and read back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from cairn.notebook import (
    CellRun,
    parse,
    pretty_duration,
    pretty_time,
    render_session,
    serialize,
    session_path,
    write_session,
)

SESSION = "01JD0TQ5H4X4ZW8E1F4B6E8T9C"
STARTED = datetime(2025, 11, 19, 21, 4, 17, tzinfo=UTC)

RUNBOOK = (
    "---\n# keep me\ntitle: demo\n---\n\n# Demo\n\n"
    '```sh {"name":"hello"}\necho hello\n```\n\n'
    "Some prose.\n\n"
    "- step\n\n  ```sh\n  false\n  ```\n\n"
    "```sh\nnot run\n```\n"
)


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def plus_two(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "XYZ-2")  # POSIX: two hours east of UTC, no tz database needed
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0s"),
        (0.0004, "0s"),
        (-1, "0s"),
        (0.001, "1ms"),
        (0.278, "278ms"),
        (1, "1s"),
        (4.765, "4.765s"),
        (12.5, "12.5s"),
        (60, "1m 0s"),
        (65.5, "1m 5.5s"),
        (3725.25, "1h 2m 5.25s"),
    ],
)
def test_pretty_duration_matches_runme(seconds: float, expected: str) -> None:
    assert pretty_duration(seconds) == expected


@pytest.mark.usefixtures("utc")
def test_pretty_time_in_utc_ends_with_z() -> None:
    assert pretty_time(STARTED) == "2025-11-19 21:04:17Z"


@pytest.mark.usefixtures("utc")
def test_pretty_time_converts_other_offsets_to_local_utc() -> None:
    moment = datetime(2025, 11, 19, 23, 4, 17, tzinfo=timezone(timedelta(hours=2)))
    assert pretty_time(moment) == "2025-11-19 21:04:17Z"


@pytest.mark.usefixtures("plus_two")
def test_pretty_time_outside_utc_keeps_the_offset() -> None:
    assert pretty_time(STARTED) == "2025-11-19 23:04:17+02:00"


def _runs() -> list[CellRun]:
    return [
        CellRun(index=0, text="hello\n", exit_code=0, started=STARTED, duration=0.278),
        CellRun(index=1, text="", exit_code=1, started=STARTED, duration=4.765),
    ]


@pytest.mark.usefixtures("utc")
def test_session_outputs_read_back_as_outputs_with_exit_codes() -> None:
    session = render_session(RUNBOOK, _runs(), SESSION, "README.md", STARTED)
    nb = parse(session)
    hello, step, not_run = nb.code_cells()

    assert [(o.text, o.exit_code, o.duration) for o in hello.outputs] == [("hello\n", 0, "278ms")]
    assert [(o.text, o.exit_code, o.duration) for o in step.outputs] == [("", 1, "4.765s")]
    assert hello.outputs[0].ran_at == "2025-11-19 21:04:17Z"
    assert not_run.outputs == []
    assert [c.source for c in nb.code_cells()] == ["echo hello\n", "false\n", "not run\n"]


@pytest.mark.usefixtures("utc")
def test_session_file_has_runme_header_lines_inside_fences() -> None:
    session = render_session(RUNBOOK, _runs(), SESSION, "README.md", STARTED)
    assert (
        '```sh {"name":"hello"}\necho hello\n\n'
        "# Ran on 2025-11-19 21:04:17Z for 278ms exited with 0\nhello\n```\n"
    ) in session
    assert (
        "  ```sh\n  false\n\n  # Ran on 2025-11-19 21:04:17Z for 4.765s exited with 1\n  ```\n"
    ) in session
    assert "```sh\nnot run\n```\n" in session


@pytest.mark.usefixtures("utc")
def test_session_frontmatter_records_session_and_document() -> None:
    session = render_session(RUNBOOK, _runs(), SESSION, "README.md", STARTED)
    fm = parse(session).frontmatter
    assert fm is not None
    assert fm.error is None
    assert fm.data is not None
    assert fm.data["title"] == "demo"
    assert fm.runme["session"] == {"id": SESSION, "updated": "2025-11-19 21:04:17Z"}
    assert fm.runme["document"] == {"relativePath": "README.md"}
    assert session.startswith("---\n# keep me\n")


@pytest.mark.usefixtures("utc")
def test_session_keeps_markup_bytes() -> None:
    session = render_session(RUNBOOK, _runs(), SESSION, "README.md", STARTED)
    assert "\n\n# Demo\n\n" in session
    assert "\n\nSome prose.\n\n- step\n\n" in session


@pytest.mark.usefixtures("utc")
def test_session_output_without_final_newline_gets_one() -> None:
    runs = [CellRun(index=2, text="no newline", exit_code=0, started=STARTED, duration=65.5)]
    nb = parse(render_session(RUNBOOK, runs, SESSION, "README.md", STARTED))
    out = nb.code_cells()[2].outputs
    assert [(o.text, o.duration) for o in out] == [("no newline\n", "1m 5.5s")]


@pytest.mark.usefixtures("utc")
def test_session_output_containing_a_fence_lengthens_the_fence() -> None:
    runs = [CellRun(index=2, text="```\nfenced\n```\n", exit_code=0, started=STARTED, duration=1)]
    session = render_session(RUNBOOK, runs, SESSION, "README.md", STARTED)
    cell = parse(session).code_cells()[2]
    assert cell.source == "not run\n"
    assert [o.text for o in cell.outputs] == ["```\nfenced\n```\n"]


@pytest.mark.usefixtures("utc")
def test_session_on_runbook_without_frontmatter_adds_one() -> None:
    text = "```sh\necho\n```\n"
    runs = [CellRun(index=0, text="\n", exit_code=0, started=STARTED, duration=0)]
    session = render_session(text, runs, SESSION, "a.md", STARTED)
    assert session.endswith(
        "---\n\n```sh\necho\n\n# Ran on 2025-11-19 21:04:17Z for 0s exited with 0\n\n```\n"
    )
    fm = parse(session).frontmatter
    assert fm is not None
    assert fm.runme["session"]["id"] == SESSION


@pytest.mark.usefixtures("utc")
def test_session_on_toml_frontmatter_adds_runme_tables() -> None:
    text = '+++\ntitle = "t"\n+++\n\n```sh\necho\n```\n'
    session = render_session(text, _runs()[:1], SESSION, "a.md", STARTED)
    fm = parse(session).frontmatter
    assert fm is not None
    assert fm.format == "toml"
    assert fm.error is None
    assert fm.runme["session"]["id"] == SESSION
    assert fm.runme["document"]["relativePath"] == "a.md"


@pytest.mark.usefixtures("utc")
def test_session_on_crlf_runbook_stays_crlf() -> None:
    text = RUNBOOK.replace("\n", "\r\n")
    session = render_session(text, _runs(), SESSION, "README.md", STARTED)
    assert "\n" not in session.replace("\r\n", "")
    assert [o.exit_code for o in parse(session).code_cells()[1].outputs] == [1]


def test_parsed_session_file_round_trips_and_keeps_outputs_when_code_is_edited() -> None:
    text = (
        "```sh\nfalse\n\n# Ran on 2025-11-19 21:04:17Z for 12ms exited with -1\nboom\nbang\n```\n"
    )
    nb = parse(text)
    assert serialize(nb) == text
    cell = nb.code_cells()[0]
    output = cell.outputs[0]
    assert (cell.source, output.text, output.exit_code) == ("false\n", "boom\nbang\n", -1)
    cell.source = "true\n"
    assert serialize(nb) == text.replace("false\n", "true\n", 1)


def test_session_header_without_exit_code_reads_as_output_with_no_code() -> None:
    cell = parse("```sh\nls\n\n# Ran on 2025-11-19 21:04:17Z for 1s\nout\n```\n").code_cells()[0]
    assert cell.source == "ls\n"
    assert [(o.text, o.exit_code, o.ran_at, o.duration) for o in cell.outputs] == [
        ("out\n", None, "2025-11-19 21:04:17Z", "1s")
    ]


def test_comment_that_resembles_a_session_header_stays_code() -> None:
    # A plain runbook (no session frontmatter) whose comment happens to start
    # "# Ran on ... for ..." must not lose the commands after it.
    text = "```sh\n# Ran on staging for the smoke test\nmake smoke\n```\n"
    cell = parse(text).code_cells()[0]
    assert "make smoke" in cell.source
    assert cell.outputs == []


def test_session_path_sits_next_to_the_runbook() -> None:
    assert session_path(Path("/docs/README.md"), SESSION) == Path(f"/docs/README-{SESSION}.md")


@pytest.mark.usefixtures("utc")
def test_write_session_writes_the_rendered_file(tmp_path: Path) -> None:
    runbook = tmp_path / "README.md"
    runbook.write_bytes(RUNBOOK.encode())
    target = write_session(runbook, RUNBOOK, _runs(), SESSION, STARTED)
    assert target == tmp_path / f"README-{SESSION}.md"
    expected = render_session(RUNBOOK, _runs(), SESSION, "README.md", STARTED)
    assert target.read_bytes() == expected.encode()
    assert runbook.read_bytes() == RUNBOOK.encode()
