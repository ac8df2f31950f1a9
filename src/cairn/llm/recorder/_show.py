"""Plain-text reports of recorded runs for `cairn debug`: one run as a header, a tree of
its steps and attempts and a waterfall on one time axis (`render_run`), and a table of
runs (`render_runs_table`). Records may be partial: any timing can be missing.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, JustifyMethod, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ._data import Summary

BAR = "█"  # running
OPEN = "░"  # no end recorded: drawn to where its parent ends (the run: its last record)
FIRST_BYTE = "◇"
FIRST_TOKEN = "◆"
LEGEND = (
    f"{BAR} running",
    f"{OPEN} no end yet (drawn to the last recorded time)",
    f"{FIRST_BYTE} first byte",
    f"{FIRST_TOKEN} first token",
)
_TIMES = ("started_ns", "first_byte_ns", "first_token_ns", "ended_ns")
_OPEN = ("in_progress",)
_FAILED = ("error", "interrupted")


def render_run(tree: dict[str, Any], *, width: int = 100) -> str:
    """One run (as `RecordStore.tree` returns it): header, step tree, waterfall, and
    its child runs."""
    run = tree["run"]
    steps: list[dict[str, Any]] = tree.get("steps") or []
    axis = _Axis.of(run, steps)
    parts = [
        _header(run, steps, axis),
        _render(_step_tree(run, steps, axis), width),
        _waterfall(steps, axis, width),
    ]
    children = tree.get("children") or []
    if children:
        parts.append(f"child runs ({len(children)})\n" + render_runs_table(children, width=width))
    return "\n".join(parts)


def render_runs_table(runs: Sequence[dict[str, Any]], *, width: int = 120) -> str:
    """Runs (records with their summaries) as a table, one row each, in the given order.
    The title takes the room left; on a narrow terminal the least useful columns go."""
    rows = [_run_row(run) for run in runs]
    widths = _column_widths(rows, width)
    table = Table(
        box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1), collapse_padding=True
    )
    shown = [i for i, (name, _) in enumerate(_COLUMNS) if name in widths]
    for i in shown:
        name, justify = _COLUMNS[i]
        table.add_column(
            name, justify=justify, width=widths[name], no_wrap=True, overflow="ellipsis"
        )
    for row in rows:
        table.add_row(*(Text(row[i]) for i in shown))
    text = _render(table, width)
    if any(row[3].endswith("*") for row in rows):  # the status column
        text += "* a step failed, and the run went on\n"
    return text


# -- time --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Axis:
    """The run's time axis, from its start to its end (or, while it runs, the last
    time anything in it was recorded)."""

    start: int
    end: int

    @staticmethod
    def of(run: dict[str, Any], steps: Sequence[dict[str, Any]]) -> _Axis:
        start = int(run.get("started_ns") or 0)
        ended = run.get("ended_ns")
        end = _last_known(start, [run, *_records(steps)]) if ended is None else int(ended)
        return _Axis(start, max(start, end))

    @property
    def span(self) -> int:
        return max(self.end - self.start, 1)  # a zero-length run still gets a column

    def fraction(self, at: int) -> float:
        return min(max((at - self.start) / self.span, 0.0), 1.0)


def _records(steps: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    records = list(steps)
    for step in steps:
        records.extend(step.get("attempt_records") or [])
    return records


def _last_known(start: int, records: Iterable[dict[str, Any]]) -> int:
    times = [int(r[k]) for r in records for k in _TIMES if r.get(k) is not None]
    return max([start, *times])


def _end(record: dict[str, Any], open_end: int) -> int:
    """When `record` ended; one still open runs until `open_end` (its parent's end)."""
    start = int(record.get("started_ns") or 0)
    ended = record.get("ended_ns")
    return max(start, open_end if ended is None else int(ended))


def duration(ns: int | None) -> str:
    """`ns` as ms below a second, else seconds with two decimals; "—" when unknown."""
    if ns is None:
        return "—"
    if ns < 1_000_000_000:
        ms = ns / 1e6
        return f"{ms:.0f} ms" if ms >= 10 or ms == 0 else f"{ms:.1f} ms"
    return f"{ns / 1e9:.2f} s"


def _since(record: dict[str, Any], key: str) -> int | None:
    at, start = record.get(key), record.get("started_ns")
    return None if at is None or start is None else int(at) - int(start)


def _elapsed(record: dict[str, Any], open_end: int, running: bool) -> str:
    """How long `record` took; with no end recorded, how long it has run so far (or, once
    its run stopped without saying when it ended, at least how long)."""
    text = duration(_end(record, open_end) - int(record.get("started_ns") or 0))
    if record.get("ended_ns") is not None:
        return text
    return f"{text} so far" if running else f"≥ {text}"


def _iso(ns: int | None) -> str:
    if ns is None:
        return "—"
    return datetime.fromtimestamp(ns / 1e9).astimezone().isoformat(timespec="milliseconds")


# -- header ------------------------------------------------------------------------------


def _header(run: dict[str, Any], steps: Sequence[dict[str, Any]], axis: _Axis) -> str:
    totals = _totals(steps)
    status = str(run.get("status") or "unknown")
    rows = [
        ("run", f"{run.get('id')}  ({run.get('kind') or 'other'})"),
        ("title", _one_line(run.get("title")) or "—"),
        ("status", status),
        ("started", _iso(run.get("started_ns"))),
        ("duration", _elapsed(run, axis.end, status in _OPEN)),
        ("steps", f"{totals.steps} ({_plural(totals.attempts, 'HTTP attempt')})"),
        ("tokens", _tokens(totals)),
        ("cost", _cost(totals.cost_usd)),
    ]
    if run.get("parent_id"):
        rows.append(("parent", str(run["parent_id"])))
    attrs = run.get("attrs") or {}
    if attrs:
        rows.append(("attrs", ", ".join(f"{k}={v}" for k, v in attrs.items())))
    errors = _errors(run, steps) or ["none"]
    rows.extend(("errors" if i == 0 else "", error) for i, error in enumerate(errors))
    return "\n".join(f"{key:<9} {value}".rstrip() for key, value in rows) + "\n"


def _totals(steps: Sequence[dict[str, Any]]) -> Summary:
    """Totals of the steps in the tree, by the recorder's own rule; steps still running
    have no usage or cost yet and are left out."""
    totals = Summary()
    for step in steps:
        if step.get("status") not in _OPEN:
            totals.add_step(step)
    totals.steps = len(steps)
    totals.attempts = sum(len(s.get("attempt_records") or []) for s in steps)
    return totals


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _tokens(totals: Summary) -> str:
    text = f"{totals.input_tokens:,} in / {totals.output_tokens:,} out"
    if totals.cache_read_tokens or totals.cache_write_tokens:
        cache = f"{totals.cache_read_tokens:,} read, {totals.cache_write_tokens:,} written"
        text += f" (cache: {cache})"
    return text


def _cost(cost: float | None) -> str:
    if cost is None:
        return "unknown"
    if cost == 0:
        return "$0"
    return f"${cost:.4f}" if cost >= 0.01 else f"${cost:.6f}"


def _errors(run: dict[str, Any], steps: Sequence[dict[str, Any]]) -> list[str]:
    errors = []
    if run.get("error"):
        errors.append(f"run: {_error(run['error'])}")
    elif run.get("status") == "interrupted":
        errors.append("run: interrupted")
    for step in steps:
        if step.get("error"):
            errors.append(f"step {step.get('seq')}: {_error(step['error'])}")
        elif step.get("status") == "interrupted":
            errors.append(f"step {step.get('seq')}: interrupted")
        failed = [a for a in step.get("attempt_records") or [] if _attempt_failed(a)]
        if failed and step.get("status") == "completed":
            tries = _plural(len(failed), "failed attempt")
            errors.append(f"step {step.get('seq')}: {tries}, then success")
    return errors


def _attempt_failed(attempt: dict[str, Any]) -> bool:
    code = attempt.get("status_code")
    return bool(attempt.get("error")) or (code is not None and int(code) >= 400)


def _error(error: dict[str, Any]) -> str:
    return _one_line(f"{error.get('type') or 'error'}: {error.get('message') or ''}", 200)


def _one_line(text: Any, limit: int = 120) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# -- step tree ---------------------------------------------------------------------------


def _step_tree(run: dict[str, Any], steps: Sequence[dict[str, Any]], axis: _Axis) -> Tree:
    root = Tree(Text(f"run {run.get('id')} · {run.get('status') or 'unknown'}"))
    if not steps:
        root.add(Text("no steps recorded"))
    for step in steps:
        end = _end(step, axis.end)
        running = step.get("status") in _OPEN
        node = root.add(_label(_step_label(step, axis.end, running), step))
        for attempt in step.get("attempt_records") or []:
            node.add(_label(_attempt_label(attempt, end, running), attempt))
    return root


def _label(parts: list[str], record: dict[str, Any]) -> Text:
    """The facts on one line (longest last, where wrapping hurts least), the error on
    the next."""
    text = " · ".join(parts)
    if record.get("error"):
        text += f"\nerror {_error(record['error'])}"
    return Text(text)


def _step_label(step: dict[str, Any], open_end: int, running: bool) -> list[str]:
    model = str(step.get("request_model") or "?")
    answered = step.get("response_model")
    if answered and answered != model:
        model += f" → {answered}"
    parts = [
        f"step {step.get('seq')}",
        str(step.get("status") or "unknown"),
        _elapsed(step, open_end, running),
        *_firsts(step),
    ]
    usage = step.get("usage") or {}
    if usage:
        parts.append(f"{usage.get('input_tokens', 0):,} in / {usage.get('output_tokens', 0):,} out")
    if step.get("status") not in _OPEN and step.get("mode") not in ("tool", "speculation"):
        parts.append(_cost(step.get("cost_usd")))
    if step.get("finish_reason"):
        parts.append(f"finish {step['finish_reason']}")
    if step.get("tool_calls"):
        parts.append("tools " + ", ".join(str(c.get("name")) for c in step["tool_calls"]))
    parts.append(str(step.get("mode") or "?"))
    if not step.get("attempt_records") and step.get("mode") not in ("tool", "speculation"):
        parts.append("no HTTP attempts")
    response = step.get("response") or {}
    if step.get("mode") in ("tool", "speculation") and isinstance(response, dict):
        flags = [str(response.get("outcome") or "")]
        if response.get("speculative"):
            flags.append(f"speculative ({response.get('source')})")
        if response.get("wasted_tokens"):
            flags.append(f"{response['wasted_tokens']} tokens wasted")
        if response.get("error"):
            flags.append(f"tool error: {response['error']}")
        parts.append(" ".join(f for f in flags if f))
    parts.append(f"{step.get('provider') or '?'} {model}")
    return parts


def _attempt_label(attempt: dict[str, Any], open_end: int, running: bool) -> list[str]:
    code = attempt.get("status_code")
    parts = [
        f"attempt {attempt.get('seq')}",
        f"HTTP {code}" if code is not None else "no response",
        _elapsed(attempt, open_end, running),
        *_firsts(attempt),
    ]
    if attempt.get("body_bytes"):
        parts.append(f"{int(attempt['body_bytes']):,} bytes")
    parts.append(f"{attempt.get('method') or '?'} {attempt.get('url') or ''}".rstrip())
    return parts


def _firsts(record: dict[str, Any]) -> list[str]:
    """Time to first byte and to first token, where known."""
    out = []
    for name, key in (("TTFB", "first_byte_ns"), ("TTFT", "first_token_ns")):
        since = _since(record, key)
        if since is not None:
            out.append(f"{name} {duration(since)}")
    return out


# -- waterfall ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    label: str
    record: dict[str, Any]
    end: int  # when the record ended, or its parent's end while it is open
    note: str


def _waterfall(steps: Sequence[dict[str, Any]], axis: _Axis, width: int) -> str:
    """One row per step and attempt: a bar from its start to its end on the run's axis."""
    rows = _rows(steps, axis)
    label_w = max(12, min(28, width // 4))
    note_w = max([len(r.note) for r in rows] + [len(duration(axis.end - axis.start))])
    bar_w = max(10, width - label_w - note_w - 4)
    lines = ["waterfall", f"{'':<{label_w}} │{_scale(axis, bar_w)}│"]
    for row in rows:
        bar = _bar(row.record, row.end, axis, bar_w)
        lines.append(f"{_fit(row.label, label_w):<{label_w}} │{bar}│ {row.note}".rstrip())
    if not rows:
        lines.append("(no steps)")
    lines.extend(_wrap(LEGEND, width))
    return "\n".join(lines) + "\n"


def _wrap(items: Sequence[str], width: int, gap: str = "   ") -> list[str]:
    """`items` joined by `gap` into lines of at most `width` (unless one item is wider)."""
    lines = [items[0]]
    for item in items[1:]:
        if cell_len(lines[-1] + gap + item) <= width:
            lines[-1] += gap + item
        else:
            lines.append(item)
    return lines


def _rows(steps: Sequence[dict[str, Any]], axis: _Axis) -> list[_Row]:
    rows = []
    for step in steps:
        end = _end(step, axis.end)
        label = f"step {step.get('seq')} {step.get('request_model') or ''}"
        rows.append(_Row(label, step, end, _note(step, end, _step_mark(step))))
        for attempt in step.get("attempt_records") or []:
            label = f"  attempt {attempt.get('seq')} {attempt.get('method') or ''}"
            note = _note(attempt, end, _attempt_mark(attempt))
            rows.append(_Row(label, attempt, _end(attempt, end), note))
    return rows


def _step_mark(step: dict[str, Any]) -> str:
    """… still running, ✗ failed or interrupted, nothing when it completed."""
    status = step.get("status")
    return "…" if status in _OPEN else "✗" if status in _FAILED else ""


def _attempt_mark(attempt: dict[str, Any]) -> str:
    """The status code (✗ when the try got none), and … while no end is recorded."""
    code = attempt.get("status_code")
    if attempt.get("ended_ns") is None:
        return "…" if code is None else f"{code} …"
    return "✗" if code is None else str(code)


def _note(record: dict[str, Any], open_end: int, mark: str) -> str:
    return (
        f"{duration(_end(record, open_end) - int(record.get('started_ns') or 0))} {mark}".rstrip()
    )


def _scale(axis: _Axis, width: int) -> str:
    left, right = "0", duration(axis.end - axis.start)
    return left + right.rjust(width - len(left)) if width > len(left) + len(right) else " " * width


def _bar(record: dict[str, Any], end: int, axis: _Axis, width: int) -> str:
    """`record` from its start to `end` as block cells, with its first byte and first
    token marked; at least one cell however short."""
    first = min(
        round(axis.fraction(int(record.get("started_ns") or axis.start)) * width), width - 1
    )
    last = max(first + 1, round(axis.fraction(end) * width))
    cells = [" "] * width
    fill = OPEN if record.get("ended_ns") is None else BAR
    cells[first:last] = fill * (last - first)
    for key, mark in (("first_byte_ns", FIRST_BYTE), ("first_token_ns", FIRST_TOKEN)):
        if record.get(key) is not None:
            at = int(axis.fraction(int(record[key])) * width)
            cells[min(max(at, first), last - 1)] = mark
    return "".join(cells)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# -- runs table --------------------------------------------------------------------------

_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("id", "left"),
    ("started", "left"),
    ("kind", "left"),
    ("status", "left"),
    ("steps", "right"),
    ("tokens in/out", "right"),
    ("cost", "right"),
    ("duration", "right"),
    ("title", "left"),
)
_DROP_FIRST = ("steps", "started", "cost", "tokens in/out", "kind", "duration")
_GAP = 2  # between columns (collapsed padding)
_MIN_TITLE = 10


def _column_widths(rows: Sequence[list[str]], width: int) -> dict[str, int]:
    """Each shown column's width: its widest cell, the title the rest (at least
    _MIN_TITLE, dropping columns in _DROP_FIRST order until it fits)."""
    natural = {
        name: max([cell_len(name), *(cell_len(row[i]) for row in rows)])
        for i, (name, _) in enumerate(_COLUMNS)
    }
    title = natural.pop("title")
    drop = list(_DROP_FIRST)

    def room() -> int:
        return width - sum(natural.values()) - _GAP * len(natural)

    while room() < min(_MIN_TITLE, title) and drop:
        del natural[drop.pop(0)]
    natural["title"] = max(cell_len("title"), min(title, room()))
    return natural


def _run_row(run: dict[str, Any]) -> list[str]:
    summary = run.get("summary") or {}
    status = str(run.get("status") or "unknown")
    if summary.get("has_error") and status != "error":
        status += "*"
    started = run.get("started_ns")
    ended = run.get("ended_ns")
    if ended is not None and started is not None:
        took = duration(max(int(ended) - int(started), 0))
    else:
        took = "running" if run.get("status") in _OPEN else "—"
    when = (
        "—" if started is None else datetime.fromtimestamp(started / 1e9).strftime("%m-%d %H:%M:%S")
    )
    return [
        str(run.get("id") or "?"),
        when,
        str(run.get("kind") or "other"),
        status,
        str(summary.get("steps", 0)),
        f"{int(summary.get('input_tokens', 0)):,} / {int(summary.get('output_tokens', 0)):,}",
        _cost(summary.get("cost_usd", 0.0)),
        took,
        _one_line(run.get("title")),
    ]


def _render(renderable: RenderableType, width: int) -> str:
    """Plain text, no colour or escape codes, lines stripped of trailing blanks."""
    console = Console(
        file=io.StringIO(),
        width=width,
        color_system=None,
        force_terminal=False,
        highlight=False,
        emoji=False,
        markup=False,
    )
    with console.capture() as capture:
        console.print(renderable)
    return "\n".join(line.rstrip() for line in capture.get().splitlines()) + "\n"
