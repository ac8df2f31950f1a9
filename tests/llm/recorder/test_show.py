"""`cairn debug show` and `cairn debug runs` as text: the header, the step tree, the
waterfall on one time axis, the runs table, and partial records that must still render."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pytest
from rich.cells import cell_len

from cairn.llm.recorder._data import Attempt, Step
from cairn.llm.recorder._show import (
    BAR,
    FIRST_BYTE,
    FIRST_TOKEN,
    OPEN,
    duration,
    render_run,
    render_runs_table,
)

from . import sample_tree as st


@dataclasses.dataclass
class Row:
    label: str
    bar: str
    note: str

    @property
    def first(self) -> int:
        return len(self.bar) - len(self.bar.lstrip())

    @property
    def filled(self) -> int:
        return sum(cell != " " for cell in self.bar)


def _waterfall(text: str) -> list[Row]:
    """The bar rows of the waterfall section."""
    lines = text.split("waterfall\n", 1)[1].splitlines()
    rows = []
    for line in lines[1:]:  # the first line is the scale
        if line.count("│") != 2:
            break
        label, bar, note = line.split("│")
        rows.append(Row(label.strip(), bar, note.strip()))
    return rows


def _field(text: str, key: str) -> str:
    for line in text.splitlines():
        if line.startswith(f"{key} "):
            return line[len(key) :].strip()
    raise AssertionError(f"no {key!r} line in:\n{text}")


def test_header_summarizes_the_run() -> None:
    text = render_run(st.retried_run())
    assert _field(text, "run") == "R  (prompt)"
    assert _field(text, "title") == st.QUESTION
    assert _field(text, "status") == "completed"
    assert _field(text, "duration") == "2.00 s"
    assert _field(text, "steps") == "2 (3 HTTP attempts)"
    assert _field(text, "tokens") == "160 in / 35 out (cache: 64 read, 0 written)"
    assert _field(text, "cost") == "$0.000120"
    assert _field(text, "errors") == "step 1: 2 failed attempts, then success"
    started = datetime.fromisoformat(_field(text, "started"))
    assert started.tzinfo is not None
    assert started.timestamp() == st.T0 / 1e9


def test_unknown_cost_and_run_errors_are_spelled_out() -> None:
    text = render_run(st.error_run())
    assert _field(text, "cost") == "unknown"
    lines = text.splitlines()
    at = lines.index("errors    run: ProviderError: max_tokens: must be at most 8192")
    assert lines[at + 1].strip() == "step 1: ProviderError: max_tokens: must be at most 8192"


def test_tree_shows_steps_attempts_codes_and_first_token_times() -> None:
    text = render_run(st.retried_run(), width=200)  # wide enough not to wrap
    tree = text.split("waterfall\n")[0]
    step1 = next(line for line in tree.splitlines() if "step 1 ·" in line)
    assert "TTFB 600 ms" in step1 and "TTFT 700 ms" in step1
    assert "openai gpt-4o-mini → gpt-4o-mini-2024-07-18" in step1
    assert "120 in / 30 out" in step1 and "finish stop" in step1
    attempts = [line for line in tree.splitlines() if "attempt " in line]
    assert [a.split("attempt ")[1][:12] for a in attempts] == [
        "1 · HTTP 429",
        "2 · HTTP 500",
        "3 · HTTP 200",
    ]
    assert "500 ms" in attempts[2] and "TTFB 100 ms" in attempts[2] and st.URL in attempts[2]
    assert "error RateLimitError: rate limited, retry after 1s" in tree
    assert "error InternalServerError: internal server error" in tree
    step2 = next(line for line in tree.splitlines() if "step 2 ·" in line)
    assert "no HTTP attempts" in step2 and "TTFT" not in step2
    # attempts hang under their step in the tree
    assert tree.index("step 1 ·") < tree.index("attempt 1 ·") < tree.index("step 2 ·")


def test_waterfall_has_one_row_per_step_and_attempt_in_order() -> None:
    rows = _waterfall(render_run(st.retried_run()))
    assert [r.label for r in rows] == [
        "step 1 gpt-4o-mini",
        "attempt 1 POST",
        "attempt 2 POST",
        "attempt 3 POST",
        "step 2 gemma3-270m",
    ]
    assert [r.note for r in rows] == ["1.00 s", "100 ms 429", "200 ms 500", "500 ms 200", "1.00 s"]
    starts = [r.first for r in rows]
    assert starts[1] < starts[2] < starts[3] < starts[4]


@pytest.mark.parametrize("width", [60, 100, 160])
def test_waterfall_bars_are_proportional_to_time(width: int) -> None:
    rows = _waterfall(render_run(st.retried_run(), width=width))
    step1, a1, a2, a3, step2 = rows
    cells = len(step2.bar)
    # step 2 ran 1000-2000 ms of a 2000 ms run: the right half of the axis
    assert abs(step2.filled - cells / 2) <= 1
    assert abs(step2.first - cells / 2) <= 1
    assert step2.bar.rstrip() == step2.bar  # reaches the end of the axis
    assert step1.first == 0 and abs(step1.filled - cells / 2) <= 1
    assert abs(a2.first - cells * 0.1) <= 1 and abs(a2.filled - cells * 0.1) <= 1
    assert abs(a3.filled - cells * 0.25) <= 1
    assert a1.filled < a2.filled < a3.filled


def test_first_byte_and_first_token_are_marked_inside_bars() -> None:
    text = render_run(st.retried_run())
    step1, _, _, a3, step2 = _waterfall(text)
    cells = len(step1.bar)
    byte_at, token_at = step1.bar.index(FIRST_BYTE), step1.bar.index(FIRST_TOKEN)
    assert abs(byte_at - cells * 0.3) <= 1 and abs(token_at - cells * 0.35) <= 1
    assert set(step1.bar.strip()) == {BAR, FIRST_BYTE, FIRST_TOKEN}
    assert FIRST_BYTE in a3.bar and FIRST_TOKEN not in a3.bar
    assert set(step2.bar.strip()) == {BAR}  # a local generate(): neither
    legend = text.rstrip().splitlines()[-1]
    assert all(mark in legend for mark in (BAR, OPEN, FIRST_BYTE, FIRST_TOKEN))


def test_in_progress_run_renders_open_bars_to_the_last_recorded_time() -> None:
    text = render_run(st.in_progress_run())
    assert _field(text, "duration") == "900 ms so far"
    assert _field(text, "status") == "in_progress"
    step1, _, step2, attempt2, step3 = _waterfall(text)
    assert set(step1.bar.strip()) <= {BAR, FIRST_BYTE, FIRST_TOKEN}
    assert set(step2.bar.strip()) == {OPEN, FIRST_BYTE}
    assert step2.bar.rstrip() == step2.bar and attempt2.bar.rstrip() == attempt2.bar
    assert step3.filled == 1 and step3.bar.endswith(OPEN)
    assert step2.note == "400 ms …" and step3.note == "0 ms …"
    assert attempt2.note == "390 ms 200 …"
    assert "step 2 · in_progress · 400 ms so far" in text


def test_run_without_steps_or_duration_renders() -> None:
    for tree in (st.empty_run(), st.empty_run("in_progress", end_ms=None)):
        text = render_run(tree)
        assert "no steps recorded" in text
        assert "(no steps)" in text
        assert _field(text, "steps") == "0 (0 HTTP attempts)"
        assert _field(text, "duration").startswith("0 ms")
        assert _waterfall(text) == []


def test_zero_duration_steps_still_get_a_cell() -> None:
    step = st.step(1, start_ms=0, end_ms=0, status="completed", first_token_ns=st.T0)
    tree = st.tree(st.new_run(end_ms=0), [(step, [])])
    (row,) = _waterfall(render_run(tree))
    assert row.bar.strip() == FIRST_TOKEN
    assert row.first == 0


def test_missing_timings_render_as_unknown() -> None:
    step = dataclasses.replace(
        st.step(1, start_ms=0, end_ms=None, status="interrupted"), usage={}, cost_usd=None
    )
    silent = Attempt("R", 1, 1, "POST", st.URL, st.at(5))  # no status, no first byte, no end
    tree = st.tree(st.new_run("interrupted", end_ms=None), [(step, [silent])])
    text = render_run(tree, width=160)
    # Nothing ended: the run reaches the last recorded time (the attempt's start, 5 ms);
    # the step runs to the run's end, the attempt to the step's.
    assert _field(text, "duration") == "≥ 5.0 ms"
    assert "step 1 · interrupted · ≥ 5.0 ms ·" in text
    assert "attempt 1 · no response · ≥ 0 ms ·" in text
    assert _field(text, "errors") == "run: interrupted"
    step_row, attempt_row = _waterfall(text)
    assert step_row.note == "5.0 ms ✗" and attempt_row.note == "0 ms …"
    assert set(step_row.bar.strip()) == {OPEN}


def test_step_that_finished_after_the_run_end_is_clipped_to_the_axis() -> None:
    late = st.step(1, start_ms=500, end_ms=3000, status="completed")
    early = st.step(2, start_ms=-100, end_ms=100, status="completed")
    tree = st.tree(st.new_run(end_ms=1000), [(late, []), (early, [])])
    late_row, early_row = _waterfall(render_run(tree))
    assert late_row.bar.rstrip() == late_row.bar
    assert early_row.first == 0
    assert late_row.note == "2.50 s"


def test_lines_fit_the_width() -> None:
    for width in (60, 100, 140):
        text = render_run(st.retried_run(), width=width)
        body = text.split(f"title     {st.QUESTION}\n")[1]
        assert max(cell_len(line) for line in body.splitlines()) <= width


def test_child_runs_are_listed_after_the_waterfall() -> None:
    text = render_run(st.family_run())
    assert "child runs (2)" in text
    children = text.split("child runs (2)")[1]
    assert "C0" in children and "suggestion" in children and "300 ms" in children
    assert "C1" in children and "check" in children
    assert _field(text, "parent") == "P"
    assert _field(text, "attrs") == "job=triage"


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (None, "—"),
        (0, "0 ms"),
        (2_500_000, "2.5 ms"),
        (250_000_000, "250 ms"),
        (999_000_000, "999 ms"),
        (1_000_000_000, "1.00 s"),
        (83_456_000_000, "83.46 s"),
    ],
)
def test_durations_are_human_readable(ns: int | None, text: str) -> None:
    assert duration(ns) == text


def _runs() -> list[dict[str, Any]]:
    """A completed run, a failed one, one still running, and one that went on after a
    step failed."""
    recovered = st.error_run()["run"] | {"status": "completed", "error": None}
    runs = [st.retried_run()["run"], st.error_run()["run"], st.in_progress_run()["run"], recovered]
    return [run | {"id": f"01JZ8Q3V5K2N7XG4WQ0M9TB6C{i}"} for i, run in enumerate(runs)]


def test_runs_table_has_a_row_per_run_with_every_column() -> None:
    text = render_runs_table(_runs(), width=160)
    lines = text.splitlines()
    header = lines[0].split()
    assert header[:3] == ["id", "started", "kind"]
    for name in ("status", "steps", "tokens", "in/out", "cost", "duration", "title"):
        assert name in header
    completed, failed, running, recovered = (line for line in lines if line.startswith("01JZ"))
    assert completed.split()[0] == "01JZ8Q3V5K2N7XG4WQ0M9TB6C0"
    assert completed.split()[3:5] == ["prompt", "completed"]
    assert "160 / 35" in completed and "$0.000120" in completed
    assert "2.00 s" in completed and completed.endswith(st.QUESTION)
    assert failed.split()[4] == "error" and "unknown" in failed and "300 ms" in failed
    assert running.split()[3:5] == ["agent_turn", "in_progress"] and "running" in running
    assert recovered.split()[4] == "completed*"
    assert text.rstrip().endswith("* a step failed, and the run went on")
    assert "*" not in render_runs_table(_runs()[:3], width=160)


def test_runs_table_keeps_ids_and_titles_on_narrow_terminals() -> None:
    for width in (120, 80, 60):
        text = render_runs_table(_runs(), width=width)
        lines = text.splitlines()
        assert max(cell_len(line) for line in lines) <= width
        assert "title" in lines[0]
        rows = [line for line in lines if line.startswith("01JZ")]
        assert len(rows) == 4
        assert rows[0].startswith("01JZ8Q3V5K2N7XG4WQ0M9TB6C0 ")  # ids are typed back whole
    assert "tokens in/out" not in render_runs_table(_runs(), width=60)


def test_markup_and_escape_codes_never_leak() -> None:
    tree = st.retried_run()
    tree["run"]["title"] = "[bold]why[/bold] is it :fire:"
    text = render_run(tree) + render_runs_table([tree["run"]])
    assert text.count("[bold]why[/bold] is it :fire:") == 2
    assert "\x1b" not in text


def test_steps_are_rendered_from_their_records_not_the_run_summary() -> None:
    tree = st.retried_run()
    tree["run"]["summary"] = {}  # an interrupted writer may leave the summary behind
    extra = Step("R", 3, "generate", "openai", "gpt-4o-mini", st.at(1500), status="in_progress")
    tree["steps"].append(extra.to_dict() | {"attempt_records": []})
    text = render_run(tree)
    assert _field(text, "steps") == "3 (3 HTTP attempts)"
    assert _field(text, "tokens").startswith("160 in / 35 out")
    assert _field(text, "cost") == "$0.000120"  # the running step has no cost yet
