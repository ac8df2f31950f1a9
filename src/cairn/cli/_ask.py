"""`cairn ask`: the operations assistant (`cairn.agent`) over the runbooks, the docs
index, the output history and the learning log; the answer streams to stdout, tool calls
are shown on stderr, and running a cell asks first."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._app import app
from ._llm import debug_option, flush_recording, open_for_use
from ._settings import common_options, opened_store, settings, store_option

if TYPE_CHECKING:
    from ..agent import Tool
    from ..llm import ToolCall


def _runbooks(files: tuple[Path, ...]) -> list[Path]:
    if files:
        return [f.resolve() for f in files]
    return sorted(p.resolve() for p in Path.cwd().glob("*.md") if p.is_file())


async def _ask_user(call: ToolCall, tool: Tool) -> bool:
    if not sys.stdin.isatty():
        return False
    question = f"cairn: run {call.name} {call.arguments}?"
    return await asyncio.to_thread(click.confirm, question, default=False, err=True)


@app.command("ask")
@click.argument("question")
@click.option(
    "--file",
    "-f",
    "files",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="A runbook the assistant may open (default: the *.md files here).",
)
@click.option("--model", "-m", "spec", help="provider:model (default: cairn.toml, else local).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object at the end.")
@click.option("--yes", is_flag=True, help="Approve every cell the assistant wants to run.")
@click.option(
    "--no-speculation", is_flag=True, help="Run tools only when the model asks (no guesses)."
)
@click.option("--max-steps", type=click.IntRange(1, 50), default=8, show_default=True)
@store_option
@debug_option
@common_options
def ask(
    question: str,
    files: tuple[Path, ...],
    spec: str | None,
    as_json: bool,
    yes: bool,
    no_speculation: bool,
    max_steps: int,
    store_url: str | None,
    debug: bool | None,
) -> int:
    """Ask the operations assistant QUESTION; it looks things up with Cairn's tools
    (docs, runbook cells, their last outputs, the learning log) and may run a cell once
    you approve."""
    from ..agent import (
        AgentOptions,
        Answer,
        OpsContext,
        Predictors,
        RecorderTracer,
        Text,
        ToolFinished,
        ToolStarted,
        assistant,
        docs_search,
        opening,
    )
    from ..llm.recorder import Recorder, RecordingModel

    model = open_for_use(spec, "agent_turn", debug)
    recorder = model.recorder if isinstance(model, RecordingModel) else None
    if not isinstance(recorder, Recorder):  # only a real recorder holds runs
        recorder = None
    events: list[dict[str, Any]] = []
    with opened_store(store_url) as kv:
        ops = OpsContext(
            runbooks=_runbooks(files),
            search=docs_search(kv),
            kv=kv,
            log_dir=settings().resolved_config_dir() / "logs",
            learn=settings().open_learning_log(),
            env=settings().child_env(),
        )
        predictors = Predictors.configured(kv, settings().config_files().table("agent"))
        options = AgentOptions(max_steps=max_steps)
        if no_speculation:
            options = AgentOptions(
                max_steps=max_steps, eager=False, predict=False, speculate_results=False
            )

        async def approve(call: ToolCall, tool: Tool) -> bool:
            return True if yes else await _ask_user(call, tool)

        agent = assistant(
            model,
            ops,
            predictors=list(predictors),
            options=options,
            approve=approve,
            tracer=RecorderTracer(recorder) if recorder is not None else None,
        )

        async def turn() -> Answer | None:
            answer = None
            async for event in agent.run(opening(question, ops)):
                if isinstance(event, Text) and not as_json:
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                elif isinstance(event, ToolStarted):
                    events.append(
                        {"id": event.id, "tool": event.name, "arguments": event.arguments}
                    )
                    if not as_json:
                        print(f"cairn: → {event.name} {event.arguments}", file=sys.stderr)
                elif isinstance(event, ToolFinished):
                    for e in events:
                        if e["id"] == event.id:
                            e.update(result=event.result, error=event.error)
                elif isinstance(event, Answer):
                    answer = event
            return answer

        async def recorded() -> Answer | None:
            if recorder is None:
                return await turn()
            with recorder.run("agent_turn", title=question[:80]):
                return await turn()

        try:
            answer = asyncio.run(recorded())
        finally:
            flush_recording(model, announce=debug is True)
        predictors.remember(
            question, [(e["tool"], e["arguments"]) for e in events if not e.get("error")]
        )
    if answer is None:
        raise click.ClickException("the assistant gave no answer")
    if as_json:
        print(
            json.dumps(
                {"answer": answer.text, "tool_calls": events, "stopped": answer.stopped},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        sys.stdout.write("" if answer.text.endswith("\n") else "\n")
    if answer.stopped:
        print(f"cairn: {answer.stopped}", file=sys.stderr)
        return 1
    return 0
