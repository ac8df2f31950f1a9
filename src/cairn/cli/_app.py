"""The click application: argument parsing and printing only.

click rather than typer: typer 0.29 builds pydantic adapters for every parameter
(~55 ms) and older typer imports rich eagerly (~45 ms); the kernel's start-up budget
(`cairn run` within 120 ms of `bash -c true`, bench/kernel.py) leaves no room for either.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from ..kernel import (
    CellResult,
    CellSpec,
    KernelError,
    RunOptions,
    Session,
    StopSignals,
    cell_spec,
    run_cells,
    session_for,
    session_record,
)
from ..notebook import (
    IDENTITY_MODES,
    Cell,
    Notebook,
    NotebookError,
    apply_identity,
    duplicate_message,
    duplicate_names,
    find_cell,
    format_diagnostics,
    from_ipynb,
    load,
    new_ulid,
    parse,
    read_text,
    select_cells,
    serialize,
    to_ipynb,
    to_json,
    write_atomic,
    write_session,
)
from . import _tty
from ._params import Duration, Finite
from ._settings import common_options, settings

DEFAULT_FILE = "README.md"
_PATH = click.Path(path_type=Path, dir_okay=True)
file_option = click.option(
    "--file",
    "-f",
    "file",
    type=_PATH,
    default=DEFAULT_FILE,
    show_default=True,
    help="Markdown runbook.",
)


def usage_error(exc: Exception) -> int | None:
    """Exit code for click's own errors (printed the way click prints them)."""
    if isinstance(exc, click.exceptions.Exit):
        return int(exc.exit_code)
    if isinstance(exc, click.Abort):
        _err("cairn: aborted")
        return 1
    if isinstance(exc, click.ClickException):
        exc.show()
        return int(exc.exit_code)
    return None


def _err(message: str) -> None:
    # After a SIGHUP the terminal may be gone (EIO): the run must still finish its records.
    with contextlib.suppress(OSError):
        print(message, file=sys.stderr, flush=True)


def _emit(text: str, output: Path | None, *, force: bool = False) -> None:
    """Write to `output` atomically, or to stdout when no output file is given."""
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomic(output, text, force=force)


def _parsed(text: str, path: Path) -> Notebook:
    """Parse a runbook's text, printing what it warns about as `file:line: warning: …`."""
    nb = parse(text)
    for line in format_diagnostics(nb, path):
        _err(line)
    return nb


def _load(path: Path) -> Notebook:
    """Read and parse a runbook (a piece at a time), printing what it warns about."""
    nb = load(path)
    for line in format_diagnostics(nb, path):
        _err(line)
    return nb


@click.group(
    name="cairn",
    help="Runbooks that learn: run the cells of Markdown runbooks (Runme-compatible).",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="cairn", prog_name="cairn", message="%(prog)s %(version)s")
@common_options
def app() -> None:
    pass


@app.group("notebook")
def notebook_app() -> None:
    """Convert runbooks: stable JSON, Jupyter .ipynb."""


@app.command("list")
@click.argument("file", type=_PATH, default=DEFAULT_FILE)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cells(file: Path, as_json: bool) -> None:
    """List the runbook's code cells: name, first command, description (the `description`
    attribute, else the paragraph before the cell, as `runme list`), interactive, and
    whether it runs (Runme shows mermaid diagrams and `transform` false cells as markup).
    Names that several cells share are flagged: `cairn run` refuses them."""
    nb = _load(file)
    duplicates = duplicate_names(nb)
    for name, cells in duplicates.items():
        _err(f"{file}:{cells[0].line}: warning: {duplicate_message(name, cells)}")
    code = nb.code_cells()
    if as_json:
        # Row by row: a runbook of 100 000 cells needs no list of rows, nor one string.
        out = sys.stdout
        out.write("[")
        for i, c in enumerate(code):
            row = {
                "name": c.name,
                "first_command": c.first_command,
                "description": c.description,
                "interactive": c.interactive,
                "runnable": c.runnable,
                "duplicate": c.name in duplicates,
                "language": c.language,
                "line": c.line,
                "id": c.attributes.get("id"),
                "tags": c.tags,
            }
            text = json.dumps(row, ensure_ascii=False, indent=2).replace("\n", "\n  ")
            out.write(("\n  " if i == 0 else ",\n  ") + text)
        out.write("\n]\n" if code else "]\n")
        return
    if not code:
        _err(f"{file}: no code cells")
        return
    from ._table import render_table

    rows = [
        (
            c.name + (" (duplicate)" if c.name in duplicates else ""),
            c.first_command,
            c.description,
            "yes" if c.interactive else "no",
            "yes" if c.runnable else "no (markup)",
        )
        for c in code
    ]
    header = ("Name", "First command", "Description", "Interactive", "Runs")
    width = shutil.get_terminal_size().columns
    sys.stdout.writelines(line + "\n" for line in render_table(header, rows, width))


