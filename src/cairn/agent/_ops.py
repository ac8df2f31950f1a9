"""The operations assistant's tools over Cairn's own data, and the assistant itself
(`assistant()`, what `cairn ask` and `POST /v1/ask` both run):

- `search_docs(query, k)`: the indexed docs and runbooks by meaning (read);
- `list_cells(file)`: a runbook's cells (read);
- `last_output(file, cell)`: what a cell printed when it last ran, from the copilot's
  output history (read);
- `recent_events(n)`: the latest learning-log events (read);
- `run_cell(file, cell)`: run one cell non-interactively, recorded in the learning log
  like `cairn run` (write: approval required, and it waits at its barrier).

A tool may only open the runbooks it was given (`OpsContext.runbooks`); another path is
a tool error, never a read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..llm import Message, Model
from ._barrier import ToolContext
from ._errors import ToolError
from ._loop import Agent, AgentOptions, Approve, Tracer
from ._predict import Predictor
from ._tools import Tool

SYSTEM = (
    "You are Cairn, an operations assistant. Answer the user's question about their"
    " systems and runbooks. Use the tools to look things up before answering; run a cell"
    " only when the user asks for it. Answer briefly, and say which runbook cells or docs"
    " your answer comes from."
)
OUTPUT_CHARS = 4_000  # of a cell's output, in a tool result
Search = Callable[[str, int], list[dict[str, Any]]]


@dataclass
class OpsContext:
    """What the tools may see: runbooks by path, the docs search (None: no index), the
    store with the output history, the learning log's directory."""

    runbooks: Sequence[Path] = ()
    search: Search | None = None
    kv: Any = None
    log_dir: Path | None = None
    learn: bool = True
    env: dict[str, str] | None = None
    ran: list[str] = field(default_factory=list)

    def runbook(self, name: str) -> Path:
        wanted = Path(name)
        for path in self.runbooks:
            if wanted == path or wanted.name == path.name or wanted.resolve() == path.resolve():
                return path
        known = ", ".join(p.name for p in self.runbooks) or "none (pass --file)"
        raise ToolError(f"{name!r} is not a runbook you may open; the runbooks are: {known}")


def _schema(**props: Any) -> dict[str, Any]:
    required = [k for k, v in props.items() if "default" not in v]
    return {"type": "object", "properties": props, "required": required}


def ops_tools(ops: OpsContext) -> list[Tool]:
    async def search_docs(args: dict[str, Any], ctx: ToolContext) -> str:
        if ops.search is None:
            return "the docs index is empty (add docs with `cairn index add`)"
        rows = await asyncio.to_thread(ops.search, args["query"], args["k"])
        if not rows:
            return "no matches"
        return "\n".join(f"{r['score']:.3f} {r['id']} — {r['title']}: {r['snippet']}" for r in rows)

    async def list_cells(args: dict[str, Any], ctx: ToolContext) -> str:
        from ..notebook import load

        path = ops.runbook(args["file"])
        nb = await asyncio.to_thread(load, path)
        lines = []
        for i, cell in enumerate(nb.code_cells()):
            first = next((line for line in cell.source.splitlines() if line.strip()), "")
            lines.append(f"{i}. {cell.name or '(unnamed)'} [{cell.language or 'sh'}] {first}")
        return "\n".join(lines) or "the runbook has no code cells"

    async def last_output(args: dict[str, Any], ctx: ToolContext) -> str:
        from ..copilot import executions_for

        path = ops.runbook(args["file"])
        if ops.kv is None or ops.log_dir is None:
            return "no output history here"
        runs = await asyncio.to_thread(executions_for, ops.kv, ops.log_dir, path)
        for run in runs:
            if args["cell"] in (run.get("known_name"), run.get("known_id")):
                out = (run.get("stdout") or "") + (run.get("stderr") or "")
                return f"exit {run.get('exit_code')} at {run.get('time')}:\n{out[-OUTPUT_CHARS:]}"
        return f"cell {args['cell']!r} of {path.name} has not run yet"

    async def recent_events(args: dict[str, Any], ctx: ToolContext) -> str:
        from collections import deque

        from ..learnlog import read_events

        log_dir = ops.log_dir
        if log_dir is None or not log_dir.is_dir():
            return "the learning log is empty"

        def last() -> list[dict[str, Any]]:
            return list(deque((e for _, e in read_events(log_dir)), maxlen=args["n"]))

        events = await asyncio.to_thread(last)
        return "\n".join(_summary(e) for e in events) or "the learning log is empty"

    async def run_cell(args: dict[str, Any], ctx: ToolContext) -> str:
        path = ops.runbook(args["file"])
        await ctx.barrier.wait()  # nothing runs before the model asked and it was approved
        code, output = await asyncio.to_thread(_run_one, ops, path, args["cell"])
        ops.ran.append(f"{path.name}:{args['cell']}")
        return f"exit {code}:\n{output[-OUTPUT_CHARS:]}"

    file = {"type": "string", "description": "the runbook's file name"}
    cell = {"type": "string", "description": "the cell's name"}
    return [
        Tool(
            "search_docs",
            "Search the indexed docs and runbooks by meaning.",
            search_docs,
            _schema(query={"type": "string"}, k={"type": "integer", "default": 5}),
            scope="index",
        ),
        Tool("list_cells", "List a runbook's code cells.", list_cells, _schema(file=file)),
        Tool(
            "last_output",
            "What a runbook cell printed when it last ran.",
            last_output,
            _schema(file=file, cell=cell),
            scope="runs",
        ),
        Tool(
            "recent_events",
            "The latest learning-log events (cells run, sessions).",
            recent_events,
            _schema(n={"type": "integer", "default": 20, "minimum": 1, "maximum": 200}),
            scope="runs",
        ),
        Tool(
            "run_cell",
            "Run one runbook cell (needs the user's approval).",
            run_cell,
            _schema(file=file, cell=cell),
            effect="write",
            timeout=600.0,
            scope="runs",
        ),
    ]