def _execute_live(
    session: Session, cell: Cell, spec: CellSpec, stop: StopSignals | None = None
) -> CellResult:
    """Run a cell with its output streamed to our stdout/stderr, as it arrives; a stop
    signal cancels it."""
    out, err = sys.stdout.buffer, sys.stderr.buffer
    unwritable: set[str] = set()

    def on_output(stream: str, data: memoryview) -> None:
        if stream in unwritable:
            return
        target = err if stream == "stderr" else out
        try:
            target.write(data)
            target.flush()
        except BrokenPipeError:
            raise  # `cairn run x | head`: the reader is gone, stop like a pipeline would
        except OSError as exc:
            # A hung-up terminal (EIO) or a full disk: the cell goes on, and its output is
            # still captured for the record; only the echo stops.
            unwritable.add(stream)
            _err(f"cairn: cannot echo the cell's {stream}: {exc.strerror}; still capturing it")

    tty = spec.interactive and _tty.stdin_is_tty()
    stdin_fd = None
    if spec.interactive and sys.stdin is not None:
        try:
            stdin_fd = sys.stdin.fileno()
            os.fstat(stdin_fd)
        except (ValueError, OSError):
            stdin_fd = None  # stdin closed: the cell gets no input, like a closed terminal
    winsize = _tty.terminal_size()
    # No usable stdin (closed, or not readable): the cell reads end-of-file, as from /dev/null.
    stdin_data = b"" if spec.interactive and stdin_fd is None else None
    execution, program, state = session.prepare(
        spec, on_output=on_output, stdin_fd=stdin_fd, stdin_data=stdin_data, winsize=winsize
    )
    if stop is not None:
        stop.watch(execution)
    try:
        execution.start()
        if tty:
            with _tty.raw_terminal(on_resize=execution.resize):
                return session.finish(spec, program, execution, state)
        return session.finish(spec, program, execution, state)
    finally:
        if stop is not None:
            stop.watch(None)


@app.command("run")
@click.argument("names", nargs=-1)
@file_option
@click.option("--all", "all_cells", is_flag=True, help="Run every code cell in order.")
@click.option("--tag", "-t", multiple=True, help="Run the cells with this tag (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print what would run, run nothing.")
@click.option(
    "--write-outputs",
    is_flag=True,
    help="Write <name>-<session>.md with outputs next to the runbook.",
)
@click.option(
    "--timeout",
    type=Duration(),
    help="Per-cell timeout (30, 30s, 2m; at most 168h); a cell's own attribute wins.",
)
@click.option(
    "--interactive/--no-interactive",
    "-i/-I",
    default=None,
    help="Force PTY or pipe mode for every cell.",
)
@click.option("--keep-going", is_flag=True, help="Run the remaining cells after a failure.")
@click.option(
    "--output-limit",
    type=Finite(0, 1024, min_open=True),
    default=1.0,
    show_default=True,
    help="MiB kept from each end of a cell's output (more than 0, at most 1024).",
)
@common_options
def run(
    names: tuple[str, ...],
    file: Path,
    all_cells: bool,
    tag: tuple[str, ...],
    dry_run: bool,
    write_outputs: bool,
    timeout: float | None,
    interactive: bool | None,
    keep_going: bool,
    output_limit: float,
) -> int:
    """Run cells of a runbook in one session (env and cwd carry over).

    SIGTERM and SIGHUP stop it as Ctrl-C does: the running cell's process group is
    cancelled and recorded as such, the learning log is flushed, the session's files
    are removed, and cairn exits with 143 or 129 (130 for Ctrl-C). A second signal kills
    the cell at once.
    """
    if not names and not all_cells and not tag:
        raise KernelError("name the cells to run, or use --all or --tag (see `cairn list`)")
    nb = _load(file)
    cells = select_cells(
        nb, list(names or []), all_cells=all_cells, tags=list(tag or []), path=str(file)
    )
    options = RunOptions(timeout=timeout, interactive=interactive)
    if dry_run:
        with session_for(nb, file) as session:
            for cell in cells:
                spec = cell_spec(cell, options)
                program = session.resolve(spec)
                mode = "interactive" if spec.interactive else "non-interactive"
                print(f"# {cell.name} ({program.display}, {mode}) — {file}:{cell.line}")
                print(cell.source, end="" if cell.source.endswith("\n") else "\n")
        return 0
    limit = int(output_limit * (1 << 20))
    session_id = new_ulid()
    records = []
    exit_code = 0
    failures = 0
    original = read_text(file) if write_outputs else ""
    from ..learnlog import SessionEvents  # not for other commands: start-up time

    events = SessionEvents(
        session_id=session_id,
        path=file,
        nb=nb,
        client="cli",
        queued=True,
        enabled=settings().open_learning_log(),
    )
    started = time.monotonic()
    with StopSignals() as stop:
        env = settings().child_env()
        with session_for(nb, file, env=env, head_limit=limit, tail_limit=limit) as session:

            def execute(session: Session, cell: Cell, spec: CellSpec) -> CellResult:
                return events.run_cell(
                    session, cell, spec, lambda: _execute_live(session, cell, spec, stop)
                )

            # Checks every cell's attributes before the session is recorded as started.
            plan = run_cells(
                nb, cells, session, options=options, execute=execute, stop_on_failure=not keep_going
            )
            events.started(session.cwd)
            try:
                for cell, result in plan:
                    records.append(session_record(nb, cell, result))
                    failures += 0 if result.ok else 1
                    exit_code = exit_code or _report(cell, result, file, output_limit)
                    if stop.stopped:
                        break
            finally:  # a complete session in the log, whatever ended it
                seconds = time.monotonic() - started
                events.ended(cells_run=len(records), failures=failures, seconds=seconds)
        if write_outputs:
            target = write_session(file, original, records, session_id, datetime.now(UTC))
            _err(f"cairn: session outputs written to {target}")
        if stop.exit_code is not None:
            _err(f"cairn: stopped by {stop.name}")
            return stop.exit_code
    return exit_code


def _report(cell: Cell, result: CellResult, file: Path, output_limit: float) -> int:
    """Say how a cell that did not succeed ended, and what output was dropped; its code."""
    proc = result.process
    if not result.ok:
        reason = "timed out" if proc.timed_out else "was cancelled" if proc.cancelled else "failed"
        _err(
            f"cairn: cell {cell.name!r} {reason} with exit code {proc.exit_code}"
            f" ({file}:{cell.line})"
        )
    dropped = proc.stdout.dropped + proc.stderr.dropped
    if dropped:
        _err(
            f"cairn: cell {cell.name!r}: kept the first and last {output_limit:g} MiB,"
            f" dropped {dropped} bytes"
        )
    return 0 if result.ok else proc.exit_code


@app.command("print")
@click.argument("name")
@file_option
def print_cell(name: str, file: Path) -> None:
    """Print a cell's source."""
    cell = find_cell(_load(file), name, str(file))
    sys.stdout.write(
        cell.source if cell.source.endswith("\n") or not cell.source else cell.source + "\n"
    )


@app.command("fmt")
@click.argument("file", type=_PATH, default=DEFAULT_FILE)
@click.option("--check", is_flag=True, help="Exit 1 if formatting would change the file.")
@click.option(
    "--write",
    "-w",
    is_flag=True,
    help="Rewrite the file atomically (a symlink's target; the mode is kept).",
)
@click.option("--force", is_flag=True, help="With --write: replace a read-only file too.")
@click.option(
    "--identity",
    type=click.Choice(IDENTITY_MODES),
    default="none",
    show_default=True,
    help="Ids to write.",
)
def fmt(file: Path, check: bool, write: bool, force: bool, identity: str) -> int:
    """Format a runbook: add ids per the identity mode; everything else is kept byte for byte.

    --write replaces the file through a temp file and a rename, so a crash or a full disk
    never leaves half a runbook. A symlink is followed (the target is rewritten, the link
    kept), the file's mode is kept, and a read-only file is refused unless --force. A hard
    link is broken: FILE gets the new content and the file's other names keep the old.
    """
    if check and write:
        raise NotebookError("use either --check or --write")
    text = read_text(file)
    nb = _parsed(text, file)
    formatted = serialize(apply_identity(nb, identity))
    if check:
        if formatted != text:
            _err(f"{file}: would be reformatted")
            return 1
        return 0
    if write:
        if formatted != text:
            write_atomic(file, formatted, force=force)
            _err(f"{file}: formatted")
        return 0
    sys.stdout.write(formatted)
    return 0


@notebook_app.command("to-json")
@click.argument("file", type=_PATH, default=DEFAULT_FILE)
def notebook_to_json(file: Path) -> None:
    """Print the runbook as stable JSON: cells with kind, language, source, attributes,
    id, name and outputs."""
    print(json.dumps(to_json(_load(file)), ensure_ascii=False, indent=2))


@notebook_app.command("to-ipynb")
@click.argument("file", type=_PATH, default=DEFAULT_FILE)
@click.option("--output", "-o", type=_PATH, help="Write here instead of stdout.")
@click.option("--force", is_flag=True, help="Replace a read-only --output file too.")
def notebook_to_ipynb(file: Path, output: Path | None, force: bool) -> None:
    """Export a runbook as a Jupyter notebook."""
    _emit(to_ipynb(_load(file)) + "\n", output, force=force)


@notebook_app.command("from-ipynb")
@click.argument("file", type=_PATH)
@click.option("--output", "-o", type=_PATH, help="Write here instead of stdout.")
@click.option("--force", is_flag=True, help="Replace a read-only --output file too.")
def notebook_from_ipynb(file: Path, output: Path | None, force: bool) -> None:
    """Import a Jupyter notebook as a Markdown runbook."""
    _emit(serialize(from_ipynb(read_text(file))), output, force=force)


# Command groups in their own modules register themselves on `app` when imported.
from . import (  # noqa: E402,F401
    _ask,
    _bot,
    _copilot,
    _debug,
    _eval,
    _index,
    _learn,
    _learnlog,
    _llm,
    _serve,
)