def docs_search(kv: Any, kind: str | None = None, index_name: str = "docs") -> Search | None:
    """The docs search over the store's index with the embedder that filled it (None
    when the index is empty: no model is loaded for nothing)."""
    from ..index import VectorIndex
    from ..index import search_docs as search
    from ..llm import open_index_embedder

    if not len(VectorIndex(kv, index_name)):
        return None
    embedder, index = open_index_embedder(kv, index_name, kind)
    return lambda query, k: search(kv, embedder, index, query, k)


def _summary(event: dict[str, Any]) -> str:
    kind = str(event.get("type"))
    name = event.get("known_name") or event.get("known_id") or ""
    if kind == "cell.executed":
        return f"{event.get('time')} {kind} {name} exit={event.get('exit_code')}"
    return f"{event.get('time')} {kind} {name or event.get('notebook_path') or ''}".rstrip()


def _run_one(ops: OpsContext, path: Path, name: str) -> tuple[int, str]:
    """Run one cell non-interactively, recorded in the learning log as `cairn run` does."""
    from ..kernel import RunOptions, cell_spec, session_for
    from ..learnlog import SessionEvents
    from ..notebook import NotebookError, find_cell, load, new_ulid

    nb = load(path)
    try:
        cell = find_cell(nb, name, str(path))
    except NotebookError as exc:  # its message says which cells exist
        raise ToolError(str(exc)) from None
    spec = cell_spec(cell, RunOptions(interactive=False))
    events = SessionEvents(
        session_id=new_ulid(), path=path, nb=nb, client="agent", enabled=ops.learn
    )
    with session_for(nb, path, env=ops.env) as session:
        events.started(session.cwd)
        result = events.run_cell(session, cell, spec, lambda: session.run(spec))
        events.ended(cells_run=1, failures=0 if result.ok else 1, seconds=result.process.duration)
    proc = result.process
    return proc.exit_code, proc.stdout.text + proc.stderr.text


def assistant(
    model: Model,
    ops: OpsContext,
    *,
    predictors: Sequence[Predictor] = (),
    options: AgentOptions | None = None,
    approve: Approve | None = None,
    tracer: Tracer | None = None,
) -> Agent:
    """The operations assistant over `ops` (what `cairn ask` and `/v1/ask` run)."""
    return Agent(
        model,
        ops_tools(ops),
        predictors=predictors,
        options=options,
        approve=approve,
        tracer=tracer,
    )


def opening(question: str, ops: OpsContext) -> list[Message]:
    """The turn's messages: the system prompt (naming the runbooks) and the question."""
    names = ", ".join(p.name for p in ops.runbooks)
    system = SYSTEM + (f" The runbooks you may open: {names}." if names else "")
    return [Message("system", system), Message("user", question)]
